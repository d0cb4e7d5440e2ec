"""The other citizen flows, thin over the gateway: progress, service guide, walk-in, feedback, and
the "call staff" alert (booking: kiosk.services.booking).

Each method is one thing a screen asks for; errors are the gateway's typed errors
(Offline, Timeout, Rejected) or :class:`NotIdentified`, and the screens turn them into friendly
screens. The guide reads the local catalogue cache, so it works with no network.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kiosk.events import EventBus
from kiosk.network import operations as ops
from kiosk.network.catalogue import CatalogueCache, has_chinese, localize
from kiosk.services import tickets
from kiosk.services.attempts import Attempts
from kiosk.services.booking import BookingService as BookingService  # re-exported
from kiosk.services.booking import working_days as working_days  # re-exported
from kiosk.services.checkin import CheckinService, PrintOutcome
from kiosk.services.session import SessionManager

if TYPE_CHECKING:  # the gateway's link imports paho: services load without it
    from kiosk.network.gateway import Gateway

log = logging.getLogger("kiosk.services.flows")


class ProgressService:
    """A citizen's applications and their four-level timelines."""

    def __init__(self, gateway: Gateway, checkin: CheckinService) -> None:
        self.gateway, self.checkin = gateway, checkin

    def my_applications(self) -> list[dict[str, Any]]:
        """Applications of the identified citizen."""
        body: ops.ApplicationsListRequest = {"citizen_ref": self.checkin.citizen_ref()}
        apps: list[dict[str, Any]] = self.gateway.request(ops.APPLICATIONS_LIST, body).get("applications", [])
        return apps

    def by_number(self, application_no: str) -> dict[str, Any]:
        """One application by its number (typed on the keypad or scanned from a receipt)."""
        body: ops.ApplicationGetRequest = {"application_no": application_no}
        app: dict[str, Any] = self.gateway.request(ops.APPLICATION_GET, body)["application"]
        return app

    def print_slip(self, application: dict[str, Any]) -> PrintOutcome:
        """Print a progress slip of ``application`` in the session's language (no name, no ID
        number on it; its QR code opens the application's progress, here or on a phone)."""
        c = self.checkin
        url = tickets.follow_application_url(c.follow_url, str(application.get("application_no", "")))
        return c.print_doc(tickets.progress_slip(hall=c.hall, terminal=c.terminal_id, application=application,
                                                 when=c.clock.now(), follow_url=url, lang=c.lang))


class GuideService:
    """The service guide from the local catalogue cache (offline-capable). Readers take ``lang``
    (the session's language): records come localized (kiosk.network.catalogue.localize)."""

    def __init__(self, gateway: Gateway, checkin: CheckinService | None = None) -> None:
        self.gateway = gateway
        self.checkin = checkin

    @property
    def cache(self) -> CatalogueCache:
        """The catalogue cache the gateway keeps."""
        return self.gateway.catalogue

    def refresh(self) -> bool:
        """Ask the central service for a newer catalogue; False when offline."""
        try:
            self.gateway.sync_catalogue()
            return True
        except Exception as e:  # offline or timeout: the cache keeps serving
            log.info("catalogue not refreshed", extra={"error": type(e).__name__})
            return False

    def categories(self, lang: str | None = None) -> list[dict[str, Any]]:
        """Categories of service items."""
        return self.cache.categories(lang)

    def departments(self, lang: str | None = None) -> list[dict[str, Any]]:
        """Departments that handle items ({code, name, name_en})."""
        return self.cache.departments(lang)

    def lines(self, lang: str | None = None) -> list[dict[str, Any]]:
        """Business lines, each with the zone of the hall where its windows are."""
        return self.cache.lines(lang)

    @staticmethod
    def localized(entry: Any, lang: str) -> Any:
        """An answer of the central service that names items or offices (an application, an
        appointment, a check-in or booking result), in ``lang`` (English where it carries it)."""
        return localize(entry, lang)

    @staticmethod
    def has_chinese(text: Any) -> bool:
        """Whether a text holds Chinese (an English screen shows none, but for names)."""
        return has_chinese(text)

    def department_name(self, code: str, english: bool = False) -> str:
        """A department's name by code (the code itself when unknown)."""
        d = next((d for d in self.departments() if d.get("code") == code), None)
        if d is None:
            return code or ""
        return (d.get("name_en") if english and d.get("name_en") else d.get("name")) or code

    def print_guide(self, code: str, checkin: CheckinService | None = None) -> PrintOutcome:
        """Print the guide of item ``code`` (through ``checkin``'s printer, or the one given at init)."""
        it = self.item(code)
        c = checkin or self.checkin
        if it is None or c is None:
            return PrintOutcome(False, None)
        return c.print_doc(tickets.guide_slip(hall=c.hall, terminal=c.terminal_id, item=it,
                                              department=self.department_name(it.get("department", ""), c.lang == "en"),
                                              when=c.clock.now(), lang=c.lang))

    def items(self, category: str | None = None, department: str | None = None,
              lang: str | None = None) -> list[dict[str, Any]]:
        """Items, optionally of one category or department."""
        items = self.cache.items(lang=lang)
        if category:
            items = [i for i in items if i.get("category") == category]
        if department:
            items = [i for i in items if i.get("department") == department]
        return items

    def search(self, query: str, lang: str | None = None) -> list[dict[str, Any]]:
        """Chinese substring or pinyin initials (``lnyd`` finds 老年优待证办理)."""
        return self.cache.search(query, lang)

    def item(self, code: str, lang: str | None = None) -> dict[str, Any] | None:
        """One item with every field."""
        return self.cache.item(code, lang)


