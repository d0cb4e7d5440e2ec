"""Feedback: rate the hall's service (five levels), complain (reasons + a call-back phone typed on
the keypad), consult (call-back request). Submitted durably: a complaint is never lost.
"""
from __future__ import annotations

from kivy.properties import ListProperty, NumericProperty, StringProperty

from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_

#: The five levels, best first (the national 好差评 scale).
RATINGS = ((5, N_("Very satisfied")), (4, N_("Satisfied")), (3, N_("Basically satisfied")), (2, N_("Dissatisfied")),
           (1, N_("Very dissatisfied")))
#: Predefined complaint reasons (codes go to the central service; texts are translated here).
REASONS = (("waiting", N_("Waited too long")), ("attitude", N_("Staff attitude")), ("materials", N_("Asked for materials twice")),
           ("device", N_("A device did not work")))


class FeedbackScreen(KioskScreen):
    """Rating buttons, complaint reasons, phone keypad, submit."""

    holds_citizen_data = True
    rating = NumericProperty(0)
    reasons = ListProperty([])
    sent = StringProperty("")

    def prepare(self, **_) -> None:
        """A fresh form."""
        self.wipe()

    def rate(self, value: int) -> None:
        """Choose a rating."""
        self.rating = value

    def toggle_reason(self, code: str) -> None:
        """Add/remove a complaint reason."""
        self.reasons = [r for r in self.reasons if r != code] if code in self.reasons else self.reasons + [code]

    def submit(self) -> None:
        """Send the rating (and complaint, with the call-back phone when typed)."""
        phone = self.ids.keypad.value or None
        kind = "complaint" if self.reasons else "rating"
        run_async(lambda: self.services.feedback.submit(kind, rating=self.rating or None,
                                                        reasons=list(self.reasons) or None, callback_phone=phone),
                  on_done=lambda r: self._sent(), on_error=lambda e: self.app.show_error(e, back="feedback"),
                  name="kiosk-ui-feedback")

    def _sent(self) -> None:
        self.ids.keypad.clear()
        self.sent = "yes"

    def wipe(self) -> None:
        self.rating, self.reasons, self.sent = 0, [], ""
        if "keypad" in self.ids:
            self.ids.keypad.clear()


SCREENS = {"feedback": FeedbackScreen}
