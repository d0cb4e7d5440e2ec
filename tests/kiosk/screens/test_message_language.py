"""A message that names something of the citizen's (the held booking's service, the day a booking
slip is for, why a line is not open) follows a language switch made while it is shown: before,
the title and the buttons changed language and the detail stayed in the old one (a cold try:
"您已预约 居民身份证换领 09:00-09:30" became "You booked 居民身份证换领 09:00-09:30.").

The real screens on stand-in services (tests/kiosk/screens/screen_probe.py)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.kiosk.screens.screen_probe import probe

pytestmark = [pytest.mark.ui]

HELD = {"appointment_id": "A1", "item_code": "110", "item_name": "居民身份证换领", "item_name_en": "ID card renewal",
        "date": "2026-03-19", "start": "09:00", "end": "09:30"}


def _body(app) -> str:
    return app.sm.get_screen("message").ids.body.text


def _both_languages(app, ui) -> dict:
    """The message's body as shown, then after the language switch: {"zh": ..., "en": ...}."""
    ui.frames(2)
    zh = ui.call(lambda: _body(app))
    ui.call(app.toggle_language)
    ui.frames(2)
    return {"zh": zh, "en": ui.call(lambda: _body(app))}


def drive_clash(app, ui) -> dict:
    def outcome(result):  # what BookingService.outcome keeps of an answer localized by the screen
        return {"item": result["item_name"], "start": result["start"], "end": result["end"]}
    app.services.booking = SimpleNamespace(outcome=outcome)
    from kiosk.network.errors import Rejected
    ui.call(lambda: app.sm.get_screen("book_confirm")._conflict(Rejected("conflict", "", "appointment.book"),
                                                                 {"why": "time", "booking": HELD}))
    return _both_languages(app, ui)


def drive_already_booked(app, ui) -> dict:
    from kiosk.network.errors import Rejected
    ui.call(lambda: app.sm.get_screen("book_confirm")._conflict(Rejected("conflict", "", "appointment.book"),
                                                                 {"why": "item", "booking": HELD}))
    return {**_both_languages(app, ui), "action": ui.call(lambda: ui.find("msg_action") is not None)}


def drive_early_slip(app, ui) -> dict:
    app.services.checkin = SimpleNamespace(slip_time=lambda code: ("2026-03-19", "09:30"))
    from kiosk.network.errors import Rejected
    ui.call(lambda: app.sm.get_screen("checkin_code")._failed(Rejected("too_early", "", "checkin")))
    return _both_languages(app, ui)


def drive_line_not_open(app, ui) -> dict:
    app.services.walkin = SimpleNamespace(offers=lambda lang: [{"name": "老年人优先", "code": "P", "offer": "age", "age": 60}])
    ui.call(lambda: app.go("walkin"))
    ui.frames(2)
    ui.tap_id("line_0")
    both = _both_languages(app, ui)
    return {"screen": ui.call(lambda: app.sm.current), **both}


def test_a_time_clash_names_the_held_service_in_the_new_language(display, tmp_path, font_cache):
    out = probe(display, tmp_path, "tests.kiosk.screens.test_message_language:drive_clash", "message,book",
                font_dir=font_cache)
    assert "居民身份证换领 09:00-09:30" in out["zh"], out
    assert "You booked ID card renewal 09:00-09:30." in out["en"], out


def test_an_early_slip_says_its_date_in_the_new_language(display, tmp_path, font_cache):
    out = probe(display, tmp_path, "tests.kiosk.screens.test_message_language:drive_early_slip", "message,checkin",
                font_dir=font_cache)
    assert "2026年3月19日" in out["zh"], out
    assert "19 March 2026" in out["en"] and "年" not in out["en"], out


def test_why_a_line_is_not_open_follows_the_language(display, tmp_path, font_cache):
    out = probe(display, tmp_path, "tests.kiosk.screens.test_message_language:drive_line_not_open", "message,walkin",
                font_dir=font_cache)
    assert out["screen"] == "message", out
    assert "60" in out["en"] and "aged 60" in out["en"], out


def drive_priority_line_back_not_theirs(app, ui) -> dict:
    """Back on the lines from identifying for the older people's line (``take``), still not theirs:
    a typed number (the card needed), then a card holder too young."""
    state = {"offer": "card"}
    app.services.walkin = SimpleNamespace(offers=lambda lang: [{"name": "老年人优先", "code": "P", "offer": state["offer"],
                                                                "age": 60}])
    app.services.sessions.citizen = SimpleNamespace()  # identified (what the offers were made for)
    out = {}
    for offer in ("card", "age"):
        state["offer"] = offer
        ui.call(lambda: app.go("walkin", take="P"))
        ui.frames(3)
        out[offer] = {"screen": ui.call(lambda: app.sm.current), "kind": ui.call(lambda: getattr(app.sm.current_screen, "kind", "")),
                      "title": ui.call(lambda: app.sm.get_screen("message").ids.title.text), "zh": ui.call(lambda: _body(app)),
                      "pending": ui.call(lambda: [app.pending_flow, app.pending_then])}
        ui.call(lambda: app.after_identify("checkin"))
    return out


def test_a_citizen_back_from_identifying_for_a_line_not_theirs_is_told_why_at_once(display, tmp_path, font_cache):
    # Before: back on the list in front of a greyed line, without a word (a cold try). And a typed
    # number was told "该业务暂不向您开放" (not open to you) though its holder was 68: the card is
    # needed, said as such, and the card placed on that message goes on with the line (a cold try).
    out = probe(display, tmp_path, "tests.kiosk.screens.test_message_language:drive_priority_line_back_not_theirs",
                "message,walkin,identify", font_dir=font_cache)
    card, age = out["card"], out["age"]
    assert card["screen"] == "message" and card["kind"] == "line_needs_card", out
    assert "身份证" in card["zh"] and "社保卡" in card["zh"] and "60" in card["zh"], out
    assert "不向您开放" not in card["title"] + card["zh"], out
    assert card["pending"] == ["walkin", {"take": "P"}], out
    assert age["screen"] == "message" and age["kind"] == "line_not_open" and "60" in age["zh"], out
    assert age["pending"] == ["checkin", {}], out


def test_already_booked_says_the_day_and_time_held_in_the_new_language(display, tmp_path, font_cache):
    # A cold try: "Already booked" said neither day nor time; only the reprinted slip did.
    out = probe(display, tmp_path, "tests.kiosk.screens.test_message_language:drive_already_booked", "message,book",
                font_dir=font_cache)
    assert "您已预约该事项：2026年3月19日 09:00" in out["zh"], out
    assert "booking for this service: 19 March 2026 at 09:00" in out["en"] and "年" not in out["en"], out
    assert out["action"], out   # its slip can be printed again
