"""Walk-in ticket: choose a business line -> a queue number (identification optional).

The priority line (老年人优先) is for an identified citizen of its age (services.walkin.offers):
open to them; with nobody identified it asks for the ID card first (the tap opens identification
and comes back here); otherwise it stays on the list, greyed, saying why."""
from __future__ import annotations

from kiosk.screens import theme
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_
from kiosk.screens.widgets import KButton, Tile

#: Why a priority line is not simply open (services.walkin.offers), under its name; {n}: its age.
WHY = {"identify": N_("Place your ID card on the reader first"),
       "card": N_("Only with your ID card: a typed number does not show your age"),
       "age": N_("For citizens aged {n} and over")}


class WalkinScreen(KioskScreen):
    """The business lines as large buttons."""

    spoken_prompt = N_("Choose the kind of business you came for.")

    def prepare(self, **_) -> None:
        """List the lines (from the catalogue cache: works offline)."""
        box = self.ids.lines
        box.clear_widgets()
        for i, line in enumerate(self.services.walkin.offers(self.app.lang)):
            offer = line.get("offer", "open")
            why = self.tr(WHY[offer]).format(n=line.get("age", "")) if offer in WHY else ""
            look = {"tour_id": f"line_{i}", "font_ref": theme.FONT_HEAD, "disabled": offer in ("card", "age"),
                    "kind": "primary" if offer in ("open", "identify") else "secondary"}
            # The reason under the name in smaller type (a Tile): at the name's size, name and
            # reason took four lines in English large type and spilled out of the button.
            b = Tile(title=line["name"], subtitle=why, **look) if why else KButton(text=line["name"], **look)
            if offer == "identify":  # identification first, then back here with the citizen known
                b.bind(on_release=lambda btn: self.app.start_flow("walkin"))
            else:
                b.bind(on_release=lambda btn, code=line["code"]: self.take(code))
            box.add_widget(b)

    def take(self, line: str) -> None:
        """Take a number (in a worker), then print it."""
        walkin = self.services.walkin

        def work():
            result = walkin.take(line)
            return result, walkin.print_ticket(result)
        names = {"item_name": walkin.line_name(line), "item_name_en": walkin.line_name(line, True)}
        run_async(work, on_done=lambda o: self.app.go("ticket", result={**o[0], **names}, printed=o[1], kind="walkin"),
                  on_error=lambda e: self.app.show_error(e, back="walkin", retry=lambda: self.take(line)),
                  name="kiosk-ui-walkin")

    def on_scan(self, scan) -> None:
        """A code scanned here: a booking slip checks in, anything else is explained, never ignored."""
        self.app.handle_code(scan)

    def on_lang(self) -> None:
        if self.manager and self.manager.current == self.name:
            self.prepare()


SCREENS = {"walkin": WalkinScreen}
