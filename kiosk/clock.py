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
    """The real clock shifted: it starts at ``start`` (if given) and can jump ahead (``advance``).

    The demo pins its day to a fixed hall-local time (so the tour never meets closing time or
    midnight) and "runs fast" through an inactivity timeout without waiting. Monotonic time moves
    only forward: it gets the jumps, not the initial shift.

    ``hold()`` stops monotonic time (the timers: session inactivity, the timeout screen's way
    home) until ``hold(False)``; only ``advance`` moves it meanwhile. Why: a scripted tour or the
    random explorer on a loaded machine must not see a session time out by itself between two
    steps (a 10 s countdown window lost to a slow frame); the hall's wall time keeps running.
    """

    def __init__(self, tz: str = "Asia/Shanghai", start: dt.datetime | None = None) -> None:
        super().__init__(tz)
        self._lock = threading.Lock()
        self._wall_offset_s = (start - super().now()).total_seconds() if start is not None else 0.0
        self._mono_offset_s = 0.0
        self._held_at: float | None = None   # the real monotonic time hold() stopped at

    def monotonic(self) -> float:
        with self._lock:
            base = self._held_at if self._held_at is not None else super().monotonic()
            return base + self._mono_offset_s

    def now(self) -> dt.datetime:
        return super().now() + dt.timedelta(seconds=self._wall_offset_s)

    def advance(self, seconds: float, *, wall: bool = True) -> None:
        """Jump ahead ``seconds`` (``wall=False``: the timers only, the hall's date and time stay)."""
        seconds = max(0.0, seconds)
        with self._lock:
            if wall:
                self._wall_offset_s += seconds
            self._mono_offset_s += seconds

    def hold(self, on: bool = True) -> None:
        """Stop monotonic time (``on``) or let it run again from where it stood (no jump)."""
        real = super().monotonic()
        with self._lock:
            if on and self._held_at is None:
                self._held_at = real
            elif not on and self._held_at is not None:
                self._mono_offset_s -= real - self._held_at
                self._held_at = None

    @property
    def held(self) -> bool:
        """Whether monotonic time is held."""
        return self._held_at is not None
