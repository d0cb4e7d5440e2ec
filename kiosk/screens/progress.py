"""Application progress: the citizen's applications (identified) or one by number (keypad or the
receipt's QR code), with its four-level timeline village -> township -> county -> city, who
handles it now, days left or overdue (green/yellow/red), where to collect the result; a progress
slip on paper; a finished application can be rated by its citizen: the one identified (the
list comes from their ID) or the holder of its receipt (a signed receipt code scanned). A number
typed on the keypad shows the progress but grants no rating: anyone can type a number.
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, DictProperty, ListProperty, StringProperty

from kiosk.screens import theme
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.guide import LEVEL_NAMES
from kiosk.screens.widgets import KLabel, ListButton

#: The four levels in the order a file moves up (the timeline reads left to right).
LEVELS = ("village", "township", "county", "city")
#: Application numbers as the central service issues them: "SQ" + 18 digits (date, region, serial).
PREFIX, DIGITS = "SQ", 18
#: Statuses of a finished application (the only ones a citizen can rate).
FINISHED = ("done", "rejected")


def receipt_of(payload) -> str:
    """The receipt proof of a scanned application number: the signed receipt code, or on a
    development terminal without a trust root the bare number scanned (the development central
    service issues bare numbers as receipts)."""
    from kiosk.devices import payload as pl
    if payload.detail.get("receipt"):
        return payload.detail["receipt"]
    return "" if pl.verifier_installed() else payload.value


class ProgressScreen(KioskScreen):
    """Number entry (or the citizen's list), then the timeline of one application."""

    holds_citizen_data = True
    status = StringProperty("entry")      # entry | loading | shown
    flag = StringProperty("green")
    application = DictProperty({})
    applications = ListProperty([])
    print_state = StringProperty("")      # "", printed, failed
    #: What proves the citizen's link to the application shown: {"receipt": code} (scanned) or
    #: {"citizen_ref": ref} (identified); empty for a typed number. Sent with a rating.
    proof = DictProperty({})
    #: The application shown is finished and the citizen proved their link: the rate button shows.
    can_rate = BooleanProperty(False)
    spoken_prompt = "Type your application number, or scan the code on your receipt."

    def prepare(self, application_no: str = "", receipt: str = "", **_) -> None:
        """Show the entry; load the citizen's applications or ``application_no`` (scanned from
        ``receipt`` when given)."""
        self.wipe()
        if application_no:
            self.lookup(application_no, receipt=receipt)
        elif self.services.sessions.citizen is not None:
            self.status = "loading"
            run_async(self.services.progress.my_applications, on_done=self._listed,
                      on_error=self.app.show_error, name="kiosk-ui-progress")

    def lookup(self, number: str | None = None, receipt: str = "") -> None:
        """Look up the typed (or scanned, with its ``receipt`` code) application number."""
        number = number or PREFIX + self.ids.keypad.value
        self.proof = {"receipt": receipt} if receipt else {}
        self.status = "loading"
        run_async(self.services.progress.by_number, number, on_done=self._show,
                  on_error=lambda e: self.app.show_error(e, back="progress"), name="kiosk-ui-progress")

    def on_scan(self, payload) -> None:
        """A receipt's QR code (an application number); other codes go to the app's router."""
        if payload.kind == "application_number":
            self.lookup(payload.value, receipt=receipt_of(payload))
        else:
            self.app.handle_code(payload)

    def _listed(self, apps: list[dict]) -> None:
        self.applications = apps
        box = self.ids.app_list
        box.clear_widgets()
        for i, a in enumerate(apps):
            b = ListButton(text=f"{a.get('item_name', '')}\n{a.get('application_no', '')}", kind="secondary",
                           tour_id=f"app_{i}", height_ref=96)
            b.bind(on_release=lambda btn, a=a: self._show(a, mine=True))
            box.add_widget(b)
        if apps:
            self._show(apps[0], mine=True)
        else:
            self.status = "entry"

    def _show(self, app_: dict | None, mine: bool = False) -> None:
        if not app_:
            self.status = "entry"
            return
        if mine:  # listed from the identified citizen's own applications
            self.proof = {"citizen_ref": self.services.checkin.citizen_ref()}
        # Why not keep the receipt code: it is the citizen's proof; the screen keeps only the view.
        self.application, self.print_state = {k: v for k, v in app_.items() if k != "receipt_code"}, ""
        self.can_rate = app_.get("status") in FINISHED and bool(self.proof)
        self.status, self.flag = "shown", app_.get("flag", "green")
        self._render()

    def _render(self) -> None:
        a = self.application
        if not a:
            return
        days = a.get("days_left", 0)
        if a.get("status") == "done":
            when = self.tr("Finished: the result is ready")
        elif days >= 0:
            when = self.tr("Promised by {d}: {n} working days left").format(d=a.get("promised_deadline", ""), n=days)
        else:
            when = self.tr("Overdue by {n} days: staff have been told").format(n=-days)
        lines = [f"{a.get('item_name', '')}  {a.get('application_no', '')}",
                 self.tr("Now at: {agency}").format(agency=a.get("current_agency", "")), when,
                 self.tr("Collect the result at: {place}").format(place=a.get("collect_at", ""))]
        if a.get("status") in FINISHED and not self.can_rate:
            lines.append(self.tr("To rate this service, scan the QR code on your receipt or place your ID card."))
        self.ids.summary.text = "\n".join(lines)
        box = self.ids.timeline
        box.clear_widgets()
        steps = {s.get("level"): s for s in a.get("steps", [])}
        for level in LEVELS:
            s = steps.get(level)
            if s is None:
                text, colour = f"—  {self.tr(LEVEL_NAMES[level])}\n" + self.tr("not involved"), theme.MUTED
            else:
                mark = {"done": "✓", "current": "●"}.get(s.get("status"), "○")
                state = {"done": self.tr("done"), "current": self.tr("handling now")}.get(s.get("status"), self.tr("to come"))
                text = f"{mark} {self.tr(LEVEL_NAMES[level])} · {state}\n{s.get('agency', '')}\n{s.get('action', '')}"
                colour = theme.PRIMARY if s.get("status") == "current" else theme.TEXT
            lbl = KLabel(text=text, halign="center", font_ref=theme.FONT_SMALL, color=colour)
            box.add_widget(lbl)

    def print_slip(self) -> None:
        """Print the progress slip of the application shown."""
        if not self.application:
            return
        run_async(self.services.progress.print_slip, dict(self.application),
                  on_done=lambda o: setattr(self, "print_state", "printed" if o.printed else "failed"),
                  on_error=lambda e: setattr(self, "print_state", "failed"), name="kiosk-ui-progress-slip")

    def rate(self) -> None:
        """Rate the finished application shown."""
        if not self.can_rate:
            return
        self.app.go("feedback", mode="rate", application_no=self.application.get("application_no", ""),
                    item_name=self.application.get("item_name", ""), proof=dict(self.proof))

    def on_lang(self) -> None:
        self._render()

    def wipe(self) -> None:
        self.status, self.application, self.applications, self.print_state = "entry", {}, [], ""
        self.proof, self.can_rate = {}, False
        if "keypad" in self.ids:
            self.ids.keypad.clear()
            self.ids.summary.text = ""
            self.ids.timeline.clear_widgets()
            self.ids.app_list.clear_widgets()


SCREENS = {"progress": ProgressScreen}
