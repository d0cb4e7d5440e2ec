"""Tours off the script (issue 12), as data: what a citizen meets when they leave the demo tour's
path. Played by ``hall_demo.testrun --tour tests.kiosk.screens.citizen_steps:<tour>`` on the
real stack (Mosquitto, the reference central service, the simulators, a real Kivy window on Xvfb);
tests/kiosk/screens/test_citizen_flows.py checks which steps passed. Each step's condition is the
check: a step that does not reach it within its time fails the tour there.
"""
from __future__ import annotations

import datetime as dt
import functools
import threading
import uuid

from hall_common import privacy
from hall_demo import touch
from hall_demo.tour import Ctx, Step, on_screen
from hall_demo.tour_steps import DEMO_PIN, _cond, _msg, _printed_more, _type
from kiosk.screens import theme
from kiosk.services.staff_pin import MAX_FAILURES

#: The demo citizens the simulators' cards carry (hall_central.seed): 0 has an appointment today
#: and one application, 1 is 68 and has three applications, 2 has nothing (types their number).
CARD, ELDER, TYPED = 0, 1, 2


def _citizen(k: int) -> dict:
    from hall_central.seed import demo_citizens
    return demo_citizens()[k]


def _leave_message(ctx: Ctx) -> None:
    """Leave a message screen for home: its button, unless it went home by itself already."""
    if ctx.app.sm.current == "message":
        ctx.tap("msg_back")


def _texts(ctx: Ctx) -> list[str]:
    return [w.text for w in ctx.screen.walk() if isinstance(getattr(w, "text", None), str) and w.text]


def _slot_buttons(ctx: Ctx) -> list:
    return list(reversed(ctx.screen.ids.slots.children))


def _last_ticket(ctx: Ctx) -> str:
    return " ".join(ctx.sim.tickets()[-1].text.split())


def _printed(ctx: Ctx) -> bool:
    return len(ctx.sim.tickets()) > ctx.tickets0


def _fill_first_slot(ctx: Ctx) -> None:
    """Four other citizens book the day's first slot (its capacity) behind the kiosk's back."""
    from hall_central.seed import synthetic_citizen
    rt = ctx.sim.stack.runtime   # behind the kiosk's back: the stack's own runtime, not the app's
    choice = ctx.app.sm.get_screen("book").choice
    ctx.filled = threading.Event()

    def work() -> None:
        try:
            slot = rt.services.booking.slots(choice["item_code"], dt.date.fromisoformat(choice["date"]))[0]["slot_id"]
            for i in range(4):
                card = synthetic_citizen(7000 + i)
                ref = rt.gateway.request("citizen.lookup", {"id_number": card["id_number"], "name": card["name"]})
                rt.gateway.submit("appointment.book", {"citizen_ref": ref["citizen_ref"], "item_code": choice["item_code"],
                                                       "slot_id": slot, "hall": "H410122203"},
                                  idem=uuid.uuid4().hex).wait(15)
        finally:
            ctx.filled.set()
    threading.Thread(target=work, name="tour-fill-slot", daemon=True).start()


