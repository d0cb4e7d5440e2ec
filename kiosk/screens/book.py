"""Book an appointment: item -> working day -> slot with free capacity -> identify -> confirm ->
a printed slip with the QR code to check in with (services.booking; the slip from
kiosk.services.tickets.booking_slip).

The choice so far (item, day, slot) lives on the ``book`` screen; it is public data. The citizen
is identified only after a slot is chosen (card, smart card or typed ID number), so a citizen can
look at free times without identifying. A citizen told "already booked" can print the slip of
that booking again (``book_done`` with ``existing=True``).
"""
from __future__ import annotations

import datetime as dt

from kivy.properties import BooleanProperty, DictProperty, StringProperty

from kiosk.screens import theme
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.checkin import slip_when
from kiosk.screens.i18n import N_
from kiosk.screens.widgets import KButton, ListButton

#: Why 10: two working weeks ahead is what the hall publishes; more days only lengthen the list.
BOOK_DAYS = 10
#: Weekday names as shown on the day buttons (translated where shown).
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


class BookScreen(KioskScreen):
    """Step 1: the item (by category)."""

    category = StringProperty("")
    choice = DictProperty({})          # item_code, item_name, date, slot_id, start, end
    spoken_prompt = N_("Choose the service you want to book.")

    def prepare(self, **_) -> None:
        """A fresh booking."""
        self.choice, self.category = {}, ""
        self._fill()

    def _fill(self) -> None:
        g, lang = self.services.guide, self.app.lang
        cats = self.ids.cats
        cats.clear_widgets()
        for i, c in enumerate([{"code": "", "name": self.tr("All")}] + g.categories(lang)):
            b = ListButton(text=c["name"] or c["code"], kind="primary" if c["code"] == self.category else "secondary",
                           tour_id=f"bcat_{i}", height_ref=72)
            b.bind(on_release=lambda btn, code=c["code"]: self.pick_category(code))
            cats.add_widget(b)
        items = self.ids.item_box
        items.clear_widgets()
        for i, it in enumerate(g.items(category=self.category or None, lang=lang)):
            b = ListButton(text=it["name"] or it["code"], kind="secondary", tour_id=f"bitem_{i}", height_ref=80)
            b.bind(on_release=lambda btn, it=it: self.pick_item(it))
            items.add_widget(b)

    def pick_category(self, code: str) -> None:
        """Show the items of one category."""
        self.category = code
        self._fill()

    def pick_item(self, item: dict) -> None:
        """Item chosen: go to the days."""
        self.choice = {"item_code": item["code"]}
        self.app.go("book_day")

    def on_lang(self) -> None:
        if self.manager and self.manager.current == self.name:
            self._fill()


def _choice(screen: KioskScreen) -> dict:
    return screen.manager.get_screen("book").choice


def item_title(screen: KioskScreen) -> str:
    """The chosen item's name in the session's language."""
    item = screen.services.guide.item(_choice(screen).get("item_code", ""), screen.app.lang)
    return item["name"] if item else ""


