"""What a cold try of the citizen's terminal found (a person with xdotool on the demo stack), as
tour steps: played by ``hall_demo.testrun --tour tests.kiosk.screens.cold_try_steps:cold_try_tour``
on the real stack (Mosquitto, the reference central service, the simulators, a real Kivy window on
Xvfb); tests/kiosk/screens/test_cold_try.py checks which steps passed.

- Large type (elder mode) made the identify keypad's keys smaller (86 px -> 62-65 px at 1280x800).
- The list of a card holder's applications did not mark the one shown beside it.
- "handling now" wrapped onto two lines in the English four-level timeline.
- The complaint form's "Send" was off with a part of a phone number typed, without a word why.
- A booking slip scanned before its day said "not yet" without saying when the booking is.
- The priority walk-in line (老年人优先) not open to a citizen: its reason under its name spilled out
  of the button in English large type; now the name alone, and a tap says why.
- The priority line trapped an eligible 68-year-old: identification offered the keypad, the typed
  number was answered "not open to you", and the card then placed opened the appointment check-in.
  Now identification for the line takes the cards only and says why, the card prints the line's
  ticket at once, and a card still needed is said as such, the card placed there printing it too.
"""
from __future__ import annotations

import datetime as dt
import functools

from hall_demo.tour import Ctx, Step, on_screen
from hall_demo.tour_steps import _cond, _ensure_lang, _home_in, _leave_message, _msg, _texts, _type

#: The demo citizen with three applications (hall_central.seed.DEMO_APPLICATIONS).
ELDER = 1
#: The demo citizen without appointments, who types their ID number to book.
TYPED = 2
#: The priority walk-in line (老年人优先, the catalogue's line with min_age 60); ELDER is 68.
PRIORITY = "G"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def _key(c: Ctx):
    return c.find("key_1")


def _keys_inside(c: Ctx) -> bool:
    """The keypad's last row (the lowest keys; X is off on a phone's keypad) whole inside the window."""
    return all(c.shown_whole(f"key_{k}") for k in ("0", "←"))


def _rendered_lines(label) -> list[str]:
    """The lines a label drew (after wrapping), as text."""
    label.texture_update()
    return ["".join(w.text for w in line.words) for line in label._label._cached_lines]


def _states_whole(c: Ctx) -> bool:
    """Every timeline column's state ("handling now", "done", "to come") on one drawn line."""
    from kiosk.screens.timeline import STATES
    timeline = c.screen.ids.timeline
    if not timeline.children:
        return False
    states = [c.app.tr(s) for _, s in STATES.values()]
    for label in timeline.children:
        lines = _rendered_lines(label)
        for state in states:
            if state in label.text and not any(state in line for line in lines):
                return False
    return True


def _marked(c: Ctx, shown: int) -> bool:
    """The list's button ``app_<shown>`` marked as the one shown, no other."""
    from kiosk.screens.progress import SHOWN_MARK
    box = c.screen.ids.app_list
    buttons = {b.tour_id: b for b in box.children}
    if len(buttons) < 2 or c.screen.status != "shown":
        return False
    current = c.screen.application.get("application_no", "")
    for i, a in enumerate(c.screen.applications):
        b = buttons.get(f"app_{i}")
        is_shown = i == shown
        if b is None or (a.get("application_no") == current) != is_shown:
            return False
        if (SHOWN_MARK in b.text) != is_shown or (b.kind == "primary") != is_shown:
            return False
    return True


def _priority(c: Ctx) -> str | None:
    """The tour id of the walk-in screen's priority line (the catalogue's line with ``min_age``)."""
    if c.app.sm.current != "walkin":
        return None
    offers = c.app.services.walkin.offers(c.app.lang)
    i = next((i for i, ln in enumerate(offers) if "age" in ln), None)
    return f"line_{i}" if i is not None and c.find(f"line_{i}") is not None else None


def _when(date: str, start: str, lang: str) -> str:
    d = dt.date.fromisoformat(date)
    return f"{d.year}年{d.month}月{d.day}日 {start}" if lang == "zh_CN" else f"{d.day} {MONTHS[d.month - 1]} {d.year} at {start}"


