"""Saying a repeated thing once per interval: the one owner of "log it in summary" for what a flood
would repeat (the central service's refusals, shed messages and events; the terminal's unreadable
messages naming no request). The counts stay with their owners; this only says when to speak.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class Throttle:
    """At most once per ``every_s`` per key; the calls in between are counted as skipped.

    The first call for a key is due at once. Thread-safe: the callers are network threads, a
    writer thread and the terminal's worker thread."""

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[Hashable, float] = {}
        self._skipped: dict[Hashable, int] = {}

    def check(self, key: Hashable = None) -> tuple[bool, int]:
        """(due, skipped): due at most once per ``every_s`` for ``key``; ``skipped``, when due, is
        how many calls for ``key`` were not due since the last due one (0 otherwise)."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.every_s:
                self._skipped[key] = self._skipped.get(key, 0) + 1
                return False, 0
            self._last[key] = now
            return True, self._skipped.pop(key, 0)

    def due(self, key: Hashable = None) -> bool:
        """True at most once per ``every_s`` for ``key``."""
        return self.check(key)[0]