class WalkinService:
    """A queue ticket without an appointment."""

    def __init__(self, gateway: Gateway, checkin: CheckinService, sessions: SessionManager) -> None:
        self.gateway, self.checkin, self.sessions = gateway, checkin, sessions

    def lines(self) -> list[dict[str, Any]]:
        """Business lines (from the catalogue cache)."""
        return self.gateway.catalogue.lines()

    def offers(self, lang: str | None = None) -> list[dict[str, Any]]:
        """The business lines as the walk-in screen offers them (localized), each with ``offer``.

        A line for everyone is ``"open"``. A priority line (the catalogue's ``min_age``, 老年人优先)
        is for a citizen whose age an ID card (or social security card) proves: ``age`` is the
        larger of its ``min_age`` and this terminal's ``runtime.elder_age``, and ``offer`` is
        ``"open"`` for an identified citizen of that age, ``"identify"`` when nobody is identified
        (the citizen is asked to identify with the card first), ``"card"`` when the number was
        typed (it proves no age: the central service refuses it too) or the card gave no birth
        date, ``"age"`` when younger. Why here and at the central service: the terminal tells
        the citizen before they choose; the central service's refusal is the rule itself.
        """
        citizen = self.sessions.citizen
        out = []
        for ln in self.gateway.catalogue.lines(lang):
            min_age = ln.get("min_age")
            if not isinstance(min_age, int):
                out.append({**ln, "offer": "open"})
                continue
            age = max(min_age, self.sessions.elder_age)
            years = citizen.age(self.checkin.clock.today()) if citizen is not None else None
            if citizen is None:
                offer = "identify"
            elif citizen.source == "keypad" or years is None:
                offer = "card"
            else:
                offer = "open" if years >= age else "age"
            out.append({**ln, "age": age, "offer": offer})
        return out

    def take(self, line: str) -> dict[str, Any]:
        """Take a ticket for a line (durable, one attempt); identified citizens are linked by reference."""
        body: ops.TicketWalkinRequest = {"line": line}
        if self.sessions.citizen is not None:
            body["citizen_ref"] = self.checkin.citizen_ref()
        c = self.checkin
        return c.attempts.submit(self.gateway, ops.TICKET_WALKIN, body, c.wait_s, self.sessions.session_id)

    def line_name(self, code: str, english: bool = False) -> str:
        """A business line's name by code (the ticket shows the name, never the bare code)."""
        ln = next((ln for ln in self.lines() if ln.get("code") == code), None)
        if ln is None:
            return code or ""
        return (ln.get("name_en") if english and ln.get("name_en") else ln.get("name")) or code

    def print_ticket(self, result: dict[str, Any]) -> PrintOutcome:
        """Print the walk-in ticket (a check-in ticket's layout under its own title, the line's
        name as the item, in the session's language)."""
        return self.checkin.print_ticket({**result, "item_name": self.line_name(result.get("line", ""))}, "walkin")


class FeedbackService:
    """Rate, complain, consult: durable, because a citizen's complaint must never be lost."""

    RATINGS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
    #: Why 5 s: long enough for the central service's answer (the reference number) on a slow
    #: link; what is not answered by then is still sent from the outbox, and the citizen is told.
    WAIT_S = 5.0

    def __init__(self, gateway: Gateway, attempts: Attempts | None = None,
                 sessions: SessionManager | None = None) -> None:
        self.gateway = gateway
        self.attempts = attempts or Attempts()
        self.sessions = sessions

    def submit(self, kind: str, *, rating: int | None = None, application_no: str | None = None,
               reasons: list[str] | None = None, text: str | None = None, item_code: str | None = None,
               callback_phone: str | None = None, proof: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one piece of feedback; returns the central service's receipt (or raises Timeout:
        it stays queued and is sent later). ``proof`` ({"receipt": code} or {"citizen_ref": ref})
        goes with a rating of an application: the central service accepts no rating without it.
        One form is one attempt: sending the same form again after no answer reuses its key."""
        target = {"application_no": application_no, **{k: v for k, v in (proof or {}).items()
                                                       if k in ("receipt", "citizen_ref") and v}}
        # A plain dict, not ops.FeedbackSubmitRequest: its members are filled from a loop, and
        # ``kind`` comes from the screens as a string (the schema checks it is rate/complain/consult).
        body: dict[str, Any] = {"kind": kind, "target": target if application_no else {"hall": True}}
        for key, value in (("rating", rating), ("reasons", reasons), ("text", text),
                           ("item_code", item_code), ("callback_phone", callback_phone)):
            if value is not None:
                body[key] = value
        session = self.sessions.session_id if self.sessions is not None else None
        return self.attempts.submit(self.gateway, ops.FEEDBACK_SUBMIT, body, self.WAIT_S, session)


class StaffService:
    """Alerts to the hall's staff (the "call staff" button, printer out of paper)."""

    def __init__(self, gateway: Gateway, bus: EventBus) -> None:
        self.gateway, self.bus = gateway, bus

    def call(self, screen: str, reason: str = "citizen_request") -> None:
        """Alert the hall: an event to the central service (durable) and on the local bus."""
        self.bus.publish("staff.call", {"screen": screen, "reason": reason}, source="ui")
        self.gateway.emit_event("staff.call", {"screen": screen, "reason": reason})

    def card_forgotten(self, roles: list[str], left_s: int) -> None:
        """A citizen's card has lain on its reader since its session ended (SessionManager's
        ``session.card_forgotten``): a durable event, so the hall's staff learn of it even if the
        network is down now. Presence only: which readers and for how long, never whose card."""
        self.gateway.emit_event("card.forgotten", {"roles": list(roles), "left_s": int(left_s)})

    def card_taken(self) -> None:
        """The forgotten card was taken from the reader: the alert is over."""
        self.gateway.emit_event("card.taken", {})
