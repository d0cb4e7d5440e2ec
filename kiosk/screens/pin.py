"""The staff PIN of the maintenance screen: PBKDF2-SHA256 hashes and a rate limit on failures.

Format of ``ui.maintenance_pin_hash``: ``pbkdf2_sha256$<iterations>$<salt_hex>$<hash_hex>``.
Verification compares in constant time; after MAX_FAILURES wrong PINs the screen locks for
LOCK_S seconds (a 4-6 digit PIN must not be guessable by trying at the terminal).
"""
from __future__ import annotations

import time

# The hash format and its check live in kiosk.pin (shared with `kiosk pin-hash`); re-exported here.
from kiosk.pin import ITERATIONS, hash_pin, verify_pin  # noqa: F401

MAX_FAILURES = 3
LOCK_S = 60.0


class PinGate:
    """Counts failures and locks after MAX_FAILURES for LOCK_S (monotonic clock injectable)."""

    def __init__(self, stored_hash: str, monotonic=time.monotonic) -> None:
        self.stored_hash = stored_hash
        self.monotonic = monotonic
        self.failures = 0
        self.locked_until = 0.0

    def locked_s(self) -> float:
        """Seconds left of the lock (0 when open)."""
        return max(0.0, self.locked_until - self.monotonic())

    def check(self, pin: str) -> bool:
        """Verify ``pin`` unless locked; a failure counts towards the lock."""
        if self.locked_s() > 0 or not self.stored_hash:
            return False
        if verify_pin(pin, self.stored_hash):
            self.failures = 0
            return True
        self.failures += 1
        if self.failures >= MAX_FAILURES:
            self.failures = 0
            self.locked_until = self.monotonic() + LOCK_S
        return False