# -- booking ---------------------------------------------------------------------------------
def booking_tour(langs=("zh_CN",)) -> list[Step]:
    """Slot legend and colours; a typed ID number grouped, then masked; the success screen with
    the paper out, then printed again; "already booked" and the slip of that booking again; and
    the next citizen's booking after it."""
    lang = langs[0]
    S = functools.partial(Step, lang=lang)
    home = on_screen("home")
    typed = _citizen(TYPED)["id_number"]

    def all_free_look_free(c: Ctx) -> bool:
        buttons = _slot_buttons(c)
        return (c.screen.status == "loaded" and bool(buttons) and all(b.kind == "primary" and not b.disabled for b in buttons)
                and not any("灰色" in t for t in _texts(c)))

    def full_looks_full(c: Ctx) -> bool:
        buttons = _slot_buttons(c)
        return (c.screen.status == "loaded" and buttons[0].disabled and buttons[0].kind != "primary"
                and all(b.kind == "primary" and not b.disabled for b in buttons[1:])
                and any("灰色时段已约满" in t for t in _texts(c)))

    def grouped(c: Ctx) -> bool:
        shown = f"{typed[:6]} {typed[6:14]} {typed[14:]}"
        return c.screen.ids.keypad.value == typed and any(shown in t for t in _texts(c))

    def confirm_masked(c: Ctx) -> bool:
        texts = " ".join(_texts(c))
        return (c.screen.who == "" and f"身份证号：{privacy.mask_id(typed)}" in texts
                and "姓名" not in texts and typed not in texts)

    def done_shows_booking(c: Ctx) -> bool:
        choice = c.app.sm.get_screen("book").choice
        return (c.screen.status == "shown" and c.screen.printed == "no"
                and f"{choice['date']} " in c.screen.ids.when.text
                and f"{choice['start']}-{choice['end']}" in c.screen.ids.when.text
                and c.app.services.info.hall in c.screen.ids.where.text
                and f"{c.screen.window}号窗口" in c.screen.ids.where.text and c.screen.window
                and "日期、时段和窗口" in c.screen.ids.print_status.text and c.find("print_again") is not None)

    def card_confirm(c: Ctx) -> bool:
        texts = " ".join(_texts(c))
        who = _citizen(CARD)
        return (f"姓名：{privacy.mask_name(who['name'])}" in texts
                and f"身份证号：{privacy.mask_id(who['id_number'])}" in texts and "姓名：410" not in texts)

    return [
        S("home", None, home),
        S("book", lambda c: c.tap("tile_book"), on_screen("book", ready=lambda c: c.find("bitem_0") is not None)),
        S("day", lambda c: c.tap("bitem_0"), on_screen("book_day", ready=lambda c: c.find("day_0") is not None)),
        S("all free: blue, no grey legend", lambda c: c.tap("day_0"), on_screen("book_slot", ready=all_free_look_free),
          "slots-free"),
        S("first slot filled", _fill_first_slot, _cond("four bookings of the first slot", lambda c: c.filled.is_set()),
          timeout_s=60),
        S("day again", lambda c: c.tap("back"), on_screen("book_day", ready=lambda c: c.find("day_0") is not None)),
        S("full: grey, and the legend says so", lambda c: c.tap("day_0"), on_screen("book_slot", ready=full_looks_full),
          "slots-one-full"),
        S("identify", lambda c: c.tap("slot_1"), on_screen("identify")),
        S("ID number grouped while typed", _type(typed), on_screen("identify", ready=grouped), "identify-grouped"),
        S("confirm: the ID number masked, as the ID", lambda c: c.tap("id_ok"), on_screen("book_confirm", ready=confirm_masked),
          "book-confirm-typed"),
        S("paper out", lambda c: c.sim.set_paper_out(True), _cond("paper out", lambda c: True)),
        S("booked, paper out: day, time, hall, window on screen", lambda c: c.tap("confirm_book"),
          on_screen("book_done", ready=done_shows_booking), "book-done-paper-out"),
        S("paper back, printed again", lambda c: (c.sim.set_paper_out(False), _printed_more(c), c.tap("print_again")),
          on_screen("book_done", ready=lambda c: c.screen.printed == "yes" and _printed(c)
                    and "预约凭条" in _last_ticket(c) and "姓名" not in _last_ticket(c)
                    and c.screen.day.split()[0] in _last_ticket(c)), "book-printed-again"),
        S("home", lambda c: c.tap("done"), home),
        # the same citizen, the same service that day: "already booked", and that booking's slip
        S("book again", lambda c: c.tap("tile_book"), on_screen("book", ready=lambda c: c.find("bitem_0") is not None)),
        S("day", lambda c: c.tap("bitem_0"), on_screen("book_day", ready=lambda c: c.find("day_0") is not None)),
        S("slot", lambda c: c.tap("day_0"), on_screen("book_slot", ready=lambda c: c.screen.status == "loaded")),
        S("identify again", lambda c: c.tap("slot_2"), on_screen("identify")),
        S("typed again", _type(typed), on_screen("identify", ready=lambda c: c.find("id_ok") is not None)),
        S("confirm again", lambda c: c.tap("id_ok"), on_screen("book_confirm", ready=lambda c: bool(c.screen.id_masked))),
        S("already booked, with the slip offered", lambda c: c.tap("confirm_book"),
          _cond("'already booked' with a button for the slip", lambda c: c.app.sm.current == "message"
                and c.screen.code == "rejected.conflict" and c.find("msg_action") is not None), "book-conflict"),
        S("the booking's slip again", lambda c: (_printed_more(c), c.tap("msg_action")),
          on_screen("book_done", ready=lambda c: c.screen.existing and c.screen.status == "shown"
                    and c.screen.printed == "yes" and _printed(c) and bool(c.screen.window)
                    and "预约凭条" in _last_ticket(c)), "book-existing-slip"),
        S("home", lambda c: c.tap("done"), home),
        # the next citizen books the same service that day: not jammed by the refusal before
        S("next citizen", lambda c: c.tap("tile_book"), on_screen("book", ready=lambda c: c.find("bitem_0") is not None)),
        S("day", lambda c: c.tap("bitem_0"), on_screen("book_day", ready=lambda c: c.find("day_0") is not None)),
        S("slot", lambda c: c.tap("day_0"), on_screen("book_slot", ready=lambda c: c.screen.status == "loaded")),
        S("identify by card", lambda c: c.tap("slot_2"), on_screen("identify")),
        S("card: name as name, ID number as ID", lambda c: c.sim.place_card(CARD),
          on_screen("book_confirm", ready=card_confirm), "book-confirm-card", timeout_s=15),
        S("the next citizen is booked", lambda c: (_printed_more(c), c.tap("confirm_book")),
          on_screen("book_done", ready=lambda c: c.screen.status == "shown" and not c.screen.existing
                    and c.screen.printed == "yes" and _printed(c)
                    and f"姓名：{privacy.mask_name(_citizen(CARD)['name'])}" in _last_ticket(c)), "book-next-citizen"),
        S("card taken after booking: home", lambda c: c.sim.remove_card(), home),
    ]


