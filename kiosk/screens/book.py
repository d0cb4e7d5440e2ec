"""Book an appointment: item -> working day -> slot with free capacity -> identify -> confirm ->
a printed slip with the QR code to check in with (services.booking; the slip from
kiosk.services.tickets.booking_slip).

The choice so far (item, day, slot) lives on the ``book`` screen; it is public data. The citizen
is identified only after a slot is chosen (card, smart card or typed ID number), so a citizen can
look at free times without identifying.
"""
from __future__ import annotations

import datetime as dt

from kivy.properties import DictProperty, StringProperty

from kiosk.screens import theme
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_
from kiosk.screens.widgets import KButton, ListButton

#: Why 10: two working weeks ahead is what the hall publishes; more days only lengthen the list.
BOOK_DAYS = 10
#: Weekday names as shown on the day buttons (translated where shown).
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def _name(entry: dict, en: bool) -> str:
    return (entry.get("name_en") if en and entry.get("name_en") else entry.get("name")) or entry.get("code", "")


class BookScreen(KioskScreen):
    """Step 1: the item (by category)."""

    category = StringProperty("")
    choice = DictProperty({})          # item_code, item_name, date, slot_id, start, end
    spoken_prompt = "Choose the service you want to book."

    def prepare(self, **_) -> None:
        """A fresh booking."""
        self.choice, self.category = {}, ""
        self._fill()

    def _fill(self) -> None:
        en = self.app.lang == "en"
        g = self.services.guide
        cats = self.ids.cats
        cats.clear_widgets()
        for i, c in enumerate([{"code": "", "name": self.tr("All")}] + g.categories()):
            b = ListButton(text=_name(c, en), kind="primary" if c["code"] == self.category else "secondary",
                           tour_id=f"bcat_{i}", height_ref=72)
            b.bind(on_release=lambda btn, code=c["code"]: self.pick_category(code))
            cats.add_widget(b)
        items = self.ids.item_box
        items.clear_widgets()
        for i, it in enumerate(g.items(category=self.category or None)):
            b = ListButton(text=_name(it, en), kind="secondary", tour_id=f"bitem_{i}", height_ref=80)
            b.bind(on_release=lambda btn, it=it: self.pick_item(it))
            items.add_widget(b)

    def pick_category(self, code: str) -> None:
        """Show the items of one category."""
        self.category = code
        self._fill()

    def pick_item(self, item: dict) -> None:
        """Item chosen: go to the days."""
        self.choice = {"item_code": item["code"], "item_name": item["name"],
                       "item_name_en": item.get("name_en", "")}
        self.app.go("book_day")

    def on_lang(self) -> None:
        if self.manager and self.manager.current == self.name:
            self._fill()


def _choice(screen: KioskScreen) -> dict:
    return screen.manager.get_screen("book").choice


def item_title(screen: KioskScreen) -> str:
    """The chosen item's name in the session's language."""
    c = _choice(screen)
    return (c.get("item_name_en") if screen.app.lang == "en" and c.get("item_name_en") else c.get("item_name", ""))


class BookDayScreen(KioskScreen):
    """Step 2: a working day."""

    title = StringProperty("")
    spoken_prompt = "Choose a day."

    def prepare(self, **_) -> None:
        """List the next working days."""
        self.title = item_title(self)
        grid = self.ids.days
        grid.clear_widgets()
        for i, d in enumerate(self.services.booking.days(BOOK_DAYS)):
            b = KButton(text=f"{d:%m-%d}\n{self.tr(WEEKDAYS[d.weekday()])}", kind="secondary", tour_id=f"day_{i}",
                        font_ref=theme.FONT_HEAD)
            b.bind(on_release=lambda btn, d=d: self.pick(d))
            grid.add_widget(b)

    def pick(self, day: dt.date) -> None:
        """Day chosen: go to its slots."""
        _choice(self)["date"] = day.isoformat()
        self.app.go("book_slot")

    def on_lang(self) -> None:
        if self.manager and self.manager.current == self.name:
            self.prepare()