class BookDayScreen(KioskScreen):
    """Step 2: a working day."""

    title = StringProperty("")
    spoken_prompt = N_("Choose a day.")

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
    """Step 3: a half-hour slot with free capacity (loaded from the central service). Free times
    are blue buttons, full ones grey and disabled; the legend names grey only when one is shown."""

    title = StringProperty("")
    status = StringProperty("")      # loading | loaded | empty
    any_full = BooleanProperty(False)
    _slots: list = []                # the day's slots as loaded (redrawn on a language switch)
    spoken_prompt = N_("Choose a time. Grey times are full.")

    def prepare(self, **_) -> None:
        """Load the day's slots in a worker."""
        c = _choice(self)
        self.title = f"{item_title(self)}  {c.get('date', '')}"
        self.status, self.any_full = "loading", False
        self.ids.slots.clear_widgets()
        run_async(self.services.booking.slots, c["item_code"], dt.date.fromisoformat(c["date"]),
                  on_done=self._loaded, on_error=lambda e: self.app.show_error(
                      e, back="book_day", retry=lambda: self.app.go("book_slot")),
                  name="kiosk-ui-slots")

    def _loaded(self, slots: list[dict]) -> None:
        self._slots = slots
        grid = self.ids.slots
        grid.clear_widgets()
        for i, s in enumerate(slots):
            free = int(s.get("free", 0))
            b = KButton(text=f"{s['start']}-{s['end']}\n" + (self.tr("{n} free").format(n=free) if free else self.tr("full")),
                        kind="primary" if free > 0 else "secondary", tour_id=f"slot_{i}", disabled=free <= 0)
            b.bind(on_release=lambda btn, s=s: self.pick(s))
            grid.add_widget(b)
        self.any_full = any(int(s.get("free", 0)) <= 0 for s in slots)
        self.status = "loaded" if slots else "empty"

    def pick(self, slot: dict) -> None:
        """Slot chosen: identify (unless already), then confirm."""
        _choice(self).update({"slot_id": slot["slot_id"], "start": slot["start"], "end": slot["end"]})
        self.app.start_flow("book_confirm")

    def on_lang(self) -> None:
        """Redraw the title and the slots' free/full words (no new request)."""
        if self.manager and self.manager.current == self.name and self.status == "loaded":
            self.title = f"{item_title(self)}  {_choice(self).get('date', '')}"
            self._loaded(self._slots)


class BookConfirmScreen(KioskScreen):
    """Step 4: who, what, when; confirm books it and prints the slip."""

    holds_citizen_data = True
    who = StringProperty("")          # the masked name ("" for an ID number typed on the keypad)
    id_masked = StringProperty("")    # the masked ID number
    summary = StringProperty("")
    spoken_prompt = N_("Check the details and touch Confirm.")

    def prepare(self, **_) -> None:
        """Show the choice and the identified citizen (masked: name as name, ID number as ID)."""
        cit = self.services.sessions.citizen
        self.who = cit.masked_name if cit and cit.name else ""
        self.id_masked = cit.masked_id if cit and cit.id_number else ""
        self._summarize()

    def on_lang(self) -> None:
        """A language switch redraws the summary shown (a wiped screen stays empty)."""
        if self.summary:
            self._summarize()

    def _summarize(self) -> None:
        c = _choice(self)
        if not c:
            return
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
                  on_error=self._failed, valid=lambda: self.services.sessions.session_id == sid, name="kiosk-ui-book")

    def _failed(self, e: BaseException) -> None:
        if getattr(e, "error_code", "") != "conflict":
            self.app.go("message", kind="error", error=e, back="book_slot", retry=self.confirm)
            return
        # "Already booked": of this item that day (the citizen may want that booking's slip, so the
        # message offers it), or of another item at this time (another time is offered: Back goes
        # to the slots). The citizen's own list tells which (services.booking.held).
        c, booking = dict(_choice(self)), self.services.booking
        sid = self.services.sessions.session_id
        run_async(booking.held, c.get("item_code", ""), c.get("date", ""), c.get("start", ""), c.get("end", ""),
                  on_done=lambda held: self._conflict(e, held), on_error=lambda _e: self._conflict(e, None),
                  valid=lambda: self.services.sessions.session_id == sid, name="kiosk-ui-book-held")

    def _conflict(self, e: BaseException, held: dict | None) -> None:
        if held is not None and held["why"] == "time":
            booking = held["booking"]

            def clash() -> str:   # worded again if the citizen switches language on the message
                o = self.services.booking.outcome(self.loc(booking))
                return f"{o['item']} {o['start']}-{o['end']}"
            self.app.go("message", kind="time_clash", back="book_slot", detail=clash)
        elif held is not None:   # this service that day: its day and time, and its slip again
            booking = held["booking"]

            def when() -> str:   # worded again if the citizen switches language on the message
                return slip_when(str(booking.get("date", "")), str(booking.get("start", "")), self.app.lang, self.tr)
            self.app.go("message", kind="error", error=e, back="book_slot", action="reprint", detail=when)
        else:
            self.app.go("message", kind="error", error=e, back="book_slot", action="reprint")

    def wipe(self) -> None:
        self.who = self.id_masked = self.summary = ""


