"""Walk-in ticket: choose a business line -> a queue number (identification optional).

The priority line (老年人优先) is for a citizen whose age a card proves (services.walkin.offers):
open to them; with nobody identified, or identified by a typed number (which proves no age), a tap
asks for the ID card or social security card (identification without the keypad, saying why) and
the card's session comes back here with that line's ticket issued at once (``take``: no second
tap). A card holder too young sees it in the secondary colour, and a tap says why. Coming back for
a line that is still not theirs says why at once, not in front of a greyed line (a cold try); a
card still needed says so (never "not open to you": a cold try told an eligible 68-year-old that),
and a card placed on that message goes on with the line's ticket."""
from __future__ import annotations

import functools

from kivy.clock import Clock

from kiosk.screens import theme
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_
from kiosk.screens.identify import CARD_ONLY
from kiosk.screens.widgets import KButton

#: Why a priority line is not open to this citizen (services.walkin.offers), said when it is tapped;
#: {n}: its age. (Offers of "identify" and "card" are done, not said: the tap asks for the card.)
WHY = {"card": CARD_ONLY, "age": N_("For citizens aged {n} and over")}
#: The message each reason is said in: a card still needed is not a line closed to its holder.
WHY_KIND = {"card": "line_needs_card", "age": "line_not_open"}


class WalkinScreen(KioskScreen):
    """The business lines as large buttons."""

    spoken_prompt = N_("Choose the kind of business you came for.")

    def prepare(self, take: str | None = None, **_) -> None:
        """List the lines (from the catalogue cache: works offline). ``take``: the line a card was
        asked for (KioskApp.start_flow's ``then``): its ticket now if it is open, else why not."""
        box = self.ids.lines
        box.clear_widgets()
        for i, line in enumerate(self.services.walkin.offers(self.app.lang)):
            offer, code, age = line.get("offer", "open"), line["code"], line.get("age", 0)
            # The name alone on the button, the reason a tap away: name and reason on the button
            # took four lines in English large type and spilled out of it (the layout check).
            b = KButton(text=line["name"], tour_id=f"line_{i}", font_ref=theme.FONT_HEAD,
                        kind="primary" if offer in ("open", "identify", "card") else "secondary")
            if offer in ("identify", "card"):  # the card proves the age: identify with it, then the ticket
                b.bind(on_release=lambda btn, code=code, age=age: self._card_for(code, age))
            elif offer in WHY:  # not for this citizen: say why, and come back to the lines
                b.bind(on_release=lambda btn, code=code, offer=offer, age=age:
                       self._say_why(code, offer, age))
            else:
                b.bind(on_release=lambda btn, code=code: self.take(code))
            box.add_widget(b)
            if take != code:
                continue
            # Back from identifying for this very line. On the next frame: this runs inside
            # go("walkin"), which shows this screen last.
            if offer == "open":
                Clock.schedule_once(lambda dt, code=code: self._if_shown(self.take, code), 0)
            elif offer in WHY and self.services.sessions.citizen is not None:
                Clock.schedule_once(lambda dt, code=code, offer=offer, age=age:
                                    self._if_shown(self._say_why, code, offer, age), 0)

    def _if_shown(self, fn, *args) -> None:
        """``fn(*args)`` if this screen is still shown (the citizen may have moved on meanwhile)."""
        if self.manager and self.manager.current == self.name:
            fn(*args)

    def _card_for(self, code: str, age) -> None:
        """Identification by card for line ``code`` (its age proven), then back here with its ticket."""
        self.app.start_flow("walkin", then={"take": code}, card_for=int(age or 0))

    def _say_why(self, code: str, offer: str, age) -> None:
        """Why line ``code`` is not this citizen's (a function: the reason is worded again if the
        citizen switches language on the message). A card still needed: the card placed on the
        message goes on with this line's ticket (the app's pending flow)."""
        if offer == "card":
            self.app.after_identify("walkin", take=code)
        why = functools.partial(self._why, WHY[offer], age)
        self.app.go("message", kind=WHY_KIND[offer], detail=why, back="walkin")

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

    def card_replacing_goes(self) -> str:
        """A card placed on the list over a typed number's session: the list again, redrawn for the
        card's holder (the priority line may be theirs), not home and check-in (a cold try)."""
        return self.name

    def on_identified(self) -> None:
        """A card placed on this screen: the priority line may be open to its holder now (before,
        the list kept saying "place your ID card" until a tap redrew it: a cold try)."""
        self.prepare()

    def on_lang(self) -> None:
        if self.manager and self.manager.current == self.name:
            self.prepare()


SCREENS = {"walkin": WalkinScreen}
