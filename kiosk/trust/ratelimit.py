"""Rate limit for the maintenance PIN: a pure limiter the UI calls (no clock of its own).

After :data:`FAILURES_BEFORE_LOCK` consecutive failures the PIN is locked for
:data:`FIRST_LOCK_S`; each further failure after a lockout doubles the lock, up to
:data:`MAX_LOCK_S`. A success resets everything. Times are passed in (``now_s``, monotonic
seconds), so the UI uses ``time.monotonic()`` and tests use plain numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Why 5: a staff member mistypes once or twice; five wrong PINs in a row is guessing.
FAILURES_BEFORE_LOCK = 5
#: Why 30 s doubling: a 6-digit PIN then takes years to guess; staff wait at most a minute or two.
FIRST_LOCK_S = 30.0
#: Why 1 h cap: a locked kiosk must come back within a shift without a technician.
MAX_LOCK_S = 3600.0


@dataclass
class PinLimiter:
    """Counts failures and says how long the PIN screen stays locked."""

    failures_before_lock: int = FAILURES_BEFORE_LOCK
    first_lock_s: float = FIRST_LOCK_S
    max_lock_s: float = MAX_LOCK_S
    failures: int = 0
    locks: int = 0
    locked_until_s: float = 0.0

    def locked_for_s(self, now_s: float) -> float:
        """Seconds left in the lockout (0 when a PIN may be tried)."""
        return max(0.0, self.locked_until_s - now_s)

    def allowed(self, now_s: float) -> bool:
        """True if a PIN may be checked now."""
        return self.locked_for_s(now_s) == 0.0

    def failure(self, now_s: float) -> float:
        """Record a wrong PIN; returns the lockout that starts now (0 if none)."""
        if not self.allowed(now_s):
            return self.locked_for_s(now_s)  # tries during a lockout are not even counted
        self.failures += 1
        if self.failures < self.failures_before_lock and self.locks == 0:
            return 0.0
        lock_s: float = min(self.max_lock_s, self.first_lock_s * 2 ** self.locks)
        self.locks += 1
        self.failures = 0
        self.locked_until_s = now_s + lock_s
        return lock_s

    def success(self) -> None:
        """A right PIN: forget the failures and lockouts."""
        self.failures = self.locks = 0
        self.locked_until_s = 0.0
