"""The home screen: six large tiles (one per citizen flow); placing an ID card starts check-in."""
from __future__ import annotations

from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_

#: tile -> (flow screen, needs identification first)
FLOWS = {
    "checkin": ("checkin", True),
    "progress": ("progress", False),
    "guide": ("guide", False),
    "book": ("book", False),
    "walkin": ("walkin", False),
    "feedback": ("feedback_menu", False),   # ask a question, rate, or complain
}


class HomeScreen(KioskScreen):
    """Hall, date/time (top bar) and the flow tiles."""

    spoken_prompt = N_("Welcome. Touch a large button, or place your ID card on the reader.")

    def open_flow(self, tile: str) -> None:
        """A tile was tapped."""
        flow, needs_identity = FLOWS[tile]
        self.app.start_flow(flow, needs_identity=needs_identity)


SCREENS = {"home": HomeScreen}
