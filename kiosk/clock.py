"""Clocks: the real one, and a controllable one for tests (no sleeps in tests)."""
from __future__ import annotations

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo


class Clock:
    """Monotonic seconds for timeouts and the hall's local date/time for display and rules."""

    def __init__(self, tz: str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz)

    def monotonic(self) -> float:
        """Seconds for measuring intervals."""
        return time.monotonic()

    def now(self) -> dt.datetime:
        """Aware local date-time in the hall's time zone."""
        return dt.datetime.now(self.tz)

    def today(self) -> dt.date:
        """The hall's local date."""
        return self.now().date()


class FakeClock(Clock):
    """A clock that only moves when told to (``advance``)."""

    def __init__(self, start: dt.datetime | None = None, tz: str = "Asia/Shanghai") -> None:
        super().__init__(tz)
        self._lock = threading.Lock()
        self._mono = 1000.0
        self._now = start or dt.datetime(2026, 11, 24, 9, 30, tzinfo=self.tz)

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        with self._lock:
            self._mono += seconds
            self._now += dt.timedelta(seconds=seconds)


class OffsetClock(Clock):
    """The real clock plus an offset that only grows: the demo "runs fast" through an inactivity
    timeout (``advance``) without waiting, while everything else keeps real time."""

    def __init__(self, tz: str = "Asia/Shanghai") -> None:
        super().__init__(tz)
        self._offset_s = 0.0

    def monotonic(self) -> float:
        return super().monotonic() + self._offset_s

    def now(self) -> dt.datetime:
        return super().now() + dt.timedelta(seconds=self._offset_s)

    def advance(self, seconds: float) -> None:
        """Jump ahead ``seconds``."""
        self._offset_s += max(0.0, seconds)
