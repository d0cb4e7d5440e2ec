"""Appointment check-in: today's appointments -> choose one -> confirm -> the queue ticket.

Network calls run in workers (async_call); a result that arrives after the session ended is
dropped. Whether check-in is open yet is the check-in service's answer (CheckinService.window,
from the times the central service sent), shown before confirming; the central service has the
last word (Rejected too_early / too_late), which the message screen explains. No appointment today ->
a walk-in ticket is offered instead.
"""
from __future__ import annotations

import datetime as dt

from kivy.properties import DictProperty, ListProperty, StringProperty

from kiosk.screens import theme
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_
from kiosk.screens.message import error_key
from kiosk.screens.widgets import ListButton
from kiosk.services.checkin import CHECKED_IN, EARLY, LATE


def _session_guard(app):
    sid = app.services.sessions.session_id
    return lambda: sid is not None and app.services.sessions.session_id == sid


class CheckinScreen(KioskScreen):
    """The list of today's appointments (loaded in a worker)."""

    holds_citizen_data = True
    appointments = ListProperty([])
    status = StringProperty("")      # "", loading, loaded
    spoken_prompt = N_("Choose the appointment you came for.")

    def prepare(self, **_) -> None:
        """Load today's appointments of the identified citizen."""
        self.appointments, self.status = [], "loading"
        self._fill()
        run_async(self.services.checkin.appointments_today, on_done=self._loaded,
                  on_error=lambda e: self.app.show_error(e, retry=lambda: self.app.go("checkin")),
                  valid=_session_guard(self.app), name="kiosk-ui-appointments")

    def _loaded(self, appts: list[dict]) -> None:
        self.appointments, self.status = appts, "loaded"
        if not appts:
            self.app.go("message", kind="no_appointment")
            return
        self._fill()

    def _fill(self) -> None:
        box = self.ids.list
        box.clear_widgets()
        for i, a in enumerate(self.appointments):
            line2 = self.tr("{start}-{end}  Window {window}").format(**a)
            window = self.services.checkin.window(a)
            if a.get("status") == CHECKED_IN:
                line2 += "  " + self.tr("(checked in: touch to see your number again)")
            elif window == EARLY:
                line2 += "  " + self.tr("(check-in opens at {t})").format(t=a["checkin_from"])
            elif window == LATE:
                line2 += "  " + self.tr("(check-in closed at {t})").format(t=a["checkin_until"])
            b = ListButton(text=f"{self.loc(a)['item_name']}\n{line2}", tour_id=f"appt_{i}", kind="secondary",
                           height_ref=theme.BUTTON_H * 1.3)
            b.bind(on_release=lambda btn, a=a: self.app.go("checkin_confirm", appointment=a))
            box.add_widget(b)

    def on_lang(self) -> None:
        if self.appointments:
            self._fill()

    def wipe(self) -> None:
        self.appointments, self.status = [], ""
        self.ids.list.clear_widgets()