def cold_try_steps(lang: str, day: int) -> list[Step]:
    """The cold try's findings in ``lang``; ``day``: the booking's day (one booking per day and item)."""
    S = functools.partial(Step, lang=lang)
    home = _home_in(lang)
    std: dict[str, float] = {}    # the standard type's key size
    slip: dict[str, str] = {}     # the booked slip's day and start

    def keep_standard(c: Ctx) -> bool:
        k = _key(c)
        if c.app.sm.current != "identify" or c.app.elder or k is None or not k.height or not _keys_inside(c):
            return False
        std["h"], std["w"] = k.height, k.width
        return True

    def elder_keys(c: Ctx) -> bool:
        from kivy.metrics import Metrics

        from kiosk.screens import theme
        k = _key(c)
        if not (c.app.elder and k is not None and k.width > std["w"] * 1.2):   # laid out in large type
            return False
        return (k.height >= std["h"] - 0.5 and k.height >= theme.touch_px(Metrics.dpi, True) - 0.5
                and _keys_inside(c))

    def phone_hint(c: Ctx) -> bool:
        hint, send = c.find("phone_missing"), c.screen.ids.get("keypad")
        submit = next((w for w in c.screen.walk() if getattr(w, "tour_id", "") == "submit"), None)
        want = "还差4位" if lang == "zh_CN" else "4 more digits"
        return (c.app.sm.current == "complain" and send is not None and hint is not None and want in hint.text
                and hint.height > 0 and c.shown_whole("phone_missing") and submit is not None and submit.disabled
                and hint.y >= send.top - 0.5 and _keys_inside(c))

    def elder_phone_hint(c: Ctx) -> bool:
        from kivy.metrics import Metrics

        from kiosk.screens import theme
        k = _key(c)
        return (c.app.elder and k is not None and k.width > std["w"] * 1.2 and phone_hint(c)
                and k.height >= theme.touch_px(Metrics.dpi, True) - 0.5)

    def keep_slip(c: Ctx) -> bool:
        r = c.screen.result
        if c.screen.printed != "yes" or not r.get("checkin_code"):
            return False
        c.code, slip["date"], slip["start"] = r["checkin_code"], r["date"], r["start"]
        return True

    def says_when(c: Ctx) -> bool:
        body = "\n".join(w.text for w in c.screen.walk() if isinstance(getattr(w, "text", None), str))
        return (c.app.sm.current == "message" and c.screen.code == "rejected.too_early"
                and _when(slip["date"], slip["start"], lang) in body)

    def card_only(c: Ctx) -> bool:
        """Identify for the priority line: the two cards only (no keypad, no OK), why said up front
        (both cards, the line's age), a way back to the lines."""
        from kiosk.screens.identify import CARD_ONLY
        note = c.find("card_only")
        return (c.app.sm.current == "identify" and not c.app.sm.transition.is_active and not c.screen.reading
                and c.find("key_1") is None and c.find("id_ok") is None and c.find("back_flow") is not None
                and note is not None and c.app.tr(CARD_ONLY).format(n=60) in note.text and c.shown_whole("card_only"))

    def needs_card(c: Ctx) -> bool:
        """The message for a line a typed number cannot open: the card needed, never "not open to you"."""
        from kiosk.screens.identify import CARD_ONLY
        body = _texts(c.screen)
        return (c.app.sm.current == "message" and c.screen.kind == "line_needs_card"
                and c.app.tr(CARD_ONLY).format(n=60) in body and c.app.tr("This line is not open to you") not in body
                and c.find("msg_back") is not None)

    def priority_ticket(c: Ctx) -> bool:
        """The ticket of the priority line, printed, for the card's holder (no second tap)."""
        return (c.app.sm.current == "ticket" and not c.app.sm.transition.is_active and c.screen.kind == "walkin"
                and c.screen.result.get("line") == PRIORITY and c.screen.printed and len(c.sim.tickets()) > c.tickets0
                and c.app.services.sessions.citizen is not None and c.app.services.sessions.citizen.source == "idcard")

    def typed_session(c: Ctx) -> bool:
        s = c.app.services.sessions
        return s.citizen is not None and s.citizen.source == "keypad"

    def place_elder(c: Ctx) -> None:
        c.tickets0 = len(c.sim.tickets())
        c.sim.place_card(ELDER)

    def type_id(c: Ctx) -> None:
        from hall_central.seed import demo_citizens
        _type(demo_citizens()[TYPED]["id_number"])(c)

    def type_elder(c: Ctx) -> None:
        from hall_central.seed import demo_citizens
        _type(demo_citizens()[ELDER]["id_number"])(c)

    no_session = _cond("home, no session", lambda c: c.app.sm.current == "home" and not c.app.sm.transition.is_active
                       and c.app.services.sessions.citizen is None)
    walkin_typed = on_screen("walkin", ready=lambda c: _priority(c) is not None and typed_session(c))

    return [
        S("home", _ensure_lang(lang), home),
        # 1. the identify keypad in standard and in large type
        S("identify, standard type", lambda c: c.tap("tile_checkin"), _cond("identify, keys laid out", keep_standard),
          "identify"),
        S("identify, large type: keys not smaller", lambda c: c.tap("elder"),
          _cond("keys at least as large as in standard type, inside the window", elder_keys), "identify-elder"),
        S("standard type again", lambda c: c.tap("elder"), _cond("standard type", lambda c: not c.app.elder)),
        S("home from identify", lambda c: c.tap("back"), home),
        # 4. a complaint with a part of a phone number: what is missing, under the field
        S("complaint", lambda c: c.tap("tile_feedback"), on_screen("feedback_menu")),
        S("complaint form", lambda c: c.tap("fb_complain"), on_screen("complain")),
        S("complaint: phone partly typed says what is missing",
          lambda c: (c.tap("reason_waiting"), _type("1381234")(c)), _cond("the hint above the field", phone_hint),
          "complain-partial"),
        S("complaint hint in large type", lambda c: c.tap("elder"), _cond("the hint, large type", elder_phone_hint),
          "complain-partial-elder"),
        S("complaint standard type", lambda c: c.tap("elder"), _cond("standard type", lambda c: not c.app.elder)),
        S("complaint: number whole, hint gone", _type("5678"),
          on_screen("complain", ready=lambda c: c.find("phone_missing") is None or not c.find("phone_missing").text)),
        S("home from the complaint", lambda c: c.tap("back"), _cond("home or the menu", lambda c: c.app.sm.current in
                                                                    ("home", "feedback_menu"))),
        S("home", lambda c: c.app.home(), home),
        # 2. and 6. the card holder's applications: the one shown is marked; the timeline's states whole
        S("progress", lambda c: c.tap("tile_progress"), on_screen("progress")),
        S("progress by card: the first one marked", lambda c: c.sim.place_card(ELDER),
          on_screen("progress", ready=lambda c: _marked(c, 0)), "progress-card", timeout_s=20),
        S("no large type, thanks", lambda c: c.tap("elder_no") if c.app.elder_offer else None,
          on_screen("progress", ready=lambda c: not c.app.elder_offer and not c.app.elder)),
        S("timeline: each state on one line", None, on_screen("progress", ready=_states_whole)),
        S("another application: the mark moves", lambda c: c.tap("app_1"),
          on_screen("progress", ready=lambda c: _marked(c, 1) and _states_whole(c)), "progress-card-second"),
        S("card out", lambda c: c.sim.remove_card(), _cond("no session", lambda c: c.app.services.sessions.citizen is None)),
        S("home after the card", _leave_message, _cond("home", lambda c: c.app.sm.current == "home")),
        S("home", _ensure_lang(lang), home),
        # 3. a booking slip scanned before its day says when it is for
        S("book", lambda c: c.tap("tile_book"), on_screen("book", ready=lambda c: c.find("bitem_0") is not None)),
        S("book day", lambda c: c.tap("bitem_0"), on_screen("book_day", ready=lambda c: c.find(f"day_{day}") is not None)),
        S("book slot", lambda c: c.tap(f"day_{day}"), on_screen("book_slot", ready=lambda c: c.screen.status == "loaded")),
        S("book identify", lambda c: c.tap("slot_0"), on_screen("identify")),
        S("ID number typed", type_id, on_screen("identify", ready=lambda c: c.find("id_ok") is not None)),
        S("book confirm", lambda c: c.tap("id_ok"), on_screen("book_confirm", ready=lambda c: bool(c.screen.id_masked))),
        S("booked", lambda c: c.tap("confirm_book"), on_screen("book_done", ready=keep_slip), timeout_s=30),
        S("home after booking", lambda c: c.tap("done"), _cond("home", lambda c: c.app.sm.current == "home")),
        S("home", _ensure_lang(lang), home),
        S("slip scanned early: says the day and time", lambda c: c.sim.scan(c.code),
          _cond("the message naming the booking's day and time", says_when), "slip-too-early"),
        S("home at the end", lambda c: c.tap("msg_back"), _cond("home", lambda c: c.app.sm.current == "home")),
        # The priority line (a cold try: the keypad offered, the typed number answered "not open to
        # you", the card then placed opened the appointment check-in; the card placed first needed a
        # second tap on the line).
        S("walk-in lines", lambda c: c.tap("tile_walkin"), on_screen("walkin", ready=lambda c: _priority(c) is not None)),
        S("priority line: only a card, and why", lambda c: c.tap(_priority(c)),
          _cond("identify with the cards only, saying why", card_only), "walkin-card-only"),
        S("priority line: only a card, large type", lambda c: c.tap("elder"),
          _cond("the same in large type", lambda c: c.app.elder and card_only(c)), "walkin-card-only-elder"),
        S("priority line: standard type", lambda c: c.tap("elder"), _cond("standard type", lambda c: not c.app.elder)),
        S("priority line: the card prints its ticket", place_elder, _cond("the line's ticket, printed", priority_ticket),
          "walkin-priority-ticket", timeout_s=30),
        S("priority line: card out", lambda c: c.sim.remove_card(), no_session),
        # A typed number's session on the walk-in list (check-in found no appointment): the line asks
        # for the card the same way, and the card placed over that session prints the ticket.
        S("check-in, typed number", lambda c: c.tap("tile_checkin"), on_screen("identify")),
        S("check-in: number typed", type_elder, on_screen("identify", ready=lambda c: c.find("id_ok") is not None)),
        S("check-in: no appointment", lambda c: c.tap("id_ok"), _msg("no_appointment"), timeout_s=20),
        S("walk-in from the message", lambda c: c.tap("msg_action"), walkin_typed),
        S("priority line, typed number: only a card", lambda c: c.tap(_priority(c)),
          _cond("identify with the cards only, over the typed number's session", lambda c: card_only(c) and typed_session(c))),
        S("priority line, typed number: the card prints its ticket", place_elder,
          _cond("the line's ticket, printed", priority_ticket), timeout_s=30),
        S("priority line, typed number: card out", lambda c: c.sim.remove_card(), no_session),
        # Should a typed number still be refused for the line: the card is asked for, not "not open
        # to you", and the card placed on that message prints the ticket (not the check-in).
        S("check-in, typed number again", lambda c: c.tap("tile_checkin"), on_screen("identify")),
        S("check-in: number typed again", type_elder, on_screen("identify", ready=lambda c: c.find("id_ok") is not None)),
        S("check-in: no appointment again", lambda c: c.tap("id_ok"), _msg("no_appointment"), timeout_s=20),
        S("walk-in from the message again", lambda c: c.tap("msg_action"), walkin_typed),
        S("priority line, typed number refused: the card asked for", lambda c: c.app.go("walkin", take=PRIORITY),
          _cond("the message asking for the card", needs_card), "walkin-needs-card"),
        S("priority line, typed number refused: the card prints its ticket", place_elder,
          _cond("the line's ticket, printed", priority_ticket), timeout_s=30),
        S("home at the very end", lambda c: c.sim.remove_card(), no_session),
    ]


def cold_try_tour(langs=("zh_CN", "en")) -> list[Step]:
    """The findings in each language (each books its own day)."""
    return [s for i, lang in enumerate(langs) for s in cold_try_steps(lang, i)]

