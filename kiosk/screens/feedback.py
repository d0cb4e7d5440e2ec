"""Consult / rate / complain: the home tile opens a choice of the three; each form goes to the
central service as one ``feedback.submit`` of its kind (``consult``, ``rate``, ``complain``).

- rate: the hall's service or a finished application (five levels, the national 好差评 scale);
- complain: what went wrong (predefined reasons) and an optional call-back phone;
- consult: a question answered by a call-back (the phone typed on the keypad); from a guide item
  its frequent questions show first.

Submitted durably: a complaint is never lost. Once sent, a form is finished: its controls lock,
and the citizen sees what became of it: the central service's reference number, or, when no
answer came in time, that it is saved and will be sent (the same form sent again is the same
attempt: kiosk.services.attempts). A call-back phone is shown masked once sent.
"""
from __future__ import annotations

from kivy.properties import ListProperty, NumericProperty, StringProperty

from hall_common import privacy
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_, colon

#: The five levels, best first (the national 好差评 scale).
RATINGS = ((5, N_("Very satisfied")), (4, N_("Satisfied")), (3, N_("Basically satisfied")), (2, N_("Dissatisfied")),
           (1, N_("Very dissatisfied")))
#: Predefined complaint reasons (codes go to the central service; texts are translated here).
REASONS = (("waiting", N_("Waited too long")), ("attitude", N_("Staff attitude")), ("materials", N_("Asked for materials twice")),
           ("device", N_("A device did not work")))
#: Why 11: a mainland mobile number (privacy.PHONE_PATTERN); the contract refuses anything else.
PHONE_LEN = 11


class FeedbackMenuScreen(KioskScreen):
    """Ask a question, rate the service, or complain."""

    spoken_prompt = N_("Do you want to ask a question, rate our service, or make a complaint?")


class _FormScreen(KioskScreen):
    """A feedback form: sent once, then locked, with the outcome shown."""

    holds_citizen_data = True
    kind = "rate"
    #: "" (being filled in), "yes" (the central service answered), "queued" (saved, sent later)
    sent = StringProperty("")
    reference = StringProperty("")     # the central service's feedback_id
    phone_masked = StringProperty("")  # the call-back phone as echoed back (privacy.mask_phone)
    back = StringProperty("feedback_menu")

    def mid_flow(self) -> bool:
        return not self.sent

    def _send(self, **fields) -> None:
        """Submit the form in a worker; the outcome (reference, or queued) locks it."""
        if self.sent:
            return
        phone = fields.get("callback_phone") or ""
        run_async(lambda: self.services.feedback.submit(self.kind, **fields),
                  on_done=lambda r: self._sent("yes", r, phone), on_error=lambda e: self._failed(e, phone),
                  name=f"kiosk-ui-{self.kind}")

    def _failed(self, e: BaseException, phone: str) -> None:
        if getattr(e, "code", "") == "network.timeout":  # in the outbox: it will be sent
            self._sent("queued", {}, phone)
        else:
            self.app.show_error(e, back=self.name)

    def _sent(self, how: str, result: dict, phone: str) -> None:
        self.sent, self.reference = how, str((result or {}).get("feedback_id", ""))
        self.phone_masked = privacy.mask_phone(phone) if phone else ""
        if "keypad" in self.ids:
            self.ids.keypad.clear()

    def leave(self) -> None:
        """Back where the form came from; a finished form goes home (the citizen is done)."""
        if self.sent or self.back == "home":
            self.app.home()
        else:
            self.app.go(self.back)

    def wipe(self) -> None:
        self.sent = self.reference = self.phone_masked = ""
        if "keypad" in self.ids:
            self.ids.keypad.clear()


class FeedbackScreen(_FormScreen):
    """Rate the hall's service or a finished application: five buttons, send."""

    kind = "rate"
    rating = NumericProperty(0)
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
        self.back = "progress" if application_no else "feedback_menu"
        self._proof = dict(proof or {})

    def rate(self, value: int) -> None:
        """Choose a rating (not once the form is sent)."""
        if not self.sent:
            self.rating = value

    def submit(self) -> None:
        """Send the rating."""
        if not self.rating:
            return
        no = self.application_no or None
        self._send(rating=self.rating, application_no=no, proof=dict(self._proof) if no else {})

    def leave(self) -> None:
        # Back to the application shown: its screen kept nothing, so show it again by number.
        if not self.sent and self.application_no:
            self.app.go("progress", application_no=self.application_no)
        else:
            super().leave()

    def wipe(self) -> None:
        super().wipe()
        self.rating = 0
        self.application_no = self.item_name = ""
        self._proof = {}


class ComplainScreen(_FormScreen):
    """What went wrong (reasons) and an optional call-back phone."""

    kind = "complain"
    reasons = ListProperty([])
    spoken_prompt = N_("Tell us what went wrong. Leave your phone number if you want a call back.")

    def prepare(self, **_) -> None:
        """A fresh complaint."""
        self.wipe()

    def toggle_reason(self, code: str) -> None:
        """Add/remove a complaint reason (not once the form is sent)."""
        if not self.sent:
            self.reasons = [r for r in self.reasons if r != code] if code in self.reasons else self.reasons + [code]

    def submit(self) -> None:
        """Send the complaint (with the call-back phone when a whole number was typed)."""
        phone = self.ids.keypad.value
        if not self.reasons or 0 < len(phone) < PHONE_LEN:
            return
        self._send(reasons=list(self.reasons), callback_phone=phone or None)

    def wipe(self) -> None:
        super().wipe()
        self.reasons = []


class ConsultScreen(_FormScreen):
    """A question answered by a call-back; from a guide item, that item's frequent questions first."""

    kind = "consult"
    item_code = StringProperty("")
    item_name = StringProperty("")
    faq_text = StringProperty("")
    _faq: list = []
    spoken_prompt = N_("Read the answers, or leave your phone number and we will call you back.")

    def prepare(self, item_code: str = "", item_name: str = "", faq=None, **_) -> None:
        """Show the FAQ of ``item_code`` (from the guide), or a general question (from the
        feedback choice); an empty call-back form."""
        self.wipe()
        self.item_code, self.item_name = item_code, item_name
        self.back = "guide_item" if item_code else "feedback_menu"
        self._faq = faq or []
        self.on_lang()

    def on_lang(self) -> None:
        """The item's name and answers in the session's language (from the catalogue when known)."""
        item = self.services.guide.item(self.item_code, self.app.lang) if self.item_code else None
        if item is not None:
            self.item_name, self._faq = item["name"], item.get("faq", [])
        q, a, sep = self.tr("Q"), self.tr("A"), colon(self.app.lang)
        self.faq_text = "\n\n".join(f"{q}{sep}{f.get('q', '')}\n{a}{sep}{f.get('a', '')}" for f in self._faq)

    def submit(self) -> None:
        """Request a call-back about the item, or in general (durable)."""
        phone = self.ids.keypad.value
        if len(phone) < PHONE_LEN:
            return
        self._send(item_code=self.item_code or None, callback_phone=phone, text="call-back request")

    def wipe(self) -> None:
        super().wipe()
        self.faq_text = self.item_code = self.item_name = ""
        self._faq = []
        if "keypad" in self.ids:
            self.ids.keypad.clear()


SCREENS = {"feedback_menu": FeedbackMenuScreen, "feedback": FeedbackScreen, "complain": ComplainScreen,
           "consult": ConsultScreen}
