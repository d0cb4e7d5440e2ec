"""What a scanned code means to the citizen's flows: the one place that reads a scan for the screens.

kiosk.trust.payload classifies the text (and checks a signed code's signature); this module says
where the code leads, so the screens only route:

- ``application``: a receipt's application number; ``receipt`` is the proof of holding the
  receipt (the signed receipt code, or on a development terminal without a trust root the bare
  number: its development central service issues bare numbers as receipts), "" where none;
- ``appointment``: a booking slip's check-in code (signed, or the development format);
- ``progress_slip``: this kiosk's own progress slip (a follow URL naming an application): view only;
- ``queue_ticket``: this kiosk's own queue ticket (a follow URL naming a ticket): explained;
- ``unknown``: anything else, with the classifier's reason for the log (never the value).
"""
from __future__ import annotations

from dataclasses import dataclass

from kiosk.services import tickets
from kiosk.services.checkin import appointment_id_from_code
from kiosk.trust import payload as pl

APPLICATION, APPOINTMENT, PROGRESS_SLIP, QUEUE_TICKET, UNKNOWN = (
    "application", "appointment", "progress_slip", "queue_ticket", "unknown")


@dataclass(frozen=True)
class Scan:
    """A scanned code as the flows see it: where it leads, and what they need of it."""

    leads_to: str
    value: str = ""
    receipt: str = ""
    #: The classifier's kind and reason: for log lines only (no value).
    kind: str = ""
    why: str = ""

    def __repr__(self) -> str:  # event data and scans reach log lines: never the value
        return f"Scan(leads_to={self.leads_to!r}, kind={self.kind!r}, why={self.why!r})"


def as_payload(data: object) -> pl.Payload:
    """Event data of ``scanner.scan`` / ``camera.scan`` as a Payload (raw text is classified here)."""
    if isinstance(data, pl.Payload):
        return data
    text = data.get("text", "") if isinstance(data, dict) else str(data or "")
    return pl.classify(text)


class ScanReader:
    """Reads scans against this terminal's follow portal (config ``ui.follow_url``)."""

    def __init__(self, follow_url: str = tickets.DEFAULT_FOLLOW_URL) -> None:
        self.follow_url = follow_url

    def read(self, data: object) -> Scan:
        """Where the scan in ``data`` (a Payload, ``{"text": ...}`` or text) leads."""
        p = as_payload(data)
        if p.kind == pl.APPLICATION_NUMBER:
            return Scan(APPLICATION, p.value, receipt=_receipt_of(p), kind=p.kind)
        if p.kind == pl.APPOINTMENT or appointment_id_from_code(p.value):
            return Scan(APPOINTMENT, p.value, kind=p.kind)
        follow = tickets.parse_follow(p.value, self.follow_url) if p.kind == pl.URL else None
        if follow is not None and follow[0] == "application":
            return Scan(PROGRESS_SLIP, follow[1], kind=p.kind)
        if follow is not None:
            return Scan(QUEUE_TICKET, kind=p.kind)
        return Scan(UNKNOWN, kind=p.kind, why=p.reason)


def _receipt_of(p: pl.Payload) -> str:
    receipt: str = p.detail.get("receipt") or ""
    if receipt:
        return receipt
    return "" if pl.verifier_installed() else p.value
