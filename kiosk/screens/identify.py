"""Identify: place the ID card, insert a card in the PC/SC reader, scan a QR code, or type the
ID number on the on-screen keypad (kiosks have no keyboard).

The card sessions start from the device events (``idcard.identity`` / ``smartcard.read`` ->
SessionManager.begin); this screen shows where each card goes and the reading state. A typed
ID number is checked (GB 11643 date and check character) before it starts a session with source
``keypad``; such a citizen can book, but the central service shows them no appointments (a typed
number is not proof of identity). A scanned code goes to the flow that understands it.

A flow that needs a card's proof of age (the priority walk-in line: ``card_for``, its age) shows
the two cards only, no keypad and no QR code, and says why up front: a cold try typed an eligible
68-year-old's number as the screen offered, and was then told the line was not open to them.
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_

#: What the citizen reads for each refusal of a typed number (kiosk.services.session.begin_keypad).
PROBLEMS = {"length": N_("An ID number has 18 characters."),
            "invalid": N_("This ID number is not valid. Please check it.")}
#: Why only a card will do ({n}: the line's age; the walk-in's priority line, kiosk.screens.walkin).
#: Both cards: services.walkin.offers opens the line to a social security card's birth date too,
#: and the central service checks either against the register.
CARD_ONLY = N_("This line is for citizens aged {n} and over. Your ID card or social security card shows "
               "your age; a typed ID number cannot.")


class IdentifyScreen(KioskScreen):
    """Pictures of where the card goes; 'reading...' while the reader works; the ID keypad."""

    holds_citizen_data = True
    purpose = StringProperty("checkin")
    reading = BooleanProperty(False)
    problem = StringProperty("")
    #: The age a card must prove for the flow (0: any way to identify will do).
    card_for = NumericProperty(0)
    spoken_prompt = N_("Please place your ID card on the reader below the screen.")

    def prepare(self, purpose: str | None = None, reading: bool = False, card_for: int = 0, **_) -> None:
        """Set the flow to continue with (and the age only a card may prove for it), and whether a
        card is being read (a card being read keeps both)."""
        if purpose:
            self.purpose = purpose
            self.app.pending_flow = purpose
            self.card_for = card_for
        self._ways_shown(not self.card_for)
        self.reading = reading
        self.problem = ""
        if not reading and "keypad" in self.ids:
            self.ids.keypad.clear()

    def _ways_shown(self, all_ways: bool) -> None:
        """All four ways to identify and OK, or the two cards only (no keypad, no QR code) and a way
        back to the flow. Taken out of the layout, not hidden: a hidden keypad still took its
        column, and its keys could still be tapped."""
        if not hasattr(self, "_optional"):
            # strong references: ids holds weak proxies, and a widget out of the tree would be freed
            ids = self.ids
            self._optional = [(ids[name].__self__, ids[box].__self__, shown) for name, box, shown in
                              (("qr_way", "ways", True), ("keypad_way", "ways", True), ("id_ok", "buttons", True),
                               ("keypad_col", "columns", True), ("back_flow", "buttons", False))]
        for widget, box, shown in self._optional:
            if all_ways == shown and widget.parent is None:
                box.add_widget(widget)   # at the end: the last card, the right column, the right button
            elif all_ways != shown and widget.parent is not None:
                box.remove_widget(widget)

    def card_notice(self, lang: str) -> str:
        """Why only a card will do here ("" when any way will do)."""
        return self.app.tr(CARD_ONLY, lang).format(n=self.card_for) if self.card_for else ""

    def card_replacing_goes(self) -> str:
        """A card placed here over a typed number's session: read here, and its session goes on
        with the pending flow (the walk-in line that asked for the card)."""
        return self.name

    def submit_number(self) -> None:
        """Start a session with the typed ID number when it is valid; say what is wrong if not."""
        number = self.ids.keypad.value
        problem = self.services.sessions.begin_keypad(number)   # the session starts here when valid
        self.problem = PROBLEMS.get(problem, "")
        if not problem:
            self.ids.keypad.clear()

    def on_scan(self, scan) -> None:
        """A scanned booking slip (check in) or receipt (progress)."""
        self.app.handle_code(scan)

    def wipe(self) -> None:
        self.reading, self.problem = False, ""
        if "keypad" in self.ids:
            self.ids.keypad.clear()


SCREENS = {"identify": IdentifyScreen}
