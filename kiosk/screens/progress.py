"""Application progress: the citizen's applications (identified) or one by number (keypad or the
receipt's QR code), with its four-level timeline village -> township -> county -> city, who
handles it now, days left or overdue (green/yellow/red), where to collect the result; a progress
slip on paper; a finished application can be rated.
"""
from __future__ import annotations

from kivy.properties import DictProperty, ListProperty, StringProperty

from kiosk.screens import theme
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.guide import LEVEL_NAMES
from kiosk.screens.widgets import KButton, KLabel

#: The four levels in the order a file moves up (the timeline reads left to right).
LEVELS = ("village", "township", "county", "city")
#: Application numbers as the central service issues them: "SQ" + 18 digits (date, region, serial).
PREFIX, DIGITS = "SQ", 18


class ProgressScreen(KioskScreen):
    """Number entry (or the citizen's list), then the timeline of one application."""

    holds_citizen_data = True
    status = StringProperty("entry")      # entry | loading | shown
    flag = StringProperty("green")
    application = DictProperty({})
    applications = ListProperty([])
    print_state = StringProperty("")      # "", printed, failed
    spoken_prompt = "Type your application number, or scan the code on your receipt."

    def prepare(self, application_no: str = "", **_) -> None:
        """Show the entry; load the citizen's applications or ``application_no``."""
        self.wipe()
        if application_no:
            self.lookup(application_no)
        elif self.services.sessions.citizen is not None:
            self.status = "loading"
            run_async(self.services.progress.my_applications, on_done=self._listed,
                      on_error=self.app.show_error, name="kiosk-ui-progress")

    def lookup(self, number: str | None = None) -> None:
        """Look up the typed (or scanned) application number."""
        number = number or PREFIX + self.ids.keypad.value
        self.status = "loading"
        run_async(self.services.progress.by_number, number, on_done=self._show,
                  on_error=lambda e: self.app.show_error(e, back="progress"), name="kiosk-ui-progress")

    def on_scan(self, payload) -> None:
        """A receipt's QR code (an application number); other codes go to the app's router."""
        if payload.kind == "application_number":
            self.lookup(payload.value)
        else:
            self.app.handle_code(payload)

    def _listed(self, apps: list[dict]) -> None:
        self.applications = apps
        box = self.ids.app_list
        box.clear_widgets()
        for i, a in enumerate(apps):
            b = KButton(text=f"{a.get('item_name', '')}\n{a.get('application_no', '')}", kind="secondary",
                        tour_id=f"app_{i}", size_hint_y=None, height=self.app.k * 96)
            b.bind(on_release=lambda btn, a=a: self._show(a))
            box.add_widget(b)
        if apps:
            self._show(apps[0])
        else:
            self.status = "entry"

    def _show(self, app_: dict | None) -> None:
        if not app_:
            self.status = "entry"
            return
        self.application, self.print_state = dict(app_), ""
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
        self.ids.summary.text = "\n".join([
            f"{a.get('item_name', '')}  {a.get('application_no', '')}",
            self.tr("Now at: {agency}").format(agency=a.get("current_agency", "")), when,
            self.tr("Collect the result at: {place}").format(place=a.get("collect_at", ""))])
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
            lbl = KLabel(text=text, halign="center", font_size=self.app.k * theme.FONT_SMALL, color=colour)
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
        self.app.go("feedback", mode="rate", application_no=self.application.get("application_no", ""),
                    item_name=self.application.get("item_name", ""))

    def on_lang(self) -> None:
        self._render()

    def wipe(self) -> None:
        self.status, self.application, self.applications, self.print_state = "entry", {}, [], ""
        if "keypad" in self.ids:
            self.ids.keypad.clear()
            self.ids.summary.text = ""
            self.ids.timeline.clear_widgets()
            self.ids.app_list.clear_widgets()


SCREENS = {"progress": ProgressScreen}
