"""The reconnect supervisor every link of the terminal shares: the MQTT link and each device driver.

It owns one link's retry *policy*, not the link: the link's own thread makes the attempts and tells
the supervisor how each went (:meth:`ReconnectSupervisor.connected`, :meth:`~ReconnectSupervisor.failed`,
:meth:`~ReconnectSupervisor.lost`), then waits as told (:meth:`~ReconnectSupervisor.wait`). The
supervisor keeps the link's state (:class:`LinkState`) and schedules exactly one next attempt: a
second report of the same failure (paho reports a refused CONNACK, then the socket the broker
closed) neither counts twice nor pushes the attempt back. The delay is capped exponential backoff
with full jitter (:class:`hall_common.backoff.Backoff`); a refused identity (certificate, password)
waits the longest, since trying again sooner cannot help. With a logger it logs the first failure
of an outage at WARNING, the following ones at DEBUG, and the recovery once; without one it stays
silent (a driver's :meth:`Device._set_state` already logs loss and recovery once).

Modelled on aioesphomeapi's ``ReconnectLogic``, with threads instead of asyncio. The clock and the
sleep are injectable, so tests drive the policy without sleeping.
"""
from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable

from hall_common.backoff import Backoff

__all__ = ["LinkState", "ReconnectSupervisor"]


class LinkState(str, enum.Enum):
    """Where a supervised link is."""

    IDLE = "idle"              # not tried yet (or its owner restarted it)
    CONNECTING = "connecting"  # an attempt is due or running
    CONNECTED = "connected"
    WAITING = "waiting"        # the link failed or dropped; one next attempt is scheduled


def _wait_on(stop: threading.Event, seconds: float) -> bool:
    return stop.wait(seconds)


class ReconnectSupervisor:
    """The retry policy of one link: state, the one scheduled attempt, its delay, the log lines."""

    def __init__(self, name: str, backoff: Backoff | None = None, *, log: logging.Logger | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[threading.Event, float], bool] = _wait_on) -> None:
        """``name`` starts each log line (``mqtt link 10.0.0.5:8883``); ``sleep(stop, s)`` waits up to
        ``s`` seconds and returns True if ``stop`` was set (tests pass one that advances a fake clock)."""
        self.name = name
        self.backoff = backoff or Backoff()
        self._log = log
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._state = LinkState.IDLE
        self._failures = 0              # failed attempts since the link was last up
        self._due: float | None = None  # clock time of the scheduled attempt
        self.last_error = ""

    @property
    def state(self) -> LinkState:
        """The link's state."""
        return self._state

    @property
    def failures(self) -> int:
        """Failed attempts since the link was last up (0 while it is up)."""
        return self._failures

    def delay(self) -> float:
        """Seconds until the scheduled attempt (0 when none is scheduled or it is due)."""
        with self._lock:
            return 0.0 if self._due is None else max(0.0, self._due - self._clock())

    def reset(self) -> None:
        """The owner (re)starts its loop: nothing scheduled, the first delay again."""
        with self._lock:
            self._state, self._due, self._failures, self.last_error = LinkState.IDLE, None, 0, ""
            self.backoff.reset()

    def connected(self) -> None:
        """The attempt succeeded: back to the first delay; the recovery is logged once."""
        with self._lock:
            failures, self._failures = self._failures, 0
            self._state, self._due, self.last_error = LinkState.CONNECTED, None, ""
            self.backoff.reset()
        if failures and self._log is not None:
            self._log.info("%s: connected after %d failed attempt%s", self.name, failures,
                           "" if failures == 1 else "s")

    def lost(self, reason: object) -> float:
        """An established link dropped: the first reconnect is scheduled after the shortest delay.
        Not a failed attempt (the owner logs the loss once: the gateway's "offline", a driver's
        "device lost"); from a link that was not up, the same as :meth:`failed`."""
        with self._lock:
            if self._state == LinkState.CONNECTED:
                delay = self.backoff.next()
                self._state, self._due, self.last_error = LinkState.WAITING, self._clock() + delay, str(reason)
                return delay
        return self.failed(reason)

    def failed(self, error: object, *, auth: bool = False) -> float:
        """An attempt failed: schedule the next one and return its delay (s). ``auth``: the other end
        refused who we are; wait the longest. A report while the next attempt is already scheduled
        is the same failure seen twice: it changes nothing."""
        with self._lock:
            now = self._clock()
            if self._state == LinkState.WAITING and self._due is not None:
                return max(0.0, self._due - now)
            delay = self.backoff.longest() if auth else self.backoff.next()
            self._state, self._due, self.last_error = LinkState.WAITING, now + delay, str(error)
            self._failures += 1
            first = self._failures == 1
        if self._log is not None:
            # Why WARNING only once: a broker down for a night must not write 10,000 warnings.
            self._log.log(logging.WARNING if first else logging.DEBUG, "%s: %s; next attempt in %.1f s%s",
                          self.name, error, delay, " (identity refused: the longest wait)" if auth else
                          (" (further failures at DEBUG)" if first else ""))
        return delay

    def wait(self, stop: threading.Event) -> bool:
        """Wait for the scheduled attempt. True if ``stop`` was set (end the loop); else the attempt
        is due now (state CONNECTING)."""
        remaining = self.delay()
        if remaining > 0 and self._sleep(stop, remaining):
            return True
        if stop.is_set():
            return True
        with self._lock:
            if self._state == LinkState.WAITING:  # not if the owner saw the link come back meanwhile
                self._state, self._due = LinkState.CONNECTING, None
        return False

    def retry(self, stop: threading.Event, error: object, *, auth: bool = False) -> bool:
        """:meth:`failed` then :meth:`wait`: the drivers' one line after a failed open or a lost port."""
        self.failed(error, auth=auth)
        return self.wait(stop)