class BookDoneScreen(KioskScreen):
    """Step 5: booked (or, ``existing``, the booking the citizen already had): item, day, time,
    hall and window on screen, and the slip with its check-in QR code printed or not."""

    holds_citizen_data = True
    status = StringProperty("")       # loading | shown | missing
    existing = BooleanProperty(False)
    item = StringProperty("")
    day = StringProperty("")          # the date with its weekday
    time = StringProperty("")
    hall = StringProperty("")
    window = StringProperty("")
    printed = StringProperty("")      # yes | no | printing | still_no (a reprint failed too)

    def mid_flow(self) -> bool:
        """The booking shown is done: a card taken now ends a finished visit (home, no message)."""
        return self.status != "shown"
    #: The booking shown (the central service's answer, with its check-in code): replaced, never
    #: mutated; the screen binds to the strings above (a kv rule does not follow a dict's keys).
    result: dict = {}
    spoken_prompt = N_("Your appointment is booked. Please take your slip.")

    def prepare(self, result: dict | None = None, printed=None, existing: bool = False, **_) -> None:
        """Show ``result`` (a booking and its PrintOutcome), or with ``existing`` look up the
        citizen's booking of the chosen item and day and print its slip again."""
        self.existing, self.result = existing, dict(result or {})
        if existing and not result:
            self._show({})
            self.status, self.printed = "loading", "printing"
            c, booking = dict(_choice(self)), self.services.booking

            def work():
                found = booking.existing(c.get("item_code", ""), c.get("date", ""))
                return (found, booking.print_slip(found)) if found else (None, None)
            sid = self.services.sessions.session_id
            run_async(work, on_done=self._found, on_error=lambda e: self.app.show_error(
                e, back="book_slot", retry=lambda: self.app.go("book_done", existing=True)),
                      valid=lambda: self.services.sessions.session_id == sid, name="kiosk-ui-book-existing")
            return
        self._show(self.result)
        self.status = "shown"
        self.printed = "yes" if getattr(printed, "printed", False) else "no"

    def _found(self, outcome) -> None:
        found, printed = outcome
        if found is None:
            self.status = "missing"
            return
        self.result = found
        self._show(found)
        self.status, self.printed = "shown", "yes" if printed.printed else "no"

    def _show(self, result: dict) -> None:
        o = self.services.booking.outcome(self.loc(result)) if result else {}
        try:
            d = dt.date.fromisoformat(o.get("date", ""))
            self.day = f"{d.isoformat()} {self.tr(WEEKDAYS[d.weekday()])}"
        except ValueError:
            self.day = ""
        self.item, self.hall, self.window = o.get("item", ""), o.get("hall", ""), o.get("window", "")
        self.time = f"{o['start']}-{o['end']}" if o.get("start") else ""

    def print_again(self) -> None:
        """Print the slip again (the paper was out, or the citizen lost it)."""
        if not self.result:
            return
        self.printed = "printing"
        # "still_no", not "no": the same words again looked as if the tap did nothing (a cold try).
        run_async(self.services.booking.print_slip, dict(self.result),
                  on_done=lambda o: setattr(self, "printed", "yes" if o.printed else "still_no"),
                  on_error=lambda e: setattr(self, "printed", "still_no"), name="kiosk-ui-book-reprint")

    def on_lang(self) -> None:
        if self.result:
            self._show(self.result)

    def wipe(self) -> None:
        self.result = {}
        self.status = self.printed = self.item = self.day = self.time = self.hall = self.window = ""
        self.existing = False


SCREENS = {"book": BookScreen, "book_day": BookDayScreen, "book_slot": BookSlotScreen,
           "book_confirm": BookConfirmScreen, "book_done": BookDoneScreen}