# -- the other flows -------------------------------------------------------------------------
def citizen_tour(langs=("zh_CN",)) -> list[Step]:
    """Garbage and the kiosk's own codes scanned; progress by card, its promised date, its slip's
    code; a card pulled mid-flow; consult / rate / complain with reference numbers and locked
    forms; the maintenance screen's success in green."""
    from kiosk.services import tickets
    lang = langs[0]
    S = functools.partial(Step, lang=lang)
    home = on_screen("home")
    phone = "13812345678"

    def keep_ticket_code(c: Ctx) -> bool:
        if c.app.sm.current != "ticket" or not c.screen.printed or not _printed(c):
            return False
        text = _last_ticket(c)
        c.ticket_code = tickets.follow_ticket_url(c.app.services.checkin.follow_url, c.screen.result.get("follow_token"))
        return "排队取号凭条" in text and "预约取号凭条" not in text and "姓名" not in text and bool(c.ticket_code)

    def listed_with_date(c: Ctx) -> bool:
        a = c.screen.application
        return (c.screen.status == "shown" and len(c.screen.applications) == 3 and bool(a)
                and a["promised_deadline"] in c.screen.ids.summary.text)

    def keep_slip_code(c: Ctx) -> bool:
        if c.screen.print_state != "printed" or not _printed(c):
            return False
        c.slip_no = c.screen.application["application_no"]
        c.slip_code = tickets.follow_application_url(c.app.services.checkin.follow_url, c.slip_no)
        return "办件进度查询单" in _last_ticket(c)

    def overdue_with_date(c: Ctx) -> bool:
        a = c.screen.application
        return (c.screen.status == "shown" and a.get("days_left", 0) < 0
                and f"承诺 {a['promised_deadline']} 前办结" in c.screen.ids.summary.text)

    def app_no(c: Ctx, k: int) -> str:
        """The 18 digits of demo application k's number (after "SQ": filing date, region, serial)."""
        from hall_central import seed
        return seed.demo_application_no(k, c.app.services.clock.today())[2:]

    def type_app(k: int):
        return lambda c: _type(app_no(c, k))(c)

    def app_grouped(c: Ctx) -> bool:
        no = app_no(c, 2)
        shown = f"SQ {no[:8]} {no[8:14]} {no[14:]}"
        return any(shown in t for t in _texts(c))

    def sent_and_locked(screen: str, lock_id: str):
        def cond(c: Ctx) -> bool:
            texts = " ".join(_texts(c))
            s = c.screen
            return (c.app.sm.current == screen and s.sent == "yes" and s.reference.startswith("FB")
                    and f"受理编号：{s.reference}" in texts and not s.ids.outcome.disabled
                    and c.find(lock_id) is None and c.find("done") is not None)
        cond.__doc__ = f"{screen}: sent, its reference shown, the form locked"
        return cond

    def phone_masked(c: Ctx) -> bool:
        texts = " ".join(_texts(c))
        return privacy.mask_phone(phone) in texts and phone not in texts and "138 1234 5678" not in texts

    def corner(c: Ctx) -> None:   # the staff's way in: five taps in the top-left corner
        for _ in range(5):
            touch.tap_at(8, c.app.root.height - 8)

    def green_status(c: Ctx) -> bool:
        labels = [w for w in c.screen.walk() if getattr(w, "text", "") == c.screen.status and c.screen.status]
        return bool(labels) and "已打印" in c.screen.status and tuple(labels[0].color) == tuple(theme.OK)

    return [
        S("home", None, home),
        # walk-in: garbage scanned is explained; the ticket is a walk-in ticket with a token code
        S("walk-in", lambda c: c.tap("tile_walkin"), on_screen("walkin", ready=lambda c: c.find("line_0") is not None)),
        S("garbage scanned on the walk-in screen", lambda c: c.sim.scan("%%not-a-code-at-all%%"),
          _msg("unknown_code"), "walkin-garbage"),
        S("back to the walk-in lines", lambda c: c.tap("msg_back"),
          on_screen("walkin", ready=lambda c: c.find("line_0") is not None)),
        S("walk-in ticket", lambda c: (_printed_more(c), c.tap("line_0")), keep_ticket_code, "walkin-ticket"),
        S("home", lambda c: c.tap("done"), home),
        S("the ticket's own code scanned", lambda c: c.sim.scan(c.ticket_code), _msg("queue_ticket"), "ticket-code"),
        S("home", lambda c: c.tap("msg_back"), home),
        # progress: a card on the progress screen lists the holder's applications, with the date
        S("progress", lambda c: c.tap("tile_progress"), on_screen("progress")),
        S("card on the progress screen", lambda c: c.sim.place_card(ELDER),
          on_screen("progress", ready=listed_with_date), "progress-card", timeout_s=15),
        S("progress slip", lambda c: (_printed_more(c), c.tap("print_slip")), on_screen("progress", ready=keep_slip_code)),
        S("card pulled mid-flow", lambda c: c.sim.remove_card(), _msg("card_removed"), "card-removed"),
        S("home", _leave_message, home),
        S("the slip's code scanned", lambda c: c.sim.scan(c.slip_code),
          on_screen("progress", ready=lambda c: c.screen.status == "shown"
                    and c.screen.application.get("application_no") == c.slip_no), "progress-slip-code"),
        S("home", lambda c: c.tap("home"), home),
        S("progress by number", lambda c: c.tap("tile_progress"), on_screen("progress")),
        S("number grouped while typed", type_app(2), on_screen("progress", ready=app_grouped)),
        S("overdue: the promised date shown", lambda c: c.tap("lookup"), on_screen("progress", ready=overdue_with_date),
          "progress-overdue"),
        S("home", lambda c: c.tap("home"), home),
        # consult / rate / complain
        S("feedback choice", lambda c: c.tap("tile_feedback"),
          on_screen("feedback_menu", ready=lambda c: all(c.find(t) for t in ("fb_consult", "fb_rate", "fb_complain"))),
          "feedback-menu"),
        S("consult", lambda c: c.tap("fb_consult"), on_screen("consult")),
        S("phone grouped while typed", _type(phone), on_screen("consult", ready=lambda c: any("138 1234 5678" in t for t in _texts(c)))),
        S("consult sent", lambda c: c.tap("callback"), sent_and_locked("consult", "key_1"), "consult-sent"),
        S("the phone echoed back masked", None, on_screen("consult", ready=phone_masked)),
        S("home", lambda c: c.tap("done"), home),
        S("rate", lambda c: c.tap("tile_feedback"), on_screen("feedback_menu")),
        S("rate form", lambda c: c.tap("fb_rate"), on_screen("feedback")),
        S("rated", lambda c: (c.tap("rate_4"), c.tap("submit")), sent_and_locked("feedback", "rate_5"), "rate-sent"),
        S("home", lambda c: c.tap("done"), home),
        S("complain", lambda c: c.tap("tile_feedback"), on_screen("feedback_menu")),
        S("complaint form", lambda c: c.tap("fb_complain"), on_screen("complain")),
        S("complaint filled", lambda c: (c.tap("reason_attitude"), _type(phone)(c)),
          on_screen("complain", ready=lambda c: c.find("submit") is not None)),
        S("complaint sent", lambda c: c.tap("submit"), sent_and_locked("complain", "reason_waiting"), "complain-sent"),
        S("the complaint's phone masked", None, on_screen("complain", ready=phone_masked)),
        S("home", lambda c: c.tap("done"), home),
        # a visitor who never identifies: English and large type on the guide, then gone
        S("English", lambda c: c.tap("lang"), on_screen("home", ready=lambda c: c.app.lang == "en")),
        S("large type", lambda c: c.tap("elder"), on_screen("home", ready=lambda c: c.app.elder)),
        S("the guide in English, large type", lambda c: c.tap("tile_guide"),
          on_screen("guide", ready=lambda c: c.app.lang == "en" and c.app.elder)),
        S("the visitor walked away: home, the terminal's language, standard type",
          lambda c: c.sim.advance(c.app.services.sessions.effective_timeout_s() + 1, wall=False),
          _cond("home in zh_CN, standard type", lambda c: c.app.sm.current == "home" and not c.app.elder
                and c.app.lang == c.app.services.sessions.default_language), "visitor-gone"),
        # staff: a success in green
        S("maintenance", corner, on_screen("maintenance")),
        S("unlocked", lambda c: (_type(DEMO_PIN)(c), c.tap("pin_ok")), on_screen("maintenance", ready=lambda c: c.screen.unlocked)),
        S("test page printed, said in green", lambda c: (_printed_more(c), c.tap("test_print")),
          on_screen("maintenance", ready=lambda c: _printed(c) and not c.app.busy and green_status(c)),
          "maintenance-printed"),
        S("back home", lambda c: c.tap("maint_back"), home),
        # staff PIN: the lock-out outlives the screen (dropped once the kiosk is back home)
        S("maintenance again", corner, on_screen("maintenance")),
        S("wrong PINs lock it", lambda c: [(_type("1357")(c), c.tap("pin_ok")) for _ in range(MAX_FAILURES)],
          on_screen("maintenance", ready=lambda c: c.screen.gate.locked_s() > 0 and bool(c.screen.status))),
        S("left", lambda c: c.tap("maint_back"), home),
        # back at once: the lock is told on arrival, its seconds left, and the keypad is off
        S("still locked: told at once, the keypad off", corner,
          on_screen("maintenance", ready=lambda c: not c.screen.unlocked and c.screen.gate.locked_s() > 0
                    and c.screen.lock_left > 0 and f"{c.screen.lock_left} 秒" in c.screen.status
                    and c.find("key_1") is None)),
        S("still locked: OK refused", lambda c: c.tap("pin_ok"),
          on_screen("maintenance", ready=lambda c: not c.screen.unlocked and c.screen.gate.locked_s() > 0
                    and "已锁定" in c.screen.status)),
        # nobody touches the staff screen past the lock and the idle time: it goes home by itself
        S("the lock over, the staff screen left alone", lambda c: c.sim.advance(
            max(c.screen.gate.locked_s(), c.app.services.sessions.effective_timeout_s()) + 1, wall=False), home),
        S("maintenance after the lock", corner, on_screen("maintenance")),
        S("unlocked after the lock", lambda c: (_type(DEMO_PIN)(c), c.tap("pin_ok")),
          on_screen("maintenance", ready=lambda c: c.screen.unlocked)),
        S("home", lambda c: c.tap("maint_back"), home),
        # the network down while a card lists its holder's applications: back leads home, not
        # to the same failing list again (last: the central service reconnects in its own time)
        S("offline", lambda c: c.sim.set_online(False), _cond("offline", lambda c: not c.app.online), timeout_s=60),
        S("progress offline", lambda c: c.tap("tile_progress"), on_screen("progress")),
        S("card on the progress screen offline", lambda c: c.sim.place_card(ELDER), _msg("network.offline"),
          timeout_s=15),
        # the card is still on the reader: its holder is asked to take it (home once it is taken)
        S("back from the offline error: the session ended, take the card", lambda c: c.tap("msg_back"),
          _cond("'take your card', the session ended", lambda c: c.app.sm.current == "message"
                and c.screen.kind == "take_card" and c.app.services.sessions.citizen is None)),
        S("online again", lambda c: (c.sim.remove_card(), c.sim.set_online(True)),
          _cond("home, online", lambda c: c.app.sm.current == "home" and c.app.online), timeout_s=60),
    ]
