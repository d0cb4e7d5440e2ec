"""Feedback: rate the hall's service or a finished application (five levels), complain (reasons +
a call-back phone typed on the keypad), consult (an item's FAQ and a call-back request).
Submitted durably: a complaint is never lost. Contract kinds: rate, complain, consult.
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
    application_no = StringProperty("")
    item_name = StringProperty("")
    #: Replaced (never mutated) by prepare/wipe: the proof sent with a rating of an application.
    _proof: dict = {}
    spoken_prompt = N_("How was our service today? Touch one of the five buttons.")

    def prepare(self, application_no: str = "", item_name: str = "", proof: dict | None = None, **_) -> None:
        """A fresh form about the hall, or about application ``application_no`` (with the
        citizen's ``proof`` of their link to it: a receipt code or their citizen reference)."""
        self.wipe()
        self.application_no, self.item_name = application_no, item_name
        self._proof = dict(proof or {})

    def rate(self, value: int) -> None:
        """Choose a rating."""
        self.rating = value

    def toggle_reason(self, code: str) -> None:
        """Add/remove a complaint reason."""
        self.reasons = [r for r in self.reasons if r != code] if code in self.reasons else self.reasons + [code]

    def submit(self) -> None:
        """Send the rating (and complaint, with the call-back phone when typed)."""
        phone = self.ids.keypad.value or None
        kind = "complain" if self.reasons else "rate"
        no = self.application_no or None
        proof = dict(self._proof) if no else {}
        run_async(lambda: self.services.feedback.submit(kind, rating=self.rating or None, application_no=no,
                                                        reasons=list(self.reasons) or None, callback_phone=phone,
                                                        proof=proof),
                  on_done=lambda r: self._sent(), on_error=lambda e: self.app.show_error(e, back="feedback"),
                  name="kiosk-ui-feedback")

    def _sent(self) -> None:
        self.ids.keypad.clear()
        self.sent = "yes"

    def wipe(self) -> None:
        self.rating, self.reasons, self.sent = 0, [], ""
        self.application_no = self.item_name = ""
        self._proof = {}
        if "keypad" in self.ids:
            self.ids.keypad.clear()


class ConsultScreen(KioskScreen):
    """An item's frequent questions, and a call-back request with the phone typed on the keypad."""

    holds_citizen_data = True
    item_code = StringProperty("")
    item_name = StringProperty("")
    faq_text = StringProperty("")
    sent = StringProperty("")
    _faq: list = []
    spoken_prompt = N_("Read the answers, or leave your phone number and we will call you back.")

    def prepare(self, item_code: str = "", item_name: str = "", faq=None, **_) -> None:
        """Show the FAQ of ``item_code``; an empty call-back form."""
        self.wipe()
        self.item_code, self.item_name = item_code, item_name
        self._faq = faq or []
        self.on_lang()

    def on_lang(self) -> None:
        """The item's name and answers in the session's language (from the catalogue when known)."""
        item = self.services.guide.item(self.item_code, self.app.lang) if self.item_code else None
        if item is not None:
            self.item_name, self._faq = item["name"], item.get("faq", [])
        q, a = self.tr("Q"), self.tr("A")
        self.faq_text = "\n\n".join(f"{q}: {f.get('q', '')}\n{a}: {f.get('a', '')}" for f in self._faq)

    def submit(self) -> None:
        """Request a call-back about the item (durable)."""
        phone = self.ids.keypad.value
        if len(phone) < 11:
            return
        run_async(lambda: self.services.feedback.submit("consult", item_code=self.item_code or None,
                                                        callback_phone=phone, text="call-back request"),
                  on_done=lambda r: self._sent(), on_error=lambda e: self.app.show_error(e, back="consult"),
                  name="kiosk-ui-consult")

    def _sent(self) -> None:
        self.ids.keypad.clear()
        self.sent = "yes"

    def wipe(self) -> None:
        self.sent = self.faq_text = self.item_code = self.item_name = ""
        self._faq = []
        if "keypad" in self.ids:
            self.ids.keypad.clear()


SCREENS = {"feedback": FeedbackScreen, "consult": ConsultScreen}
