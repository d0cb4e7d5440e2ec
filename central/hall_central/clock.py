"""The central service's clock: real time, a fast demo clock (--clock-speed N) or a settable test clock.

Hall dates and times are local to Asia/Shanghai (the contract's "YYYY-MM-DD" and "HH:MM");
timestamps on the wire are UTC ISO 8601.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    """Wall-clock time, optionally running ``speed`` times faster from the moment it was made."""

    def __init__(self, speed: float = 1.0, start: dt.datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = speed
        self._real0 = time.time()
        self._virt0 = (start or dt.datetime.now(dt.UTC)).timestamp()
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """Aware UTC now."""
        with self._lock:
            t = self._virt0 + (time.time() - self._real0) * self.speed
        return dt.datetime.fromtimestamp(t, dt.UTC)

    def local(self) -> dt.datetime:
        """Aware hall-local now (Asia/Shanghai)."""
        return self.now().astimezone(TZ)

    def today(self) -> dt.date:
        """The hall's local date."""
        return self.local().date()

    def set(self, when: dt.datetime) -> None:
        """Jump to ``when`` (aware; naive means hall-local) and keep running from there."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=TZ)
        with self._lock:
            self._real0 = time.time()
            self._virt0 = when.timestamp()


class FixedClock(Clock):
    """A clock that stands still until moved (tests): no sleeps, no timed assertions."""

    def now(self) -> dt.datetime:
        """The set instant."""
        with self._lock:
            return dt.datetime.fromtimestamp(self._virt0, dt.UTC)

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds``."""
        with self._lock:
            self._virt0 += seconds


def iso_utc(when: dt.datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``."""
    w = when.astimezone(dt.UTC)
    return w.strftime("%Y-%m-%dT%H:%M:%S.") + f"{w.microsecond // 1000:03d}Z"


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday (public holidays and make-up days are not modelled in the reference service)."""
    return day.weekday() < 5


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The date ``n`` working days after ``day``."""
    d = day
    while n > 0:
        d += dt.timedelta(days=1)
        if is_working_day(d):
            n -= 1
    return d


def subtract_working_days(day: dt.date, n: int) -> dt.date:
    """The date ``n`` working days before ``day`` (``day`` itself for 0)."""
    d = day
    while n > 0:
        d -= dt.timedelta(days=1)
        if is_working_day(d):
            n -= 1
    return d


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days from ``start`` (exclusive) to ``end`` (inclusive); negative when end is earlier."""
    if end == start:
        return 0
    sign, a, b = (1, start, end) if end > start else (-1, end, start)
    n, d = 0, a
    while d < b:
        d += dt.timedelta(days=1)
        if is_working_day(d):
            n += 1
    return sign * n
