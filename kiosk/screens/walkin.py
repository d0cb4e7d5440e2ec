"""Walk-in ticket: choose a business line -> a queue number (identification optional).

The priority line (老年人优先) is for an identified citizen of its age (services.walkin.offers):
open to them; with nobody identified a tap asks for the ID card first (it opens identification and
comes back here); otherwise it stays on the list, in the secondary colour, and a tap says why. A
citizen who tapped it, identified, and still may not take it (a typed number, or too young) is told
why at once on coming back, not left in front of a greyed line (a cold try)."""
from __future__ import annotations

import functools

from kivy.clock import Clock

from kiosk.screens import theme
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_
from kiosk.screens.widgets import KButton

#: Why a priority line is not open to this citizen (services.walkin.offers), said when it is tapped;
#: {n}: its age. (An offer of "identify" is done, not said: the tap opens identification.)
WHY = {"card": N_("Only with your ID card: a typed number does not prove who you are"),
       "age": N_("For citizens aged {n} and over")}


class WalkinScreen(KioskScreen):
    """The business lines as large buttons."""

    spoken_prompt = N_("Choose the kind of business you came for.")
    #: The line whose tap sent the citizen to identify (its code), until they come back.
    _asked: str | None = None

    def prepare(self, **_) -> None:
        """List the lines (from the catalogue cache: works offline)."""
        box = self.ids.lines
        box.clear_widgets()
        asked, self._asked = self._asked, None
        for i, line in enumerate(self.services.walkin.offers(self.app.lang)):
            offer = line.get("offer", "open")
            # The name alone on the button, the reason a tap away: name and reason on the button
            # took four lines in English large type and spilled out of it (the layout check).
            b = KButton(text=line["name"], tour_id=f"line_{i}", font_ref=theme.FONT_HEAD,
                        kind="primary" if offer in ("open", "identify") else "secondary")
            if offer == "identify":  # identification first, then back here with the citizen known
                b.bind(on_release=lambda btn, code=line["code"]: self._identify_for(code))
            elif offer in WHY:  # not for this citizen: say why, and come back to the lines
                # (a function: the reason is worded again if the citizen switches language on the message)
                why = functools.partial(self._why, WHY[offer], line.get("age", ""))
                b.bind(on_release=lambda btn, why=why: self._say_why(why))
                if asked == line["code"] and self.services.sessions.citizen is not None:
                    # Back from identifying for this very line, and it is still not theirs: say so
                    # now. On the next frame: this runs inside go("walkin"), which shows this screen last.
                    Clock.schedule_once(lambda dt, why=why: self._say_why(why, only_if_shown=True), 0)
            else:
                b.bind(on_release=lambda btn, code=line["code"]: self.take(code))
            box.add_widget(b)

    def _identify_for(self, code: str) -> None:
        self._asked = code
        self.app.start_flow("walkin")

    def _say_why(self, why, only_if_shown: bool = False) -> None:
        if only_if_shown and not (self.manager and self.manager.current == self.name):
            return  # the citizen moved on meanwhile
        self.app.go("message", kind="line_not_open", detail=why, back="walkin")

    def wipe(self) -> None:
        self._asked = None

    def _why(self, msgid: str, age) -> str:
        return self.tr(msgid).format(n=age)

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

    def on_identified(self) -> None:
        """A card placed on this screen: the priority line may be open to its holder now (before,
        the list kept saying "place your ID card" until a tap redrew it: a cold try)."""
        self.prepare()

    def on_lang(self) -> None:
        if self.manager and self.manager.current == self.name:
            self.prepare()


SCREENS = {"walkin": WalkinScreen}
