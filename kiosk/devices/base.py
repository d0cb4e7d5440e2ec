"""What every device driver shares: the state enum, typed device errors, the reconnect policy.

A driver owns one role (ID-card reader, smart-card reader, scanner, camera, printer). It reports
its state through :class:`DeviceState`, raises :class:`DeviceError` subclasses that say what the
citizen or the staff should do, and publishes events on the bus (``<role>.<event>``). The error
classes and the reconnect policy (capped exponential backoff with full jitter, and the supervisor
every reconnect loop reports to) live on the ground floor (:mod:`hall_common.errors`,
:mod:`hall_common.backoff`, :mod:`hall_common.reconnect`) and are re-exported here for the drivers;
a driver logs once when its device goes and once when it comes back (:meth:`Device._set_state`).
The thread lifecycle every driver shares (start, stop, the reconnect loop) is the driver skeleton,
:class:`kiosk.devices.skeleton.ThreadedDevice`.
"""
from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hall_common.backoff import Backoff
from hall_common.errors import DeviceError, DeviceTimeout, DeviceUnavailable
from hall_common.reconnect import ReconnectSupervisor
from kiosk.events import EventBus

__all__ = ["Backoff", "DeviceError", "DeviceState", "DeviceTimeout", "DeviceUnavailable", "Device", "Health",
           "ReconnectSupervisor"]


class DeviceState(str, enum.Enum):
    """One state enum for every device."""

    CLOSED = "closed"
    CONNECTING = "connecting"
    READY = "ready"
    BUSY = "busy"
    ERROR = "error"


@dataclass
class Health:
    """A device's health for the UI, `kiosk doctor` and telemetry."""

    role: str
    driver: str
    state: DeviceState
    error: dict[str, Any] | None = None
    since: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly health (no citizen data ever goes in here)."""
        return {"role": self.role, "driver": self.driver, "state": self.state.value,
                "error": self.error, "since": round(self.since, 3), "detail": self.detail}


class Device:
    """Base driver: state machine, health, events. Drivers build on :class:`ThreadedDevice`
    (kiosk.devices.skeleton), which implements ``start`` and ``stop``."""

    role = "device"
    driver_name = "device"
    #: Driver-specific option schema (``kiosk.config.Field`` by key); validated by the registry.
    OPTIONS: Mapping[str, Any] = {}

    def __init__(self, url: str, options: Mapping[str, Any] | None, bus: EventBus) -> None:
        self.url = url
        # The declared defaults, then what the config gave (the registry validated it).
        self.options = {key: f.default for key, f in self.OPTIONS.items()} | dict(options or {})
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
