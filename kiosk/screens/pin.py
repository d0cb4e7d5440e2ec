"""The staff PIN of the maintenance screen: PBKDF2-SHA256 hashes and a rate limit on failures.

Format of ``ui.maintenance_pin_hash``: ``pbkdf2_sha256$<iterations>$<salt_hex>$<hash_hex>``.
Verification compares in constant time; after MAX_FAILURES wrong PINs the screen locks for
LOCK_S seconds (a 4-6 digit PIN must not be guessable by trying at the terminal).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import time

#: Why 200,000: OWASP's current floor for PBKDF2-SHA256 is higher, but a kiosk CPU verifies a PIN
#: in ~0.1 s at this count, and the rate limit below does the rest against guessing at the screen.
ITERATIONS = 200_000
MAX_FAILURES = 3
LOCK_S = 60.0


def hash_pin(pin: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """A storable hash of ``pin`` for ui.maintenance_pin_hash."""
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches ``stored``; False for a wrong PIN or a malformed/empty hash."""
    try:
        algo, iters, salt_hex, hash_hex = stored.split("$")
        if algo != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt_hex), int(iters))
    except (ValueError, AttributeError):
        return False
    return hmac.compare_digest(digest.hex(), hash_hex.lower())


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
