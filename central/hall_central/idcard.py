"""GB 11643-1999 resident ID numbers: the MOD 11-2 check digit, validation and synthesis.

The central service is the authority that checks an ID number before it issues a citizen_ref;
the seed and the fleet make synthetic but VALID numbers with :func:`make_id`.
"""
from __future__ import annotations

import datetime as dt
import re

#: ISO 7064 MOD 11-2 weights 2^(17-i) mod 11 for the 17 body digits (GB 11643 table 1).
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
#: Check character for each remainder 0..10 ("X" stands for 10).
_CHECK = "10X98765432"
#: ASCII digits only, the whole string: Python's ``\d`` also takes full-width and other Unicode
#: digits, and ``$`` matches before a final newline; either would give one citizen a second number
#: (and a second citizen_ref, the reference is an HMAC of the number as written).
_ID_RE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)


def check_digit(body17: str) -> str:
    """The 18th character for a 17-digit body (MOD 11-2)."""
    if len(body17) != 17 or not body17.isdigit():
        raise ValueError("an ID body is 17 digits")
    return _CHECK[sum(int(c) * w for c, w in zip(body17, _WEIGHTS)) % 11]


def is_valid(id_number: str) -> bool:
    """True when the number has the 18-character shape, a real birth date and the right check digit.

    Exactly as written (no surrounding spaces, ASCII digits, upper-case X): the caller hashes the
    same string it checked.
    """
    s = id_number if isinstance(id_number, str) else ""
    if not _ID_RE.fullmatch(s):
        return False
    try:
        dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return check_digit(s[:17]) == s[17]


def make_id(region: str, birth: dt.date, sequence: int) -> str:
    """A valid number from a 6-digit region code, a birth date and a 3-digit sequence (odd = male)."""
    body = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    return body + check_digit(body)


def sex_of(id_number: str) -> str:
    """"M" or "F" from the sequence's last digit (GB 11643: odd is male)."""
    return "M" if int(id_number[16]) % 2 else "F"
