"""Identify: place the ID card, insert a card in the PC/SC reader, scan a QR code, or type the
ID number on the on-screen keypad (kiosks have no keyboard).

The card sessions start from the device events (``idcard.identity`` / ``smartcard.read`` ->
SessionManager.begin); this screen shows where each card goes and the reading state. A typed
ID number is checked (GB 11643 date and check character) before it starts a session with source
``keypad``; such a citizen can book, but the central service shows them no appointments (a typed
number is not proof of identity). A scanned code goes to the flow that understands it.
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_

#: What the citizen reads for each refusal of a typed number (kiosk.services.session.begin_keypad).
PROBLEMS = {"length": N_("An ID number has 18 characters."),
            "invalid": N_("This ID number is not valid. Please check it.")}


class IdentifyScreen(KioskScreen):
    """Pictures of where the card goes; 'reading...' while the reader works; the ID keypad."""

    holds_citizen_data = True
    purpose = StringProperty("checkin")
    reading = BooleanProperty(False)
    problem = StringProperty("")
    spoken_prompt = N_("Please place your ID card on the reader below the screen.")

    def prepare(self, purpose: str | None = None, reading: bool = False, **_) -> None:
        """Set the flow to continue with, and whether a card is being read."""
        if purpose:
            self.purpose = purpose
            self.app.pending_flow = purpose
        self.reading = reading
        self.problem = ""
        if not reading and "keypad" in self.ids:
            self.ids.keypad.clear()

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
