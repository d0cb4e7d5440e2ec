"""The staff PIN of the maintenance screen: PBKDF2-SHA256 hashes and a rate limit on failures.

Format of ``ui.maintenance_pin_hash``: ``pbkdf2_sha256$<iterations>$<salt_hex>$<hash_hex>``.
Verification compares in constant time; after MAX_FAILURES wrong PINs the screen locks for
LOCK_S seconds (a 4-6 digit PIN must not be guessable by trying at the terminal).
"""
from __future__ import annotations

import time

# The hash format and its check live in kiosk.pin (shared with `kiosk pin-hash`); re-exported here.
from kiosk.pin import ITERATIONS as ITERATIONS
from kiosk.pin import hash_pin as hash_pin
from kiosk.pin import verify_pin as verify_pin
from kiosk.trust.ratelimit import PinLimiter

#: The maintenance screen is stricter than the limiter's defaults: a kiosk stands in a public hall.
MAX_FAILURES = 3
LOCK_S = 60.0


class PinGate:
    """Checks the staff PIN through the shared limiter (kiosk.trust.ratelimit): locked for LOCK_S
    after MAX_FAILURES wrong PINs, each further lockout twice as long (monotonic clock injectable)."""

    def __init__(self, stored_hash: str, monotonic=time.monotonic) -> None:
        self.stored_hash = stored_hash
        self.monotonic = monotonic
        self.limiter = PinLimiter(failures_before_lock=MAX_FAILURES, first_lock_s=LOCK_S)

    def locked_s(self) -> float:
        """Seconds left of the lock (0 when open)."""
        return self.limiter.locked_for_s(self.monotonic())

    def check(self, pin: str) -> bool:
        """Verify ``pin`` unless locked; a failure counts towards the lock."""
        now = self.monotonic()
        if not self.stored_hash or not self.limiter.allowed(now):
            return False
        if verify_pin(pin, self.stored_hash):
            self.limiter.success()
            return True
        self.limiter.failure(now)
        return False
