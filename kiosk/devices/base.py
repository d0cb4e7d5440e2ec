"""What every device driver shares: the state enum, typed device errors, the reconnect policy.

A driver owns one role (ID-card reader, smart-card reader, scanner, camera, printer). It reports
its state through :class:`DeviceState`, raises :class:`DeviceError` subclasses that say what the
citizen or the staff should do, and publishes events on the bus (``<role>.<event>``). The
reconnect policy (capped exponential backoff with full jitter) lives here and nowhere else; a
driver logs once when its device goes and once when it comes back (:meth:`Device._set_state`).
"""
from __future__ import annotations

import enum
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from kiosk.errors import KioskError
from kiosk.events import EventBus


class DeviceState(str, enum.Enum):
    """One state enum for every device."""

    CLOSED = "closed"
    CONNECTING = "connecting"
    READY = "ready"
    BUSY = "busy"
    ERROR = "error"


class DeviceError(KioskError):
    """A device fault: ``reason`` for staff, ``action`` for what to do, ``citizen_message`` for the screen."""

    code = "device"
    citizen_message = "设备暂时不可用，请联系工作人员。"


class DeviceUnavailable(DeviceError):
    """The device is missing, unplugged or not answering."""

    code = "device.unavailable"


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""

    code = "device.timeout"


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter (AWS architecture blog's "full jitter").

    Why full jitter: a hall's devices (and a city's terminals) that lose a link together must not
    retry in lockstep. ``next()`` returns a delay uniformly drawn in [0, min(cap, base * 2**n)].
    """

    base_s: float = 0.2
    cap_s: float = 10.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next(self) -> float:
        """The delay before the next attempt (s), and count the attempt."""
        ceiling = min(self.cap_s, self.base_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return self.rng.uniform(0, ceiling)

    def reset(self) -> None:
        """Back to the first delay (after a success)."""
        self.attempt = 0


@dataclass
class Health:
    """A device's health for the UI, `kiosk doctor` and telemetry."""

    role: str
    driver: str
    state: DeviceState
    error: dict | None = None
    since: float = 0.0
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-friendly health (no citizen data ever goes in here)."""
        return {"role": self.role, "driver": self.driver, "state": self.state.value,
                "error": self.error, "since": round(self.since, 3), "detail": self.detail}


class Device:
    """Base driver: state machine, health, events. Subclasses implement open/close and their role."""

    role = "device"
    driver_name = "device"
    #: Driver-specific option schema (``kiosk.config.Field`` by key); validated by the registry.
    OPTIONS: Mapping[str, Any] = {}

    def __init__(self, url: str, options: Mapping[str, Any], bus: EventBus) -> None:
        self.url = url
        self.options = dict(options)
        self.bus = bus
        self.log = logging.getLogger(f"kiosk.devices.{self.role}")
        self._state = DeviceState.CLOSED
        self._state_lock = threading.Lock()
        self._since = time.monotonic()
        self._error: DeviceError | None = None
        self._was_lost = False

    # -- lifecycle (subclasses override) -------------------------------------------------------
    def start(self) -> None:
        """Open the device and start its threads. Must not block for long and never raise on a
        missing device: it goes to ERROR and keeps retrying."""

    def stop(self) -> None:
        """Stop threads and close the device."""

    # -- state ----------------------------------------------------------------------------------
    @property
    def state(self) -> DeviceState:
        """The current state."""
        return self._state

    def health(self) -> Health:
        """Current health."""
        return Health(self.role, self.driver_name, self._state,
                      self._error.to_dict() if self._error else None, self._since)

    def _set_state(self, state: DeviceState, error: DeviceError | None = None) -> None:
        """Change state; log once on loss and once on recovery; publish ``<role>.state``."""
        with self._state_lock:
            if state == self._state and (error is None or self._error is not None):
                return
            old, self._state = self._state, state
            self._since = time.monotonic()
            if state == DeviceState.ERROR:
                self._error = error
                if not self._was_lost:
                    self._was_lost = True
                    self.log.warning("device lost", extra={"device": self.role, "url": self.url,
                                                           "error": str(error) if error else ""})
            elif state == DeviceState.READY:
                self._error = None
                if self._was_lost:
                    self._was_lost = False
                    self.log.warning("device recovered", extra={"device": self.role, "url": self.url})
        self.bus.publish(f"{self.role}.state", self.health(), source=self.role, old=old.value)
