"""Identify: place the ID card, insert a card in the PC/SC reader, scan a QR code, or type a number.

The session starts from the device events (``idcard.identity`` -> SessionManager.begin); this
screen only shows where to put the card and the reading state, and offers the keypad for an
application or appointment number where a flow accepts one. The keypad never starts a session
with an ID number typed by hand (it cannot be verified against a card).
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.screens.base import KioskScreen


class IdentifyScreen(KioskScreen):
    """Pictures of where the card goes; 'reading...' while the reader works."""

    purpose = StringProperty("checkin")
    reading = BooleanProperty(False)
    spoken_prompt = "Please place your ID card on the reader below the screen."

    def prepare(self, purpose: str | None = None, reading: bool = False) -> None:
        """Set the flow to continue with, and whether a card is being read."""
        if purpose:
            self.purpose = purpose
            self.app.pending_flow = purpose
        self.reading = reading

    def on_scan(self, text: str) -> None:
        """A scanned appointment or receipt code: hand it to the flow that understands it."""
        if text.upper().startswith("ZM"):
            self.app.go("progress", application_no=text)

    def wipe(self) -> None:
        self.reading = False


SCREENS = {"identify": IdentifyScreen}
