"""Friendly message screens: errors, timeout, help, staff called, no appointment, offline.

Errors are explained by their ``code`` (and a Rejected's ``error_code``): what happened and what
to do, in the session's language, never a traceback or a technical reason.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from kivy.clock import Clock
from kivy.properties import StringProperty

from kiosk.screens.base import KioskScreen

log = logging.getLogger("kiosk.screens.message")


def N_(msgid: str) -> str:
    """Mark a message id for extraction (translated where it is shown)."""
    return msgid


#: Error code -> (title, what to do). Rejected errors are looked up as "rejected.<error_code>".
ERRORS = {
    "network.offline": (N_("The network is down"), N_("This service needs the network. Please try again later or ask at a window.")),
    "network.timeout": (N_("No answer yet"), N_("The central service did not answer in time. Please try again.")),
    "network.outbox_full": (N_("The system is busy"), N_("Please ask at a window.")),
    "storage": (N_("This terminal cannot save your request"), N_("Your request was not sent. Please ask at a window; staff have been alerted.")),
    "rejected.too_early": (N_("Check-in is not open yet"), N_("Check-in for your appointment is not open yet. Please come back closer to its time.")),
    "rejected.too_late": (N_("Check-in has closed"), N_("Your appointment time has passed. Take a walk-in ticket or ask the staff.")),
    "rejected.not_found": (N_("Not found"), N_("Please check the number and try again.")),
    # An appointment the central service finds none of for this citizen: unknown, or not theirs
    # (one answer for both, so that ids cannot be probed); the citizen typed no number here.
    "rejected.not_found.appointment": (N_("Appointment not found"), N_(
        "We found no such appointment for you. Please check your booking slip, or ask the staff.")),
    "rejected.no_capacity": (N_("Fully booked"), N_("Please choose another time or day.")),
    "rejected.closed": (N_("Not available"), N_("The appointment was cancelled or the service is closed today.")),
    "session.not_identified": (N_("Please identify first"), N_("Place your ID card on the reader.")),
    "session.unknown_code": (N_("This code is not recognised"), N_("Scan the QR code on your booking slip, or place your ID card on the reader.")),
    "rejected.conflict": (N_("Already booked"), N_("You already have a booking for this service on that day.")),
    "rejected.invalid": (N_("The details were not accepted"), N_("Please check what you entered, or ask the staff.")),
    "rejected.forbidden": (N_("Not available to you here"), N_("This cannot be done at this terminal. Please ask the staff.")),
    # A priority walk-in the central service refused (the walk-in screen offers the line only to
    # whom it is for: this shows when the terminal and the central service judge an age differently).
    "rejected.forbidden.walkin": (N_("This line is for older citizens"), N_(
        "The priority line is for citizens of its age who identified with their ID card. Please choose another line.")),
    "rejected.not_finished": (N_("Not finished yet"), N_("This application is still being processed. You can rate it once it is finished.")),
    # A rating of an application that is unknown or not proven to be this citizen's (one answer
    # for both, so that numbers cannot be probed).
    "rejected.not_found.application": (N_("Application not found"), N_(
        "We found no such application of yours. To rate it, scan the QR code on its receipt or place your ID card on the reader.")),
    "rejected.internal": (N_("The central service had a problem"), N_("Nothing was saved. Please try again in a moment, or ask the staff.")),
    "printer.cover_open": (N_("The printer cover is open"), N_("Staff have been alerted.")),
    "printer.paper_out": (N_("The printer is out of paper"), N_("Staff have been alerted.")),
    "device": (N_("A device is not working"), N_("Staff have been alerted. Please ask at a window.")),
}
DEFAULT_ERROR = (N_("Something went wrong"), N_("Please try again or ask the staff for help."))
#: Message kinds that are not errors: (title, body).
KINDS = {
    "timeout": (N_("Your session has ended"), N_("For your privacy the session ended after no activity. Touch Home to start again.")),
    "help": (N_("Help"), N_("Touch one of the large buttons. To check in, place your ID card on the reader. Staff will help you if you touch Call staff.")),
    "staff_called": (N_("Staff are on their way"), N_("Please stay at the terminal; a member of staff is coming to help you.")),
    "no_appointment": (N_("No appointment today"), N_("We found no appointment for you today. You can take a walk-in ticket instead.")),
    "unavailable": (N_("Not available at this terminal yet"), N_("Please book at a window or on the city's online service portal.")),
    "offline": (N_("The network is down"), N_("The service guide still works. Check-in, progress and booking need the network.")),
    # The check-in window's times are the central service's (checkin_from / checkin_until, from its
    # one rule); these texts name the time ({detail}), never the rule's minutes again.
    "too_early": (N_("Check-in is not open yet"), N_("Check-in opens at {detail}. Please come back then.")),
    "too_late": (N_("Check-in has closed"), N_("Check-in closed at {detail}. Take a walk-in ticket or ask the staff.")),
    "unknown_code": (N_("This code is not recognised"), N_("Scan the QR code on your booking slip, or place your ID card on the reader.")),
    "card_removed": (N_("Your card was removed"), N_("For your privacy the session has ended and nothing of it was kept. Place your card again to start over.")),
    # Booking another service at a time the citizen already holds ({detail}: that booking's service
    # and time); Back goes to the times.
    "time_clash": (N_("You already have a booking at that time"), N_(
        "You booked {detail}. Nobody can be at two windows at once: please choose another time.")),
    # A session ended (done, an error's way home) with its card still on the reader: the reader
    # reads a card once per placing, and the next person must not find it there.
    "take_card": (N_("Please take your card"), N_("Your session has ended. Please take your card from the reader.")),
    # A walk-in line this citizen cannot take (the priority line: kiosk.screens.walkin.WHY in {detail}).
    "line_not_open": (N_("This line is not open to you"), N_("{detail}. Please choose another line, or ask the staff.")),
    # A walk-in line that needs a card's proof of age, asked of a citizen identified otherwise (a
    # typed number): not "not open to you" (a cold try told an eligible 68-year-old that). {detail}:
    # kiosk.screens.identify.CARD_ONLY; a card placed here goes on with the line (card_replacing_goes).
    "line_needs_card": (N_("Your ID card is needed"), N_(
        "{detail} Place your ID card on the reader below the screen, or insert your social security card: "
        "the ticket for this line follows.")),
    "queue_ticket": (N_("This is a queue ticket"), N_("Wait for your number on the hall's screens. Scan the code with your phone to follow the queue.")),
}
#: The optional second button: action -> its label.
ACTIONS = {"walkin": N_("Take a walk-in ticket"), "reprint": N_("Print my booking slip again"),
           "retry": N_("Try again")}
#: Errors after which the same request may simply be sent again (the central service did not answer
#: in time): the screen that asked passes ``retry``, and the message offers it beside its way back.
RETRYABLE = ("network.timeout",)
#: Message kinds that go home by themselves: the citizen has gone (or is going), the next one
#: must find the home screen.
AUTO_HOME_KINDS = ("timeout", "card_removed", "take_card")
#: The timeout screen goes home by itself after this long (s) so the next citizen finds the home screen.
#: Measured on the runtime's clock, like the session timeout it follows: a tour or the explorer
#: that holds or advances that clock decides when it happens (never a race with a slow frame).
AUTO_HOME_S = 8.0
#: How often the timeout screen looks at the runtime's clock (s).
AUTO_HOME_POLL_S = 0.25


#: Operations whose ``not_found`` is about an appointment (``rejected.not_found.appointment``).
APPOINTMENT_OPS = ("checkin", "appointment.cancel")
#: (error code, operation) -> the ERRORS key of a text about that operation in particular.
BY_OPERATION = {("not_found", "feedback.submit"): "rejected.not_found.application",
                ("forbidden", "ticket.walkin"): "rejected.forbidden.walkin",
                **{("not_found", op): "rejected.not_found.appointment" for op in APPOINTMENT_OPS}}


def error_key(exc: BaseException) -> str:
    """The ERRORS key for ``exc``."""
    code = getattr(exc, "code", "")
    if code == "network.rejected":
        error_code = getattr(exc, "error_code", "")
        return BY_OPERATION.get((error_code, getattr(exc, "op", "")), "rejected." + error_code)
    if code in ERRORS:
        return code
    return "device" if code.startswith("device") or code.startswith("printer") else code


class MessageScreen(KioskScreen):
    """Title, explanation and at most two buttons."""

    kind = StringProperty("error")
    title_id = StringProperty("")
    body_id = StringProperty("")
    action = StringProperty("")        # "", or one of ACTIONS
    back = StringProperty("home")
    code = StringProperty("")
    detail = StringProperty("")        # a time or number the body text shows ({detail})
    _retry: Callable[[], None] | None = None
    #: How the asking screen words ``detail`` in the language of the moment (a service's name, a
    #: date), called again on a language switch; None for a detail that reads the same in both.
    _detail_fn: Callable[[], str] | None = None

    def prepare(self, kind: str = "error", error: BaseException | None = None, back: str = "home",
                detail: str | Callable[[], str] = "", action: str = "", retry: Callable[[], None] | None = None,
                **_) -> None:
        """Show a message of ``kind`` (for errors: about ``error``), with the second button
        ``action`` (one of ACTIONS) when given; ``retry``: how the screen that asked sends the same
        request again (offered as "Try again" after an error of RETRYABLE). ``detail``: a text, or
        a function that words it in the session's language of the moment: a detail that names a
        service or a date must follow a language switch made on the message (before, the held
        booking's service and a slip's date stayed in the language they were first shown in)."""
        self._detail_fn = detail if callable(detail) else None
        self.kind, self.back, self.action = kind, back, ""
        self.detail = detail() if callable(detail) else detail
        self._retry = None
        if kind == "error":
            key = error_key(error) if error is not None else ""
            self.code = key
            self.title_id, self.body_id = ERRORS.get(key, DEFAULT_ERROR)
            if key == "rejected.too_late":
                self.action = "walkin"
            elif key in RETRYABLE and retry is not None:
                self.action, self._retry = "retry", retry
            if key == "rejected.too_early" and detail:
                # a booking slip scanned before its time: the day and time it is for (CheckinCodeScreen)
                self.body_id = N_("This booking is for {detail}. Please come back then.")
            elif key == "rejected.conflict" and detail:
                # the booking of this service the citizen already holds: its day and time (a cold
                # try: "Already booked" said neither; only the reprinted slip did)
                self.body_id = N_("You already have a booking for this service: {detail}. You can print its slip again.")
            log.info("error shown", extra={"code": key, "error": type(error).__name__})
        else:
            self.code = kind
            self.title_id, self.body_id = KINDS[kind]
            if kind in ("no_appointment", "too_late"):
                self.action = "walkin"
        if action in ACTIONS:
            self.action = action
        if kind in AUTO_HOME_KINDS:
            # On the runtime's clock (a tour or the explorer may hold it); a scripted tour may hold
            # the message longer (it photographs it; see tour.TourRunner).
            wait = getattr(self.app, "auto_home_s", None) or AUTO_HOME_S
            self._home_at = self.services.sessions.clock.monotonic() + wait
            if getattr(self, "_auto_ev", None) is None:
                self._auto_ev = Clock.schedule_interval(self._auto_home, AUTO_HOME_POLL_S)

    def _auto_home(self, dt) -> bool:
        if not (self.manager and self.manager.current == self.name and self.kind in AUTO_HOME_KINDS):
            self._auto_ev = None   # left already (tapped, or another message): nothing to do
            return False
        if self.services.sessions.clock.monotonic() < self._home_at:
            return True
        self._auto_ev = None
        self.app.guard_touches("message " + self.kind)   # a tap meant for this message lands on nothing
        self.app.go("home")
        return False

    def card_replacing_goes(self) -> str:
        """A card placed on the message asking for it: the identify screen reads it, and its
        session goes on with the walk-in line (the app's pending flow), not home and check-in."""
        return "identify" if self.kind == "line_needs_card" else ""

    def go_back(self) -> None:
        """The back button: home (ends the session), or the screen the message came from."""
        if self.back == "home":
            self.app.home()
        else:
            self.app.go(self.back)

    def do_action(self) -> None:
        """The optional second button."""
        if self.action == "retry":
            retry, self._retry = self._retry, None
            if retry is not None:
                retry()   # a fresh request with the same data; its answer (or error) navigates
        elif self.action == "walkin":
            self.app.go("walkin")
        elif self.action == "reprint":
            self.app.go("book_done", existing=True)


    def on_lang(self) -> None:
        """A detail worded by the asking screen is worded again in the new language."""
        if self._detail_fn is not None:
            self.detail = self._detail_fn()

    def wipe(self) -> None:
        # both hold the asking screen's data (a citizen's request or booking, in a closure)
        self._retry = self._detail_fn = None


SCREENS = {"message": MessageScreen}
