"""Appointment check-in: find today's appointments of the identified citizen, check in, print.

The path (issue 2): ID card read -> ``citizen.lookup`` (online, the only request that carries the
ID number) -> ``appointments.list`` -> the citizen confirms -> ``checkin`` through the durable
outbox with an idempotency key made once per appointment and session (a second tap on "confirm"
re-sends the same key, so the central service applies it once) -> the queue ticket printed.
Keys belong to one attempt (kiosk.services.attempts): a definitive answer such as "too early"
ends it, so the same slip scanned again once check-in opens is a new attempt, not a replay.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from firmware_bridge.escpos.document import TicketDoc
from kiosk.clock import Clock
from kiosk.devices.base import DeviceError
from kiosk.errors import KioskError
from kiosk.events import EventBus
from kiosk.network import operations as ops
from kiosk.services import tickets
from kiosk.services.attempts import Attempts
from kiosk.services.session import SessionManager

if TYPE_CHECKING:  # the gateway's link imports paho: services load without it
    from kiosk.network.gateway import Gateway

log = logging.getLogger("kiosk.services.checkin")


class NotIdentified(KioskError):
    """A flow needs an identified citizen and there is none."""

    code = "session.not_identified"
    citizen_message = "请先放置身份证或扫码识别身份。"


class UnknownCode(KioskError):
    """A scanned code that is not a check-in code of this service."""

    code = "session.unknown_code"
    citizen_message = "无法识别该二维码，请扫描预约凭条上的二维码，或放置身份证。"


#: Where an appointment's check-in window stands at this terminal's clock (:meth:`CheckinService.window`).
EARLY, OPEN, LATE = "early", "open", "late"
#: An appointment's status (``appointments.list``) once its citizen has checked in.
CHECKED_IN = "checked_in"
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


class TicketPrinter(Protocol):
    """What the services need of a printer driver (kiosk.devices.printer.EscPosPrinter, a virtual one)."""

    def print_ticket(self, doc: TicketDoc) -> object: ...


@dataclass
class PrintOutcome:
    """Whether the ticket reached paper; when not, the error to show (the number stays on screen)."""

    printed: bool
    error: DeviceError | None = None
    png_path: str | None = None


class CheckinService:
    """Today's appointments, check-in and the queue ticket."""

    def __init__(self, gateway: Gateway, printer: TicketPrinter | None, sessions: SessionManager,
                 clock: Clock, *, hall: str, hall_code: str, terminal_id: str, hall_en: str = "",
                 bus: EventBus | None = None, wait_s: float = 8.0,
                 verify_code: Callable[[str], dict[str, Any]] | None = None, attempts: Attempts | None = None,
                 follow_url: str = tickets.DEFAULT_FOLLOW_URL) -> None:
        self.gateway = gateway
        #: Verifies a signed check-in code and returns its claims (raises a KioskError), or None
        #: where no trust root is configured (development only: production requires one).
        self.verify_code = verify_code
        self.printer = printer
        self.sessions = sessions
        self.clock = clock
        self.hall_zh, self.hall_en, self.hall_code, self.terminal_id = hall, hall_en, hall_code, terminal_id
        self.bus = bus
        self.wait_s = wait_s
        #: The open attempts of every durable request of this terminal (one object, shared).
        self.attempts = attempts or Attempts(bus)
        #: The portal a ticket's QR code opens on a citizen's phone (config ui.follow_url).
        self.follow_url = follow_url

    @property
    def lang(self) -> str:
        """The session's language: paper is printed in it."""
        return self.sessions.language

    @property
    def hall(self) -> str:
        """This hall's name in the session's language (the Chinese where no English is configured,
        as the header shows it: an English slip named the hall in Chinese)."""
        return self.hall_en if self.lang == "en" and self.hall_en else self.hall_zh

    def citizen_ref(self) -> str:
        """The central service's reference of the session's citizen (looked up once per session)."""
        c = self.sessions.citizen
        if c is None:
            raise NotIdentified("no citizen in session")
        if c.citizen_ref is None:
            # A number typed on the keypad comes without a name (no card to read it from); the
            # contract needs one, so a placeholder goes instead: the central service then matches
            # no register entry and issues the reference of this number and "-" (booking works, and
            # the same number typed again finds those bookings; the card holder's appointments and
            # applications stay out of reach: hall_central.citizens).
            body: ops.CitizenLookupRequest = {"id_number": c.id_number, "name": c.name or KEYPAD_NAME}
            result = self.gateway.request(ops.CITIZEN_LOOKUP, body)
            c.citizen_ref = result["citizen_ref"]
        return c.citizen_ref

    def appointments_today(self) -> list[dict[str, Any]]:
        """The citizen's appointments for today that can still be checked in (booked ones)."""
        ref = self.citizen_ref()
        today = self.clock.today().isoformat()
        body: ops.AppointmentsListRequest = {"citizen_ref": ref, "date": today}
        result = self.gateway.request(ops.APPOINTMENTS_LIST, body)
        return [a for a in result.get("appointments", []) if a.get("date") == today
                and a.get("status") in ("booked", "checked_in")]

    def appointments(self) -> list[dict[str, Any]]:
        """Every appointment of the identified citizen the central service lists (any day, any state)."""
        body: ops.AppointmentsListRequest = {"citizen_ref": self.citizen_ref()}
        appts: list[dict[str, Any]] = self.gateway.request(ops.APPOINTMENTS_LIST, body).get("appointments", [])
        return appts

    def window(self, appointment: dict[str, Any]) -> str:
        """Where the check-in window of ``appointment`` stands now: :data:`EARLY`, :data:`OPEN` or
        :data:`LATE`. The window is the central service's (``checkin_from``/``checkin_until``,
        hall-local HH:MM, from its one rule); this terminal only holds it against its clock, so a
        citizen who is early or late learns it without a round trip (the central service re-checks).

        An appointment checked in already is always :data:`OPEN`: checking in again returns its
        ticket at any time (the central service's rule), so a citizen whose ticket did not print
        (paper out) or who lost it gets their number again, not "check-in closed, take a walk-in
        ticket" and a place at the back of the queue."""
        if appointment.get("status") == CHECKED_IN:
            return OPEN
        now = self.clock.now().strftime("%H:%M")
        if appointment.get("checkin_from") and now < appointment["checkin_from"]:
            return EARLY
        if appointment.get("checkin_until") and now > appointment["checkin_until"]:
            return LATE
        return OPEN

    def check_in(self, appointment_id: str, item_code: str | None = None) -> dict[str, Any]:
        """Check in (durable, idempotent); returns the queue result (with ``item_code`` when given:
        the ticket names the service in the session's language); raises Timeout when queued."""
        if self.sessions.citizen is None:
            raise NotIdentified("no citizen in session")
        # citizen_ref: the central service checks the appointment is this citizen's (issue 13).
        body: ops.CheckinRequest = {"appointment_id": appointment_id, "citizen_ref": self.citizen_ref()}
        result = self.attempts.submit(self.gateway, ops.CHECKIN, body, self.wait_s, self.sessions.session_id)
        log.info("checked in", extra={"queue_no": result.get("queue_no"), "window": result.get("window")})
        return {**result, "item_code": item_code} if item_code else result

    def check_in_code(self, code: str) -> dict[str, Any]:
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
        # The slip's code goes along: it is the proof the central service asks for (issue 13).
        body: ops.CheckinRequest = {"appointment_id": appt_id, "checkin_code": code}
        result = self.attempts.submit(self.gateway, ops.CHECKIN, body, self.wait_s, self.sessions.session_id)
        log.info("checked in by code", extra={"queue_no": result.get("queue_no"), "window": result.get("window")})
        return result

    def slip_time(self, code: str) -> tuple[str, str] | None:
        """When the appointment of a booking slip's ``code`` is: (day "YYYY-MM-DD", start "HH:MM"),
        as the central service signed them into the code; None for a code that does not verify
        or names no time (an older slip, the unsigned development format)."""
        if self.verify_code is None:
            return None
        try:
            claims = self.verify_code((code or "").strip())
        except KioskError:
            return None
        day, at = claims.get("day"), claims.get("at")
        return (day, at) if isinstance(day, str) and isinstance(at, str) else None

    def item_name(self, result: dict[str, Any]) -> str:
        """The service a ticket or slip names, in the session's language: the catalogue's name of
        ``item_code`` (or of the business ``line``) in English, the central service's name in Chinese."""
        if self.lang == "en" and self.gateway is not None:
            cat = self.gateway.catalogue
            item = cat.item(result["item_code"]) if result.get("item_code") else None
            if item and item.get("name_en"):
                return str(item["name_en"])
            line = next((ln for ln in cat.lines() if ln.get("code") == result.get("line")), None)
            if line and line.get("name_en"):
                return str(line["name_en"])
        return str(result.get("item_name", "") or result.get("line", ""))

    def ticket_for(self, result: dict[str, Any], kind: str = "checkin") -> TicketDoc:
        """The ticket document for a check-in (or, ``kind`` walkin, a walk-in) result."""
        c = self.sessions.citizen
        return tickets.checkin_ticket(
            hall=self.hall, terminal=self.terminal_id, masked_name=c.masked_name if c and c.name else "",
            item_name=self.item_name(result), queue_no=result["queue_no"], window=str(result.get("window", "")),
            people_ahead=int(result.get("people_ahead", 0)), when=self.clock.now(), kind=kind,
            follow_url=tickets.follow_ticket_url(self.follow_url, result.get("follow_token")), lang=self.lang)

    def print_ticket(self, result: dict[str, Any], kind: str = "checkin") -> PrintOutcome:
        """Print the queue ticket; a printer fault is reported, never raised (the number is on screen)."""
        return self.print_doc(self.ticket_for(result, kind))

    def print_doc(self, doc: TicketDoc) -> PrintOutcome:
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
