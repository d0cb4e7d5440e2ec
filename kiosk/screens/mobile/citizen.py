"""The mobile screens about an identified citizen: look up their applications and appointments on the
spot (``lookup``), and book an appointment for them (``book``: item -> working day -> slot -> confirm).

Both reuse the terminal's services (progress, check-in, booking) off the main thread
(kiosk.screens.async_call); the top bar keeps showing who acts for whom. Citizen data lives in
widget properties only and is wiped when the session ends. Layout rules: citizen.kv.
"""
from __future__ import annotations

from kivy.graphics.texture import Texture
from kivy.properties import DictProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.screens import async_call
from kiosk.screens.mobile import overview
from kiosk.screens.mobile.base import FIRST_ITEMS, MobileScreen

#: Working days offered for booking (two weeks: what a door-to-door visit plans ahead).
BOOK_DAYS = 10
#: Weekday names as the hall writes them (周一..周日), whatever the process locale is.
WEEKDAYS_ZH = "一二三四五六日"


class LookupScreen(MobileScreen):
    """The citizen's applications (timeline, days left, flag) and today's / upcoming appointments."""

    status = StringProperty("")           # loading | shown | failed
    message = StringProperty("")
    applications = ListProperty([])       # rendered rows {"text", "flag"}
    appointments = ListProperty([])       # rendered rows {"text", "today"}

    def prepare(self, **kw) -> None:
        """Fetch the overview of the session's citizen."""
        self.wipe()
        self.status = "loading"
        app = self.app
        async_call.run_async(overview.fetch, app.services, app.services.clock.today(), name="mobile-lookup",
                             on_done=self._shown, on_error=self._failed)

    def _shown(self, ov: overview.Overview) -> None:
        tr = self.app.tr
        self.applications = [{"text": overview.application_text(a, tr), "flag": a.get("flag", "")}
                             for a in ov.applications]
        self.appointments = ([{"text": tr("Today") + "  " + overview.appointment_text(a, tr), "today": True}
                              for a in ov.today]
                             + [{"text": overview.appointment_text(a, tr), "today": False} for a in ov.upcoming])
        self.status = "shown"

    def _failed(self, e: BaseException) -> None:
        self.status, self.message = "failed", self.app.error_text(e)

    @staticmethod
    def fill(box, rows: list[dict], prefix: str, colour_of) -> None:
        """Show ``rows`` as labels in ``box`` (tour ids ``<prefix><n>``)."""
        from kiosk.screens.widgets import KLabel
        box.clear_widgets()
        for n, r in enumerate(rows):
            label = KLabel(text=r["text"], color=colour_of(r))
            label.tour_id = f"{prefix}{n}"
            box.add_widget(label)

    def wipe(self) -> None:
        """Forget the citizen's applications and appointments."""
        self.applications, self.appointments, self.message, self.status = [], [], "", ""


class BookScreen(MobileScreen):
    """Book for the citizen: item -> working day -> slot -> confirm -> the booking's details."""

    stage = StringProperty("item")        # item | day | slot | confirm | done
    choices = ListProperty([])            # RecycleView rows of the current stage
    busy = NumericProperty(0)
    summary = StringProperty("")
    result = DictProperty({})
    qr = ObjectProperty(None, allownone=True)   # the check-in code as a QR texture (memory only)

    def prepare(self, **kw) -> None:
        """Start at the item list."""
        self.wipe()
        all_items = {i["code"]: i for i in self.app.mobile.items()}
        items = [all_items[c] for c in FIRST_ITEMS if c in all_items]
        self._items = {i["code"]: i["name"] for i in items}
        self.choices = [{"text": i["name"], "tour_id": "book_item_" + i["code"], "kind": "secondary",
                         "on_release": (lambda c=i["code"]: self.choose_item(c))} for i in items]

    def choose_item(self, code: str) -> None:
        """Item chosen: offer the bookable working days."""
        self._item = code
        days = self.app.services.booking.days(BOOK_DAYS)
        self.stage, self.summary = "day", self._items.get(code, code)
        self.choices = [{"text": f"{d.isoformat()} 周{WEEKDAYS_ZH[d.weekday()]}", "tour_id": f"book_day_{k}",
                         "kind": "secondary", "on_release": (lambda d=d: self.choose_day(d))}
                        for k, d in enumerate(days)]

    def choose_day(self, day) -> None:
        """Day chosen: fetch its slots (network, off the main thread)."""
        self._day, self.busy = day, 1
        async_call.run_async(self.app.services.booking.slots, self._item, day, name="mobile-slots",
                             on_done=self._slots, on_error=self._failed)

    def _slots(self, slots: list[dict]) -> None:
        self.busy = 0
        free = [s for s in slots if s.get("free", 1) > 0]
        if not free:
            self.app.toast = self.app.tr("No free slot that day; choose another day.")
            return
        self.stage = "slot"
        self.summary = f"{self._items.get(self._item, self._item)}  {self._day.isoformat()}"
        self.choices = [{"text": f"{s['start']}-{s.get('end', '')}  " + self.app.tr("{n} free").format(n=s.get("free", "")),
                         "tour_id": f"book_slot_{k}", "kind": "secondary",
                         "on_release": (lambda s=s: self.choose_slot(s))} for k, s in enumerate(free)]

    def choose_slot(self, slot: dict) -> None:
        """Slot chosen: show what will be booked, for whom, and wait for the confirmation."""
        self._slot = dict(slot)
        self.stage, self.choices = "confirm", []
        self.summary = "\n".join([self._items.get(self._item, self._item),
                                  f"{self._day.isoformat()} {slot['start']}-{slot.get('end', '')}",
                                  self.app.acting_text])

    def confirm(self) -> None:
        """Book (durable and idempotent through the outbox; off the main thread)."""
        self.busy = 1
        async_call.run_async(self.app.services.booking.book, self._item, self._slot["slot_id"], name="mobile-book",
                             on_done=self._booked, on_error=self._failed)

    def _booked(self, result: dict) -> None:
        self.busy, self.stage, self.result = 0, "done", dict(result)
        tr = self.app.tr
        self.summary = "\n".join([
            tr("Booked for {who}").format(who=self.app.citizen_text),
            f"{result.get('item_name', '')}",
            f"{result.get('date', '')} {result.get('start', '')}-{result.get('end', '')}  "
            + tr("window {w}").format(w=result.get("window", "")),
            tr("The citizen scans this code at the hall to check in.")])
        self.qr = qr_texture(str(result.get("checkin_code", "")))

    def _failed(self, e: BaseException) -> None:
        self.busy = 0
        self.app.toast = self.app.error_text(e)

    def wipe(self) -> None:
        """Forget the booking in progress."""
        self.stage, self.choices, self.summary, self.result, self.busy, self.qr = "item", [], "", {}, 0, None
        self._item, self._day, self._slot, self._items = "", None, {}, {}


def qr_texture(text: str):
    """A Kivy texture of ``text`` as a QR code (None for no text); drawn in memory, never saved."""
    if not text:
        return None
    import qrcode
    from PIL import Image
    # FLIP_LEFT_RIGHT (0), as always: with Kivy's bottom-up rows the code shows turned by 180
    # degrees, which a QR reader does not mind (the intent was FLIP_TOP_BOTTOM: reported, not changed).
    img = qrcode.make(text, border=2).get_image().convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    tex = Texture.create(size=img.size, colorfmt="rgb")
    tex.blit_buffer(img.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
    tex.mag_filter = "nearest"  # crisp modules when scaled up
    return tex


SCREENS = {"lookup": LookupScreen, "book": BookScreen}
