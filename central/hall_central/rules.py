"""What the parts of the central domain share: the contract's refusal (:class:`OpError`) and the
hall's time rules (the check-in window, half-hour slots, hall-local dates and times).
"""
from __future__ import annotations

import datetime as dt

from hall_central.clock import TZ

#: The early/late rule of the contract: check-in opens 30 min before start, closes 15 min after.
CHECKIN_EARLY_MIN = 30
CHECKIN_LATE_MIN = 15
SLOT_MIN = 30


class OpError(Exception):
    """A definitive refusal with a contract error code (invalid, not_found, conflict, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def to_dict(self) -> dict:
        """The contract's error object."""
        return {"code": self.code, "message": self.message}


def hhmm(t: dt.datetime | dt.time) -> str:
    """HH:MM of a time."""
    return f"{t.hour:02d}:{t.minute:02d}"


def at(date: str, hh_mm: str) -> dt.datetime:
    """The hall-local moment of a stored date and HH:MM."""
    return dt.datetime.combine(dt.date.fromisoformat(date), dt.time.fromisoformat(hh_mm), TZ)


def parse_date(text: str, field: str = "date") -> dt.date:
    """A request's date, or ``invalid``: the schema's pattern lets through days that do not exist
    (2026-02-30), and such a date is the terminal's mistake, never an ``internal`` error."""
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise OpError("invalid", f"{field} {text!r} is not a date of the calendar") from None
