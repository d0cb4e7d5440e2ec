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
from kiosk.trust.payload import id_number_problem

#: Why 18: a resident ID number has 17 digits and a check character (digit or X).
ID_LEN = 18


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
        from kiosk.services.session import Citizen
        number = self.ids.keypad.value.upper()
        if len(number) != ID_LEN:
            self.problem = N_("An ID number has 18 characters.")
            return
        if id_number_problem(number):
            self.problem = N_("This ID number is not valid. Please check it.")
            return
        self.problem = ""
        self.ids.keypad.clear()
        import datetime as dt
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))  # valid: checked above
        self.services.sessions.begin(Citizen(id_number=number, name="", source="keypad", birth_date=born))

    def on_scan(self, payload) -> None:
        """A scanned booking slip (check in) or receipt (progress)."""
        self.app.handle_code(payload)

    def wipe(self) -> None:
        self.reading, self.problem = False, ""
        if "keypad" in self.ids:
            self.ids.keypad.clear()


SCREENS = {"identify": IdentifyScreen}
