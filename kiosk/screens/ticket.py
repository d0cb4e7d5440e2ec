"""The queue ticket on screen: number (large), window, people ahead, and whether it printed.

When the printer failed (out of paper, cover open) the number stays large on screen, the citizen
is asked to note it, and the staff are alerted (a durable ``staff.call`` event). A card pulled
then ends the session (its data goes) but not the number: it stays readable until "Done" or the
idle time (:meth:`TicketScreen.outlives_session`; kiosk.screens.session_end).
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, DictProperty, StringProperty

from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_


class TicketScreen(KioskScreen):
    """A check-in or walk-in result."""

    result = DictProperty({})
    queue_no = StringProperty("")
    window = StringProperty("")
    people_ahead = StringProperty("")
    item = StringProperty("")
    printed = BooleanProperty(False)
    print_error = StringProperty("")
    kind = StringProperty("checkin")
    spoken_prompt = N_("Here is your number. Please wait to be called.")

    def prepare(self, result: dict | None = None, printed=None, kind: str = "checkin", **_) -> None:
        """Show ``result``; ``printed`` is the PrintOutcome."""
        self.result = r = dict(result or {})
        self.queue_no, self.window = str(r.get("queue_no", "")), str(r.get("window", ""))
        self.people_ahead = str(r.get("people_ahead", ""))
        self.on_lang()
        self.kind = kind
        self.printed = bool(getattr(printed, "printed", False))
        err = getattr(printed, "error", None)
        self.print_error = getattr(err, "code", "") if err is not None else ""
        if not self.printed:
            reason = "paper_out" if "paper" in self.print_error else "printer_fault"
            run_async(self.services.staff.call, "ticket", reason, name="kiosk-ui-staff-alert",
                      on_error=lambda e: None)

    def outlives_session(self) -> bool:
        """A number that did not print stays after the card is pulled: the citizen was told to note
        it. It names no citizen (number, window, people ahead, the service)."""
        return bool(self.queue_no) and not self.printed

    def on_lang(self) -> None:
        """The service's (or the walk-in line's) name in the session's language."""
        r = self.loc(self.result) if self.result else {}
        self.item = str(r.get("item_name", "") or r.get("line", ""))

    def wipe(self) -> None:
        self.result, self.printed, self.print_error = {}, False, ""
        self.queue_no = self.window = self.people_ahead = self.item = ""


SCREENS = {"ticket": TicketScreen}
