"""Staff PIN hashing (PBKDF2-SHA256) for the maintenance screen; the config keeps only the hash.

Format: ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``.
"""
from __future__ import annotations

import hashlib
import hmac
import os

#: Why 200,000: OWASP's 2023 floor for PBKDF2-SHA256 is 600,000 on servers; a kiosk's CPU is slow
#: and the PIN check is also rate-limited by the screen, so 200,000 keeps a check under ~0.3 s.
ITERATIONS = 200_000


def hash_pin(pin: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """Hash a PIN for the config."""
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """True if ``pin`` matches ``stored``; False for a wrong PIN or a malformed hash."""
    try:
        algo, iterations, salt_hex, hash_hex = stored.split("$")
        if algo != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt_hex), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), hash_hex)
