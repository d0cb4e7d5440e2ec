"""Application progress: the citizen's applications (identified) or one by number (keypad or the
receipt's QR code), with its four-level timeline village -> township -> county -> city, who
handles it now, days left or overdue (green/yellow/red), where to collect the result; a progress
slip on paper; a finished application can be rated by its citizen: the one identified (the
list comes from their ID) or the holder of its receipt (a signed receipt code scanned). A number
typed on the keypad shows the progress but grants no rating: anyone can type a number. A card
placed while this screen shows lists the card holder's applications.
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, DictProperty, ListProperty, StringProperty

from kiosk.screens import theme
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_
from kiosk.screens.timeline import Timeline  # noqa: F401  (the kv's Timeline)
from kiosk.screens.widgets import APPLICATION_GROUPS, ListButton, grouped
from kiosk.services import scans
from kiosk.services.tickets import promised_text

#: Application numbers as the central service issues them: "SQ" + 18 digits (date, region, serial).
PREFIX, DIGITS = "SQ", 18
#: Statuses of a finished application (the only ones a citizen can rate).
FINISHED = ("done", "rejected")
#: Before the number of the application shown, in the citizen's list of their applications.
SHOWN_MARK = "▶ "


def _grouped_no(number: str) -> str:
    """An application number as the keypad groups it ("SQ 20261203 410122 0004"): read group by
    group, and a narrow list breaks it between groups instead of inside the digits."""
    if number.startswith(PREFIX):
        return PREFIX + " " + grouped(number[len(PREFIX):], APPLICATION_GROUPS)
    return number


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
    spoken_prompt = N_("Type your application number, or scan the code on your receipt.")

    def prepare(self, application_no: str = "", receipt: str = "", **_) -> None:
        """Show the entry; load the citizen's applications or ``application_no`` (scanned from
        ``receipt`` when given)."""
        self.wipe()
        if application_no:
            self.lookup(application_no, receipt=receipt)
        elif self.services.sessions.citizen is not None:
            self.list_mine()

    def list_mine(self) -> None:
        """Load the identified citizen's applications (the first one is shown)."""
        self.status = "loading"
        sid = self.services.sessions.session_id
        # Why back home, not here: this screen lists by itself when it shows to an identified
        # citizen, so "back" to it asked again and failed again (with the network down, an error
        # and its back button in a loop with no way home: the explorer's seed 101).
        run_async(self.services.progress.my_applications, on_done=self._listed,
                  on_error=lambda e: self.app.show_error(e, back="home", retry=lambda: self.app.go("progress")),
                  valid=lambda: sid is not None and self.services.sessions.session_id == sid,
                  name="kiosk-ui-progress")

    def on_identified(self) -> None:
        """A card was placed (or a number typed elsewhere) while this screen shows: list the
        citizen's own applications."""
        self.wipe()
        self.list_mine()

    def lookup(self, number: str | None = None, receipt: str = "") -> None:
        """Look up the typed (or scanned, with its ``receipt`` code) application number."""
        number = number or PREFIX + self.ids.keypad.value
        self.proof = {"receipt": receipt} if receipt else {}
        self.status = "loading"
        run_async(self.services.progress.by_number, number, on_done=self._show,
                  on_error=lambda e: self.app.show_error(e, back="progress", retry=lambda: self.app.go(
                      "progress", application_no=number, receipt=receipt)), name="kiosk-ui-progress")

    def on_scan(self, scan) -> None:
        """A receipt's QR code (an application number, with the receipt as proof when it is one);
        other codes go to the app's router."""
        if scan.leads_to == scans.APPLICATION:
            self.lookup(scan.value, receipt=scan.receipt)
        else:
            self.app.handle_code(scan)

    def _listed(self, apps: list[dict]) -> None:
        self.applications = apps
        self._fill_list()
        if apps:
            self._show(apps[0], mine=True)   # the first one marked
        else:
            self.status = "entry"

    def _fill_list(self) -> None:
        box = self.ids.app_list
        box.clear_widgets()
        for i, a in enumerate(self.applications):
            # small type: the list is a third of the row and the summary repeats the name in body
            # type; a long name (城乡居民基本养老保险参保登记) then keeps to one line
            b = ListButton(kind="secondary", tour_id=f"app_{i}", height_ref=96, font_ref=theme.FONT_SMALL)
            b.bind(on_release=lambda btn, a=a: self._show(a, mine=True))
            box.add_widget(b)
        self._mark_shown()

    def _mark_shown(self) -> None:
        """Name and number on each button of the list; the application shown beside it marked
        twice, by colour and by a sign (a colour alone does not reach everyone): a cold try found
        no way to tell which one was shown."""
        current = self.application.get("application_no")
        buttons = {b.tour_id: b for b in self.ids.app_list.children}
        for i, a in enumerate(self.applications):
            b = buttons.get(f"app_{i}")
            if b is None:
                continue
            no = a.get("application_no", "")
            mark = SHOWN_MARK if no == current else ""
            # the sign before the number, not the name: before the name it pushed a long one
            # (城乡居民基本养老保险参保登记) onto two lines, broken inside a word in large type
            b.text = f"{self.loc(a).get('item_name', '')}\n{mark}{_grouped_no(no)}"
            b.kind = "primary" if mark else "secondary"

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
        if self.applications:
            self._mark_shown()   # the mark moves to the application shown
        self._render()

    def _render(self) -> None:
        if not self.application:
            return
        # The promised completion date always shows (as on the slip), with what is left of it.
        a = self.loc(self.application)  # kept as it came (both languages); drawn in the session's
        # the number on a line of its own: after the name it wrapped between its groups
        lines = [a.get("item_name", ""), _grouped_no(a.get("application_no", "")),
                 self.tr("Now at: {agency}").format(agency=a.get("current_agency", "")),
                 promised_text(a, self.tr)]
        if a.get("status") == "done":
            lines.append(self.tr("Finished: the result is ready"))
        elif int(a.get("days_left", 0) or 0) < 0:
            lines.append(self.tr("Staff have been told about the delay."))
        lines.append(self.tr("Collect the result at: {place}").format(place=a.get("collect_at", "")))
        if a.get("status") in FINISHED and not self.can_rate:
            lines.append(self.tr("To rate this service, scan the QR code on your receipt or place your ID card."))
        self.ids.summary.text = "\n".join(lines)
        self.ids.timeline.show(a.get("steps", []))

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
                    item_name=self.loc(self.application).get("item_name", ""), proof=dict(self.proof))

    def on_lang(self) -> None:
        if self.applications:
            self._fill_list()
        self._render()

    def wipe(self) -> None:
        self.status, self.application, self.applications, self.print_state = "entry", {}, [], ""
        self.proof, self.can_rate = {}, False
        if "keypad" in self.ids:
            self.ids.keypad.clear()
            self.ids.summary.text = ""
            self.ids.timeline.show([])
            self.ids.app_list.clear_widgets()


SCREENS = {"progress": ProgressScreen}
