"""The citizen session: who is at the terminal, for how long, and the wipe when they leave.

A session starts when a citizen identifies (ID card, smart card, QR code, keypad) and ends on
inactivity (``runtime.session_timeout_s``, longer in elder mode and for seniors), on card removal, on "done",
or on an error. Ending it drops every reference to the citizen's data held here, tells the log
redactor to forget the citizen's name and address, and publishes ``session.ended`` so every
screen clears its widgets. A citizen aged ``elder_age`` or more is a ``senior`` for the session: they get the longer timeout
at once (more time changes nothing on screen), and the screen *offers* elder mode (large type);
it turns on only when the citizen accepts (the MIIT 适老化 guidance: a prominent switch and a
prompt, the user chooses; large type imposed by age also surprised citizens who did not want it).

Language and elder mode: a visit starts in the terminal's language (``runtime.language``) and
standard type. A citizen's choices last until their visit ends: when their session ends, or, for a
visitor who never identified (guide, walk-in, a language or type switch on the home screen), when
the terminal has stood untouched for the timeout that applies (:meth:`SessionManager.tick`). Then
the language goes back to the terminal's (``session.language``), elder mode goes off, and
``session.idle`` is published once, so that the screen goes back home for the next person.
"""
from __future__ import annotations

import datetime as dt
import enum
import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hall_common import privacy
from kiosk import roles
from kiosk.clock import Clock
from kiosk.events import Event, EventBus, Handler
from kiosk.logs import SENSITIVE
from kiosk.trust.payload import id_number_problem

log = logging.getLogger("kiosk.services.session")

#: Why 18: a resident ID number has 17 digits and a check character (digit or X).
ID_LEN = 18
#: Why 15 s: the countdown must be long enough for a slow reader to notice and touch the screen.
COUNTDOWN_S = 15.0
#: A card still on its reader this long after its session ended (its holder gone: the session
#: timed out, or they left after Done) is forgotten: staff are alerted (``session.card_forgotten``,
#: a durable event to the central service, the maintenance screen, telemetry). Why 120 s: past the
#: notice asking to take it (8 s) and a next visitor's look at the home screen, which says a card
#: is there, yet well within the time its holder may come back for it or walk out of the hall.
CARD_FORGOTTEN_S = 120.0


class EndReason(str, enum.Enum):
    """Why a session ended (logged and sent as an event; never with citizen data)."""

    DONE = "done"
    TIMEOUT = "timeout"
    CARD_REMOVED = "card_removed"
    CANCELLED = "cancelled"
    ERROR = "error"
    REPLACED = "replaced"


@dataclass
class Citizen:
    """The identified citizen, in memory for one session only. ``repr`` never shows the data."""

    id_number: str
    name: str
    source: str                      # idcard | smartcard | qr | keypad
    birth_date: dt.date | None = None  # when known
    address: str = ""
    sex: str = ""
    card_type: str = "resident"
    citizen_ref: str | None = None   # the central service's opaque reference, once looked up
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def masked_name(self) -> str:
        """Name with the middle masked (张*三)."""
        return privacy.mask_name(self.name)

    @property
    def masked_id(self) -> str:
        """ID number with only the first 3 and last 4 shown."""
        return privacy.mask_id(self.id_number)

    def age(self, on: dt.date) -> int | None:
        """Age in whole years on date ``on`` (None when the birth date is unknown)."""
        b = self.birth_date
        if b is None:
            return None
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

    def __repr__(self) -> str:
        return f"Citizen({self.masked_name!r}, {self.masked_id!r}, source={self.source!r})"

    __str__ = __repr__


def citizen_from_identity(identity: Any, source: str = "idcard") -> Citizen:
    """Build a :class:`Citizen` from an ID-card ``Identity`` (or any object with the same fields)."""
    return Citizen(
        id_number=getattr(identity, "id_number", "") or getattr(identity, "card_number", ""),
        name=getattr(identity, "name", "") or getattr(identity, "english_name", ""),
        source=source,
        birth_date=getattr(identity, "birth_date", None),
        address=getattr(identity, "address", "") or "",
        sex=getattr(identity, "sex", "") or "",
        card_type=getattr(identity, "card_type", "resident") or "resident",
    )


