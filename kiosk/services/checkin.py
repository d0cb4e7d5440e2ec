"""Appointment check-in: find today's appointments of the identified citizen, check in, print.

The path (issue 2): ID card read -> ``citizen.lookup`` (online, the only request that carries the
ID number) -> ``appointments.list`` -> the citizen confirms -> ``checkin`` through the durable
outbox with an idempotency key made once per appointment and session (a second tap on "confirm"
re-sends the same key, so the central service applies it once) -> the queue ticket printed.
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Callable

from kiosk.clock import Clock
from kiosk.devices.base import DeviceError
from kiosk.errors import KioskError
from kiosk.services import tickets
from kiosk.services.session import SessionManager

log = logging.getLogger("kiosk.services.checkin")


class NotIdentified(KioskError):
    """A flow needs an identified citizen and there is none."""

    code = "session.not_identified"
    citizen_message = "请先放置身份证或扫码识别身份。"


class UnknownCode(KioskError):
    """A scanned code that is not a check-in code of this service."""

    code = "session.unknown_code"
    citizen_message = "无法识别该二维码，请扫描预约凭条上的二维码，或放置身份证。"


#: The name sent with an ID number typed on the keypad (see :meth:`CheckinService.citizen_ref`).
KEYPAD_NAME = "-"
#: The reference central service's unsigned check-in code: ``KIOSK1:APPT:<appointment id>``.
#: (Signed ``KQ1:`` codes need the verifier of the trust work to be opened; not read here yet.)
UNSIGNED_CODE_PREFIX = "KIOSK1:APPT:"


def appointment_id_from_code(code: str) -> str | None:
    """The appointment id inside a booking slip's check-in code, or None."""
    code = (code or "").strip()
    if code.startswith(UNSIGNED_CODE_PREFIX):
        appt = code[len(UNSIGNED_CODE_PREFIX):]
        # Why the bound and alphabet: the id goes into a request; garbage must not.
        if 1 <= len(appt) <= 64 and all(c.isalnum() or c in "-_" for c in appt):
            return appt
    return None


@dataclass
class PrintOutcome:
    """Whether the ticket reached paper; when not, the error to show (the number stays on screen)."""

    printed: bool
    error: DeviceError | None = None
    png_path: str | None = None


