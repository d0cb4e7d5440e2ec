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


#: The most iterations a stored hash may ask for: 10x ours (a check then takes ~3 s). Why a bound: a
#: typo of 2,000,000,000 made one PIN check take hours on the touchscreen's thread.
MAX_ITERATIONS = 10 * ITERATIONS


def is_pin_hash(stored: str) -> bool:
    """True if ``stored`` is a hash :func:`hash_pin` could have made (format and bounds)."""
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != "pbkdf2_sha256":
        return False
    _algo, iterations, salt_hex, hash_hex = parts
    hexdigits = set("0123456789abcdef")
    return (iterations.isascii() and iterations.isdigit() and 1000 <= int(iterations) <= MAX_ITERATIONS
            and 8 <= len(salt_hex) <= 128 and len(salt_hex) % 2 == 0 and set(salt_hex) <= hexdigits
            and len(hash_hex) == 64 and set(hash_hex) <= hexdigits)


def verify_pin(pin: str, stored: str) -> bool:
    """True if ``pin`` matches ``stored``; False for a wrong PIN or a malformed hash."""
    if not is_pin_hash(stored):
        return False
    try:
        _algo, iterations, salt_hex, hash_hex = stored.split("$")
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt_hex), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), hash_hex)