class BookSlotScreen(KioskScreen):
    """Step 3: a half-hour slot with free capacity (loaded from the central service)."""

    title = StringProperty("")
    status = StringProperty("")      # loading | loaded | empty
    spoken_prompt = "Choose a time. Grey times are full."

    def prepare(self, **_) -> None:
        """Load the day's slots in a worker."""
        c = _choice(self)
        self.title = f"{item_title(self)}  {c.get('date', '')}"
        self.status = "loading"
        self.ids.slots.clear_widgets()
        run_async(self.services.booking.slots, c["item_code"], dt.date.fromisoformat(c["date"]),
                  on_done=self._loaded, on_error=lambda e: self.app.show_error(e, back="book_day"),
                  name="kiosk-ui-slots")

    def _loaded(self, slots: list[dict]) -> None:
        grid = self.ids.slots
        grid.clear_widgets()
        for i, s in enumerate(slots):
            free = int(s.get("free", 0))
            b = KButton(text=f"{s['start']}-{s['end']}\n" + (self.tr("{n} free").format(n=free) if free else self.tr("full")),
                        kind="secondary", tour_id=f"slot_{i}", disabled=free <= 0)
            b.bind(on_release=lambda btn, s=s: self.pick(s))
            grid.add_widget(b)
        self.status = "loaded" if slots else "empty"

    def pick(self, slot: dict) -> None:
        """Slot chosen: identify (unless already), then confirm."""
        _choice(self).update({"slot_id": slot["slot_id"], "start": slot["start"], "end": slot["end"]})
        self.app.start_flow("book_confirm")


class BookConfirmScreen(KioskScreen):
    """Step 4: who, what, when; confirm books it and prints the slip."""

    holds_citizen_data = True
    who = StringProperty("")
    summary = StringProperty("")
    spoken_prompt = "Check the details and touch Confirm."

    def prepare(self, **_) -> None:
        """Show the choice and the identified citizen (masked)."""
        c = _choice(self)
        cit = self.services.sessions.citizen
        self.who = (cit.masked_name or cit.masked_id) if cit else ""
        self.summary = "\n".join([self.tr("Service: {item}").format(item=item_title(self)),
                                  self.tr("Day: {d}").format(d=c.get("date", "")),
                                  self.tr("Time: {start}-{end}").format(start=c.get("start", ""), end=c.get("end", ""))])

    def confirm(self) -> None:
        """Book (durable), then print the slip."""
        c = dict(_choice(self))
        booking = self.services.booking

        def work():
            result = booking.book(c["item_code"], c["slot_id"])
            return result, booking.print_slip(result)
        sid = self.services.sessions.session_id
        run_async(work, on_done=lambda o: self.app.go("book_done", result=o[0], printed=o[1]),
                  on_error=lambda e: self.app.show_error(e, back="book_slot"),
                  valid=lambda: self.services.sessions.session_id == sid, name="kiosk-ui-book")

    def wipe(self) -> None:
        self.who = self.summary = ""


class BookDoneScreen(KioskScreen):
    """Step 5: booked; the slip (with its check-in QR code) printed or not."""

    holds_citizen_data = True
    result = DictProperty({})
    printed = StringProperty("")      # yes | no
    spoken_prompt = "Your appointment is booked. Please take your slip."

    def prepare(self, result: dict | None = None, printed=None, **_) -> None:
        """Show the booking."""
        self.result = dict(result or {})
        self.printed = "yes" if getattr(printed, "printed", False) else "no"

    def wipe(self) -> None:
        self.result, self.printed = {}, ""


SCREENS = {"book": BookScreen, "book_day": BookDayScreen, "book_slot": BookSlotScreen,
           "book_confirm": BookConfirmScreen, "book_done": BookDoneScreen}