class CheckinService:
    """Today's appointments, check-in and the queue ticket."""

    def __init__(self, gateway, printer, sessions: SessionManager, clock: Clock, *, hall: str,
                 hall_code: str, terminal_id: str, bus=None, wait_s: float = 8.0,
                 verify_code: Callable[[str], dict] | None = None) -> None:
        self.gateway = gateway
        #: Verifies a signed check-in code and returns its claims (raises a KioskError), or None
        #: where no trust root is configured (development only: production requires one).
        self.verify_code = verify_code
        self.printer = printer
        self.sessions = sessions
        self.clock = clock
        self.hall, self.hall_code, self.terminal_id = hall, hall_code, terminal_id
        self.bus = bus
        self.wait_s = wait_s
        self._idem: dict[str, str] = {}
        self._lock = threading.Lock()
        if bus is not None:
            bus.subscribe("session.ended", lambda e: self._forget())

    def _forget(self) -> None:
        with self._lock:
            self._idem.clear()

    def citizen_ref(self) -> str:
        """The central service's reference of the session's citizen (looked up once per session)."""
        c = self.sessions.citizen
        if c is None:
            raise NotIdentified("no citizen in session")
        if c.citizen_ref is None:
            # A number typed on the keypad comes without a name (no card to read it from); the
            # contract needs one, so a placeholder goes instead: the central service then matches
            # no register entry and issues a bare reference (booking works, no appointments leak).
            result = self.gateway.request("citizen.lookup", {"id_number": c.id_number,
                                                             "name": c.name or KEYPAD_NAME})
            c.citizen_ref = result["citizen_ref"]
        return c.citizen_ref

    def appointments_today(self) -> list[dict]:
        """The citizen's appointments for today that can still be checked in (booked ones)."""
        ref = self.citizen_ref()
        today = self.clock.today().isoformat()
        result = self.gateway.request("appointments.list", {"citizen_ref": ref, "date": today})
        return [a for a in result.get("appointments", []) if a.get("date") == today
                and a.get("status") in ("booked", "checked_in")]

    def check_in(self, appointment_id: str) -> dict:
        """Check in (durable, idempotent); returns the queue result; raises Timeout when queued."""
        if self.sessions.citizen is None:
            raise NotIdentified("no citizen in session")
        with self._lock:
            idem = self._idem.setdefault(appointment_id, uuid.uuid4().hex)
        # citizen_ref: the central service checks the appointment is this citizen's (issue 13).
        pending = self.gateway.submit("checkin", {"appointment_id": appointment_id, "citizen_ref": self.citizen_ref()},
                                      idem=idem)
        result = pending.wait(self.wait_s)
        log.info("checked in", extra={"queue_no": result.get("queue_no"), "window": result.get("window")})
        return result

    def check_in_code(self, code: str) -> dict:
        """Check in with the code of a booking slip (no ID card needed: the code is the proof).

        A terminal with a trust root (every production terminal) accepts only signed ``KQ1:`` codes,
        verified offline for this hall and this moment; the unsigned development format is
        accepted only where no trust root is configured (a development stack without keys).
        """
        code = (code or "").strip()
        if self.verify_code is not None:
            try:
                claims = self.verify_code(code)
            except KioskError as e:
                raise UnknownCode(f"check-in code refused: {e.reason}",
                                  action="scan the QR code on the booking slip, or ask staff") from None
            appt_id = claims.get("apt")
            if not isinstance(appt_id, str) or appointment_id_from_code(UNSIGNED_CODE_PREFIX + appt_id) is None:
                raise UnknownCode("signed code without an appointment", action="ask staff")
        else:
            appt_id = appointment_id_from_code(code)
        if appt_id is None:
            raise UnknownCode("not a check-in code of this service", action="scan the QR code on the booking slip")
        with self._lock:
            idem = self._idem.setdefault(appt_id, uuid.uuid4().hex)
        # The slip's code goes along: it is the proof the central service asks for (issue 13).
        result = self.gateway.submit("checkin", {"appointment_id": appt_id, "checkin_code": code},
                                     idem=idem).wait(self.wait_s)
        log.info("checked in by code", extra={"queue_no": result.get("queue_no"), "window": result.get("window")})
        return result

    def ticket_for(self, result: dict):
        """The ticket document for a check-in result."""
        c = self.sessions.citizen
        return tickets.checkin_ticket(
            hall=self.hall, terminal=self.terminal_id, hall_code=self.hall_code,
            masked_name=c.masked_name if c else "", item_name=result.get("item_name", ""),
            queue_no=result["queue_no"], window=str(result.get("window", "")),
            people_ahead=int(result.get("people_ahead", 0)), when=self.clock.now(),
            english=self.sessions.language == "en")

    def print_ticket(self, result: dict) -> PrintOutcome:
        """Print the queue ticket; a printer fault is reported, never raised (the number is on screen)."""
        return self.print_doc(self.ticket_for(result))

    def print_doc(self, doc) -> PrintOutcome:
        """Print any document (ticket, slip); a printer fault is reported, never raised."""
        if self.printer is None:
            return PrintOutcome(False, DeviceError("no printer configured", action="show the number on screen"))
        try:
            self.printer.print_ticket(doc)
            return PrintOutcome(True)
        except DeviceError as e:
            log.warning("ticket not printed", extra={"error": e.code})
            if self.gateway is not None:
                try:
                    self.gateway.emit_event("print.failed", {"error": e.code, "reason": e.reason})
                except KioskError:
                    log.warning("print.failed event not queued")
            return PrintOutcome(False, e)
