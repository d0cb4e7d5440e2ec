"""Masking rules for citizens' data: the one place that decides what a screen, a ticket or a log shows.

Rules (PITFALLS.md, issue 6): an ID number keeps its first 3 and last 4 characters and never shows
the birth date (``410***********1234``); a name keeps its first and last character with the middle
masked (``张*三``), a two-character name keeps the first (``张*``); an address keeps its first 6
characters. :func:`redact_text` applies the ID and phone rules to free text (for the log filter).
"""
from __future__ import annotations

import re

#: Resident ID numbers: 18 characters (17 digits + digit or X) or the old 15-digit form.
#: Bounded by non-digits so that longer digit runs (timestamps, hashes) are left alone.
ID_PATTERN = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
#: Mainland mobile numbers (citizens leave one for a call-back).
PHONE_PATTERN = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_id(id_number: str) -> str:
    """``410122199001011234`` -> ``410***********1234`` (first 3 and last 4 kept)."""
    s = (id_number or "").strip()
    if len(s) <= 7:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 7) + s[-4:]


def mask_name(name: str) -> str:
    """``张三丰`` -> ``张*丰``; ``张三`` -> ``张*``; Latin names keep the first letter of each part."""
    s = (name or "").strip()
    if not s:
        return ""
    if s.isascii():
        return " ".join(p[0] + "*" * (len(p) - 1) for p in s.split())
    if len(s) == 1:
        return "*"
    if len(s) == 2:
        return s[0] + "*"
    return s[0] + "*" * (len(s) - 2) + s[-1]


def mask_address(address: str) -> str:
    """Keep the first 6 characters (province/city/county) and mask the rest."""
    s = (address or "").strip()
    return s[:6] + ("*" * min(6, len(s) - 6) if len(s) > 6 else "")


def mask_phone(phone: str) -> str:
    """``13812345678`` -> ``138****5678``."""
    s = (phone or "").strip()
    return s[:3] + "****" + s[-4:] if len(s) >= 7 else "*" * len(s)


def redact_text(text: str) -> str:
    """Mask every ID number and mobile number found in free text."""
    text = ID_PATTERN.sub(lambda m: mask_id(m.group(1)), text)
    return PHONE_PATTERN.sub(lambda m: m.group(1) + "****" + m.group(3), text)