class SessionState(str, enum.Enum):
    """IDLE: nobody identified; ACTIVE: a citizen is identified."""

    IDLE = "idle"
    ACTIVE = "active"


class SessionManager:
    """Owns the current citizen, the inactivity timer, language and elder mode."""

    def __init__(self, bus: EventBus, clock: Clock, *, timeout_s: float = 60.0,
                 elder_timeout_s: float = 120.0, elder_age: int = 60, language: str = "zh_CN") -> None:
        self.bus = bus
        self.clock = clock
        self.timeout_s = timeout_s
        self.elder_timeout_s = elder_timeout_s
        self.elder_age = elder_age
        self.default_language = language
        self.language = language
        self.elder_mode = False
        self.senior = False   # the citizen is elder_age or older (longer timeout; large type offered)
        self._lock = threading.RLock()
        self._citizen: Citizen | None = None
        self._session_id: str | None = None
        self._last_activity = clock.monotonic()
        # A read of every role that reads a citizen's card begins a session; that card's removal
        # ends it (kiosk.roles: idcard, smartcard).
        # A visitor without a session did something since the terminal was last taken back
        # (touch, language, elder mode, a code held to a reader): the idle timeout ends their
        # visit once (tick).
        self._visit_open = False
        # Roles whose card was read for a citizen and is still on its reader (presence only, never
        # data). A reader reports a card once per placing: one left behind when its session ended
        # is not read again until it is lifted (card_left).
        self._cards_read: set[str] = set()
        # When the card left behind was left (the runtime's monotonic clock), and whether staff were
        # alerted of it (once per card left; CARD_FORGOTTEN_S).
        self._left_at: float | None = None
        self._forgotten = False
        self._subs = []
        for role in roles.ROLES:
            if role.reads == "identity":
                self._subs += [bus.subscribe(role.read_event, self._on_card_read(role.name)),
                               bus.subscribe(role.removed_event, self._on_card_removed(role.name))]
        for role in roles.ROLES:  # a code held to the scanner or camera is a visitor's act, like a touch
            if role.reads == "code":
                self._subs.append(bus.subscribe(role.read_event, self._on_scan))

    # -- queries ----------------------------------------------------------------------------------
    @property
    def state(self) -> SessionState:
        """IDLE or ACTIVE."""
        return SessionState.ACTIVE if self._citizen else SessionState.IDLE

    @property
    def citizen(self) -> Citizen | None:
        """The identified citizen, or None."""
        return self._citizen

    @property
    def session_id(self) -> str | None:
        """A random id of the live session (for logs and idempotency scoping; not personal)."""
        return self._session_id

    @property
    def visit_open(self) -> bool:
        """A visitor without a session did something since the terminal was last taken back (the
        idle timeout ends that visit once: :meth:`end_visit`)."""
        return self._visit_open

    @property
    def card_left(self) -> bool:
        """A citizen's card is still on its reader and nobody is in session: the card of a session
        that ended (done, an error, the timeout) while it stayed. The reader does not read it again
        until it is lifted, and reading it for whoever touches the screen next would show them its
        holder's data: the screens ask to take the card, or to lift it and place it again."""
        return self.state is SessionState.IDLE and bool(self._cards_read)

    def card_forgotten_s(self) -> int | None:
        """Seconds the card left behind has lain on its reader once staff were alerted of it
        (:data:`CARD_FORGOTTEN_S`), else None: for the maintenance screen and telemetry (presence
        and time only, never whose card)."""
        left_at = self._left_at
        if not (self._forgotten and self.card_left and left_at is not None):
            return None
        return int(self.clock.monotonic() - left_at)

    def effective_timeout_s(self) -> float:
        """The inactivity timeout that applies now."""
        return self.elder_timeout_s if self.elder_mode or self.senior else self.timeout_s

    def remaining_s(self) -> float:
        """Seconds before the session ends for inactivity."""
        return max(0.0, self.effective_timeout_s() - (self.clock.monotonic() - self._last_activity))

    def countdown_visible(self) -> bool:
        """True in the last :data:`COUNTDOWN_S` seconds of an active session."""
        return self.state is SessionState.ACTIVE and self.remaining_s() <= COUNTDOWN_S

    # -- changes ----------------------------------------------------------------------------------
    def begin(self, citizen: Citizen) -> str:
        """Start a session for ``citizen`` (ending any previous one); returns the session id."""
        with self._lock:
            if self._citizen is not None:
                self.end(EndReason.REPLACED)
            self._citizen = citizen
            self._session_id = uuid.uuid4().hex[:12]
            SENSITIVE.add(citizen.name, privacy.mask_name)
            SENSITIVE.add(citizen.address, privacy.mask_address)
            age = citizen.age(self.clock.today())
            self.senior = age is not None and age >= self.elder_age
            self._last_activity = self.clock.monotonic()
            sid = self._session_id
        log.info("session started", extra={"session": sid, "source": citizen.source,
                                           "elder": self.elder_mode, "senior": self.senior})
        self.bus.publish("session.started", {"session": sid, "elder": self.elder_mode, "senior": self.senior},
                         source="session")
        return sid

    def begin_keypad(self, number: str) -> str:
        """Start a session with an ID number typed on the keypad when it is valid (GB 11643: a
        possible birth date and the right check character); returns "" then, else what is wrong
        and starts nothing: ``"length"`` (not 18 characters) or ``"invalid"``. Such a citizen can
        book, but the central service shows them no appointments (a typed number proves nothing)."""
        number = (number or "").strip().upper()
        if len(number) != ID_LEN:
            return "length"
        if id_number_problem(number):
            return "invalid"
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))  # valid: checked above
        self.begin(Citizen(id_number=number, name="", source="keypad", birth_date=born))
        return ""

    def touch(self) -> None:
        """The citizen did something: restart the inactivity timer."""
        self._last_activity = self.clock.monotonic()
        self._visit_open = True

    def set_language(self, language: str) -> None:
        """Switch the UI language for this visit."""
        self.touch()
        if language != self.language:
            self.language = language
            self.bus.publish("session.language", language, source="session")

    def reset_language(self) -> None:
        """Back to the terminal's language (the next visit, or staff at the maintenance screen)."""
        if self.language != self.default_language:
            self.language = self.default_language
            self.bus.publish("session.language", self.language, source="session")

    def set_elder_mode(self, on: bool) -> None:
        """Turn elder mode on or off (the citizen can switch it off)."""
        self.elder_mode = on
        self.touch()
        self.bus.publish("session.elder", on, source="session")

    def tick(self) -> bool:
        """Check the inactivity timer; end the session if it ran out. True if it ended now. With no
        session, a visitor's visit ends after the same time untouched (:meth:`end_visit`)."""
        if self.state is SessionState.ACTIVE and self.remaining_s() <= 0:
            self.end(EndReason.TIMEOUT)
            return True
        self._check_card_left()
        if self.state is SessionState.IDLE and self._visit_open and self.remaining_s() <= 0:
            self.end_visit()
        return False

    def _check_card_left(self) -> None:
        """Alert staff once when the card left behind stays past :data:`CARD_FORGOTTEN_S`."""
        with self._lock:
            left_at = self._left_at
            if self._forgotten or left_at is None or not self.card_left:
                return
            left_s = self.clock.monotonic() - left_at
            if left_s < CARD_FORGOTTEN_S:
                return
            self._forgotten = True
            roles_left = sorted(self._cards_read)
        log.warning("card forgotten on the reader", extra={"roles": roles_left, "left_s": int(left_s)})
        self.bus.publish("session.card_forgotten", {"left": True, "roles": roles_left, "left_s": int(left_s)},
                         source="session")

    def end_visit(self) -> None:
        """A visitor who never identified has gone (untouched for the timeout that applies, the
        elder one while elder mode is on): the terminal's language, standard type, and
        ``session.idle`` once, so the screen goes home. Why here and not in the app: this is
        the one owner of the inactivity timer, and the explorer's held clock moves it alone."""
        with self._lock:
            if self._citizen is not None:
                return   # a session started meanwhile: its own timeout applies
            self._visit_open = False
            elder, self.elder_mode = self.elder_mode, False
        log.info("visit ended without a session", extra={"reason": EndReason.TIMEOUT.value, "elder": elder})
        self.reset_language()
        self.bus.publish("session.idle", {"reason": EndReason.TIMEOUT.value}, source="session")

    def end(self, reason: EndReason = EndReason.DONE) -> None:
        """End the session and wipe the citizen's data from this object and the log redactor."""
        with self._lock:
            citizen, sid = self._citizen, self._session_id
            self._citizen = None
            self._session_id = None
            if citizen is not None:
                # The redactor keeps the values only while the session lives.
                SENSITIVE.discard(citizen.name)
                SENSITIVE.discard(citizen.address)
                citizen.id_number = citizen.name = citizen.address = ""
                citizen.birth_date = None
                citizen.citizen_ref = None
                citizen.extra.clear()
            elder = self.elder_mode
            self.elder_mode = self.senior = False
            card_left = self.card_left
            if card_left and self._left_at is None:
                # since when (a card left earlier, by another session, keeps its own time and alert)
                self._left_at, self._forgotten = self.clock.monotonic(), False
            if reason is EndReason.TIMEOUT:
                # Untouched for the whole timeout: the visit ended with it (its notice goes home by
                # itself). Any other end leaves the visit to the idle time: a card taken while staff
                # had the maintenance screen open left it open, untouched, for good (explorer seed 4).
                self._visit_open = False
        if sid is not None:
            log.info("session ended", extra={"session": sid, "reason": reason.value})
            # The language the citizen was reading in: an end-of-session message is shown in it.
            # card_left: the card stayed on the reader (the screen asks to take it); elder: the type
            # size the citizen was reading in, like the language, for a message shown at the end.
            self.bus.publish("session.ended", {"session": sid, "reason": reason.value, "language": self.language,
                                               "elder": elder, "card_left": card_left}, source="session")
        self.reset_language()  # after session.ended: the screens are wiped before they redraw

    def close(self) -> None:
        """Unsubscribe from the bus (runtime shutdown)."""
        for unsub in self._subs:
            unsub()

    # -- device events -----------------------------------------------------------------------------
    def _on_card_read(self, source: str) -> Handler:
        def on_read(event: Event) -> None:
            citizen = citizen_from_read(event.data, source)
            if citizen is not None:
                self._cards_read.add(source)
                self.begin(citizen)
        return on_read

    def _on_card_removed(self, source: str) -> Handler:
        def on_removed(event: Event) -> None:
            with self._lock:
                was_left = self.card_left
                self._cards_read.discard(source)
                left = self.card_left
                alerted = self._forgotten and was_left and not left
                if not self._cards_read:   # the last card on a reader went: nothing left behind
                    self._left_at, self._forgotten = None, False
            c = self._citizen
            if c is not None and c.source == source:
                self.end(EndReason.CARD_REMOVED)
            elif was_left and not left:
                # the card left behind was taken: the screens stop asking for it, and staff alerted
                # of it learn that it went (alerted: the alert is over)
                if alerted:
                    log.info("forgotten card taken from the reader")
                self.bus.publish("session.card_left", {"left": False, **({"alerted": True} if alerted else {})},
                                 source="session")
        return on_removed

    def _on_scan(self, event: Event) -> None:
        self.touch()


def citizen_from_read(data: Any, source: str) -> Citizen | None:
    """The citizen a card read identifies: a card's profile fields (a mapping: a PC/SC card) or an
    ID card's Identity; None for a card that identifies nobody (a staff card)."""
    if isinstance(data, Mapping):
        return citizen_from_card_data(data, source)
    return None if data is None else citizen_from_identity(data, source)


def citizen_from_card_data(data: Any, source: str = "smartcard") -> Citizen | None:
    """A :class:`Citizen` from a PC/SC card's fields (social-security profile: the social security
    number is the citizen's ID number); None for a card that identifies nobody (e.g. a staff card)."""
    if not isinstance(data, Mapping):
        return None
    id_number = str(data.get("social_security_number") or "").strip().upper()
    name = str(data.get("name") or "").strip()
    if not id_number or not name:
        return None
    birth = data.get("birth_date")
    return Citizen(id_number=id_number, name=name, source=source,
                   birth_date=birth if hasattr(birth, "year") else None,
                   sex=str(data.get("gender") or ""), card_type="social_security")
