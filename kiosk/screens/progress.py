"""Application progress: the citizen's applications (identified) or one by number (keypad/QR),
with its four-level timeline village -> township -> county -> city, days left (green/yellow/red)
and where to collect the result.
"""
from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.screens import theme
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_
from kiosk.screens.widgets import KLabel

#: The four levels in the order a file moves up (the timeline reads left to right).
LEVELS = ("village", "township", "county", "city")
from kiosk.screens.guide import LEVEL_NAMES  # noqa: E402  (one table of level names)


class ProgressScreen(KioskScreen):
    """Number entry, then the timeline of one application."""

    holds_citizen_data = True
    status = StringProperty("entry")      # entry | loading | shown
    flag = StringProperty("green")
    spoken_prompt = "Type your application number, or scan the code on your receipt."

    def prepare(self, application_no: str = "", **_) -> None:
        """Show the entry; load the citizen's applications or ``application_no``."""
        self.wipe()
        if application_no:
            self.lookup(application_no)
        elif self.services.sessions.citizen is not None:
            self.status = "loading"
            run_async(self.services.progress.my_applications, on_done=lambda apps: self._show(apps[0] if apps else None),
                      on_error=self.app.show_error, name="kiosk-ui-progress")

    def lookup(self, number: str | None = None) -> None:
        """Look up the typed (or scanned) application number."""
        number = number or "ZM" + self.ids.keypad.value
        self.status = "loading"
        run_async(self.services.progress.by_number, number, on_done=self._show,
                  on_error=lambda e: self.app.show_error(e, back="progress"), name="kiosk-ui-progress")

    def on_scan(self, text: str) -> None:
        """A receipt's QR code."""
        self.lookup(text.strip())

    def _show(self, app_: dict | None) -> None:
        if not app_:
            self.status = "entry"
            return
        self.status, self.flag = "shown", app_.get("flag", "green")
        days = app_.get("days_left", 0)
        self.ids.summary.text = "\n".join([
            f"{app_.get('item_name', '')}  ({app_.get('application_no', '')})",
            self.tr("Now at: {agency}").format(agency=app_.get("current_agency", "")),
            self.tr("Promised by {d}: {n} working days left").format(d=app_.get("promised_deadline", ""), n=days)
            if days >= 0 else self.tr("Overdue by {n} days: staff have been told").format(n=-days),
            self.tr("Collect the result at: {place}").format(place=app_.get("collect_at", ""))])
        box = self.ids.timeline
        box.clear_widgets()
        steps = {s.get("level"): s for s in app_.get("steps", [])}
        for level in LEVELS:
            s = steps.get(level, {})
            mark = {"done": "✓", "current": "●"}.get(s.get("status"), "○")
            lbl = KLabel(text=f"{mark} {self.tr(LEVEL_NAMES[level])}\n{s.get('agency', '')}\n{s.get('action', '')} {s.get('at', '')}",
                         halign="center")
            lbl.color = theme.PRIMARY if s.get("status") == "current" else theme.TEXT
            box.add_widget(lbl)

    def wipe(self) -> None:
        self.status = "entry"
        if "keypad" in self.ids:
            self.ids.keypad.clear()
            self.ids.summary.text = ""
            self.ids.timeline.clear_widgets()


SCREENS = {"progress": ProgressScreen}
