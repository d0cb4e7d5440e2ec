"""The driver skeleton: one thread keeps one device's link, under the shared reconnect supervisor.

Every driver is a :class:`ThreadedDevice`. The skeleton owns the lifecycle (``start`` and
``stop``, both idempotent; a restart after a stop; no thread left behind) and the link loop;
a driver fills in what is its own:

- :meth:`~ThreadedDevice._connect` opens the device and returns the link (a port, a context, a
  capture generation), or raises a typed :class:`DeviceError`;
- :meth:`~ThreadedDevice._serve` uses the link until ``stop`` (return) or until the link is lost
  (raise the typed error); returning :data:`FINISHED` ends the thread for good (a video file
  played to its end);
- :meth:`~ThreadedDevice._disconnect` closes the link; and hooks for what differs: the state once
  connected, the report of a failure or a loss, waking a blocking call on stop, cleaning up after.

The loop: connect; on failure, ERROR and one next attempt as the
:class:`hall_common.reconnect.ReconnectSupervisor` schedules it (capped backoff, full jitter); on
success READY and serve; on a loss, ERROR and the supervisor's first delay again. A bug in a
driver (an exception that is not a :class:`DeviceError`) becomes a typed error and the loop goes
on: the thread never dies silently. ``CONNECT_IN_START`` makes the first attempt in ``start``
itself, for drivers whose callers need the answer at once (the printer: a ticket may be printed
the next instant; the virtual drivers: in memory, nothing to wait for).
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from hall_common.backoff import Backoff
from hall_common.reconnect import ReconnectSupervisor
from kiosk.devices.base import Device, DeviceError, DeviceState
from kiosk.events import EventBus

#: What :meth:`ThreadedDevice._serve` returns when the device is done for good (no reconnect).
FINISHED = "finished"


class ThreadedDevice(Device):
    """A driver whose link one thread keeps: the lifecycle and the reconnect loop."""

    #: First reconnect delay bound and cap (s); each driver says why its own.
    RECONNECT_BASE_S = 0.2
    RECONNECT_CAP_S = 10.0
    #: How long ``stop`` waits for the thread (s); every blocking call in ``_serve`` must wake
    #: at least this often, or be woken by :meth:`_interrupt`.
    JOIN_TIMEOUT_S = 5.0
    #: Make the first connect attempt in ``start`` (see the module's docstring).
    CONNECT_IN_START = False

    def __init__(self, url: str, options: Mapping[str, Any] | None, bus: EventBus, *,
                 backoff: Backoff | None = None) -> None:
        super().__init__(url, options, bus)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()  # start and stop from two threads: one at a time
        self._reconnect = ReconnectSupervisor(self.role, backoff or self._backoff())

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the link thread (returns at once; a missing device only means ERROR and retries)."""
        with self._lifecycle:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._reconnect.reset()
            self._set_state(DeviceState.CONNECTING)
            link = self._attempt(wait=False) if self.CONNECT_IN_START else None
            self._thread = threading.Thread(target=self._main, args=(link,), daemon=True,
                                            name=f"{self.driver_name}:{self.url or '-'}")
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread, close the device (state CLOSED)."""
        with self._lifecycle:
            self._stop.set()
            self._interrupt()
            thread, self._thread = self._thread, None
            if thread is not None and thread is not threading.current_thread():
                thread.join(self.JOIN_TIMEOUT_S)
                if thread.is_alive():  # a driver bug: a call in _serve that neither wakes nor is woken
                    self.log.error("driver thread did not stop", extra={"device": self.role,
                                                                        "thread_name": thread.name})
            self._stopped()
            self._set_state(DeviceState.CLOSED)

    # -- what a driver fills in ------------------------------------------------------------------
    def _backoff(self) -> Backoff:
        """The reconnect delays (``self.options`` is already set)."""
        return Backoff(base_s=self.RECONNECT_BASE_S, cap_s=self.RECONNECT_CAP_S)

    def _connect(self) -> Any:
        """Open the device; return the link (anything but None) or raise a typed DeviceError."""
        raise NotImplementedError

    def _serve(self, link: Any) -> str | None:
        """Use the link until stop (return) or its loss (raise the typed error); :data:`FINISHED`
        ends the thread."""
        raise NotImplementedError

    def _disconnect(self, link: Any) -> None:
        """Close the link (after a loss, or when the thread ends)."""

    def _connected(self, link: Any) -> None:
        """The link is up: tell the supervisor, READY. A driver that knows better (a camera is up
        at its first frame, a PC/SC context when its reader is there) does both itself."""
        self._reconnect.connected()
        self._set_state(DeviceState.READY)

    def _failed(self, error: DeviceError) -> None:
        """An attempt to connect failed (state ERROR; a driver may also publish ``<role>.error``)."""
        self._set_state(DeviceState.ERROR, error)

    def _lost(self, error: DeviceError) -> None:
        """The link was lost while serving (after :meth:`_disconnect`)."""
        self._set_state(DeviceState.ERROR, error)

    def _interrupt(self) -> None:
        """``stop`` was called: wake a blocking call the stop event cannot reach (PC/SC's wait)."""

    def _stopped(self) -> None:
        """After the thread ended (or was never started): release what is left."""

    # -- the loop --------------------------------------------------------------------------------
    def _attempt(self, *, wait: bool = True) -> Any:
        """One connect attempt: the link, or None after a failure (then, with ``wait``, waits as
        the supervisor says)."""
        try:
            link = self._connect()
        except DeviceError as e:
            self._failed(e)
            self._reconnect.failed(e)
            if wait:
                self._reconnect.wait(self._stop)
            return None
        self._connected(link)
        return link

    def _main(self, link: Any) -> None:
        if link is None and self.CONNECT_IN_START:
            self._reconnect.wait(self._stop)  # start() made the first attempt, and it failed
        while not self._stop.is_set():
            if link is None:
                link = self._attempt()
                continue
            try:
                outcome = self._serve(link)
            except Exception as e:
                error = e if isinstance(e, DeviceError) else self._internal(e)
                self._disconnect(link)
                link = None
                if self._stop.is_set():  # stop() cut a call short: not a lost device
                    break
                self._lost(error)
                self._reconnect.lost(error)
                self._reconnect.wait(self._stop)
                continue
            self._disconnect(link)
            link = None
            if outcome == FINISHED:
                return
        if link is not None:
            self._disconnect(link)

    def _internal(self, e: Exception) -> DeviceError:
        """A driver bug as a typed error (logged with its traceback once per kind)."""
        code = f"{self.role}.internal"
        if self._error is None or self._error.code != code:
            self.log.error("driver failed", exc_info=e, extra={"device": self.role})
        return DeviceError(f"internal error: {type(e).__name__}: {e}", code=code,
                           action="report a driver bug; the driver reconnects by itself")