class CheckinConfirmScreen(KioskScreen):
    """One appointment's details, the early/late rule, and the confirm button."""

    holds_citizen_data = True
    appointment = DictProperty({})
    masked_name = StringProperty("")
    item = StringProperty("")
    start = StringProperty("")
    end = StringProperty("")
    window = StringProperty("")
    rule_text = StringProperty("")
    spoken_prompt = N_("Check the details and touch Confirm.")

    def prepare(self, appointment: dict | None = None, **_) -> None:
        """Show ``appointment``."""
        self.appointment = a = dict(appointment or {})
        self.window = str(a.get("window", ""))
        self.start, self.end = str(a.get("start", "")), str(a.get("end", ""))
        c = self.services.sessions.citizen
        self.masked_name = c.masked_name if c else ""
        self.on_lang()

    def on_lang(self) -> None:
        a = self.appointment
        if a:
            self.item = str(self.loc(a).get("item_name", ""))
            if a.get("status") == CHECKED_IN:
                self.rule_text = self.tr("You have checked in already. Confirm to see your number and print your ticket again.")
                return
            # Where the window stands now (the service's rule), not the window alone: a late citizen
            # read "open ... to 10:15" at 10:19.
            f, u = a.get("checkin_from", ""), a.get("checkin_until", "")
            window = self.services.checkin.window(a)
            if window == EARLY:
                self.rule_text = self.tr("Check-in opens at {f} and closes at {u} today. Please come back then.").format(f=f, u=u)
            elif window == LATE:
                self.rule_text = self.tr("Check-in closed at {u}. Take a walk-in ticket or ask the staff.").format(u=u)
            else:
                self.rule_text = self.tr("Check-in is open now, until {u} today.").format(u=u)

    def confirm(self) -> None:
        """Check in (in a worker), then print the ticket; too early or too late is explained first."""
        appt_id = self.appointment.get("appointment_id")
        if not appt_id:
            return
        # A citizen who is early or late learns it here without a round trip (the service's rule).
        window = self.services.checkin.window(self.appointment)
        if window == EARLY:
            self.app.go("message", kind="too_early", back="checkin",
                        detail=self.appointment.get("checkin_from", ""))
            return
        if window == LATE:
            self.app.go("message", kind="too_late", back="checkin",
                        detail=self.appointment.get("checkin_until", ""))
            return
        checkin = self.services.checkin

        def work():
            result = checkin.check_in(appt_id, self.appointment.get("item_code"))
            return result, checkin.print_ticket(result)
        run_async(work, on_done=self._done, on_error=self._failed, valid=_session_guard(self.app),
                  name="kiosk-ui-checkin")

    def _done(self, outcome) -> None:
        result, printed = outcome
        self.app.go("ticket", result=result, printed=printed, kind="checkin")

    def _failed(self, e: BaseException) -> None:
        self.app.show_error(e, back="checkin", retry=self.confirm)

    def wipe(self) -> None:
        self.appointment, self.masked_name, self.rule_text = {}, "", ""
        self.item = self.start = self.end = self.window = ""


class CheckinCodeScreen(KioskScreen):
    """Check-in with the QR code of a booking slip: no card needed, the code names the appointment."""

    status = StringProperty("")     # working | failed
    _code = ""                      # the slip's code being checked in (sent again by "Try again"; when it is for)
    spoken_prompt = N_("Checking you in. Please wait.")

    def prepare(self, code: str = "", **_) -> None:
        """Check in with ``code`` (in a worker), then show and print the ticket."""
        self.status, self._code = "working", code
        checkin = self.services.checkin

        def work():
            result = checkin.check_in_code(code)
            return result, checkin.print_ticket(result)
        run_async(work, on_done=self._done, on_error=self._failed, name="kiosk-ui-checkin-code")

    def _done(self, outcome) -> None:
        result, printed = outcome
        self.app.go("ticket", result=result, printed=printed, kind="checkin")

    def _failed(self, e: BaseException) -> None:
        self.status = "failed"
        code = self._code
        when = self.services.checkin.slip_time(code) if error_key(e) == "rejected.too_early" else None
        if when:
            # a slip for a later day (or later today): say when it is for, not only "not yet"
            # (a function: the date is worded again if the citizen switches language on the message)
            self.app.go("message", kind="error", error=e,
                        detail=lambda: slip_when(when[0], when[1], self.app.lang, self.tr))
        else:
            self.app.show_error(e, retry=lambda: self.app.go("checkin_code", code=code))

    def wipe(self) -> None:
        self._code = ""


#: English month names (not strftime's %B: that follows the process's C locale).
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def slip_when(day: str, at: str, lang: str, tr) -> str:
    """A booking's day and start as a citizen reads them: "2026年3月19日 09:30", "19 March 2026 at 09:30"."""
    try:
        d = dt.date.fromisoformat(day)
    except ValueError:
        return f"{day} {at}"
    date = f"{d.year}年{d.month}月{d.day}日" if lang.startswith("zh") else f"{d.day} {MONTHS[d.month - 1]} {d.year}"
    return tr("{date} at {time}").format(date=date, time=at)


SCREENS = {"checkin": CheckinScreen, "checkin_confirm": CheckinConfirmScreen, "checkin_code": CheckinCodeScreen}
