"""The staff's PIN entry on the maintenance screen, as the staff meet it (a cold try): its keypad
never moves when a status appears, nothing typed is not a try, the try that locks says so at
once, and the lock's status follows the language and counts its seconds down, the keypad off
until it ends. The real screen on stand-in services (screen_probe); the PIN's lock-out is the
real kiosk.services.staff_pin.PinGate on the probe's clock, which moves only when told.
"""
from __future__ import annotations

import pytest

from tests.kiosk.screens.screen_probe import probe

pytestmark = [pytest.mark.ui]
MOD = "tests.kiosk.screens.test_maintenance_pin"
PIN = "2468"
#: A hang guard for a state the screen reaches within a few frames (the machine may be loaded).
WAIT_S = 20.0


def _open(app, ui):
    """The maintenance screen as the corner taps open it, with a PIN gate on the probe's clock."""
    from types import SimpleNamespace

    from kiosk.pin import hash_pin
    from kiosk.services.facade import TerminalInfo
    from kiosk.services.staff_pin import PinGate

    def setup():
        # (the probe app has no configured language: the terminal's is zh_CN)
        app.use_default_language = lambda: setattr(app, "lang", "zh_CN")
        services = app.services
        services.staff_pin = PinGate(hash_pin(PIN, iterations=1000), clock=services.sessions.clock)
        # what the report behind the PIN reads
        services.health = lambda: {"online": True, "outbox_depth": 0, "devices": {}}
        services.info = TerminalInfo(terminal_id="ZM-M-01", name="1号自助终端", hall="刁家乡便民服务中心",
                                     hall_code="H410122203", profile="kiosk", regions=[], version="0.1.0")
        services.guide.cache = SimpleNamespace(english_gaps=lambda: [])
        app.go("maintenance")
    ui.call(setup)
    ui.frames(3)
    return app.sm.get_screen("maintenance")


def _wait(ui, pred, what: str) -> bool:
    """Whether ``pred`` came true within WAIT_S (frames apart); False instead of raising, so that
    the test says which state was not reached."""
    from hall_demo.explore_ui import UiTimeout
    try:
        ui.wait_until(pred, WAIT_S, what)
        return True
    except UiTimeout:
        return False


def _key_top(screen) -> float:
    key = next(w for w in screen.ids.keypad.children if getattr(w, "tour_id", "") == "key_1")
    return round(key.to_window(key.x, key.top)[1], 1)


def _type_and_ok(ui, digits: str) -> None:
    for d in digits:
        assert ui.tap_id(f"key_{d}"), f"key {d} not on screen"
    assert ui.tap_id("pin_ok"), "OK not on screen"


def drive_keypad_stays(app, ui) -> dict:
    """For each language and type size: key 1's top edge with no status, after a wrong PIN, after
    OK with nothing typed, and once the lock is told."""
    screen = _open(app, ui)
    clock = app.services.sessions.clock
    out = {}
    for lang in ("zh_CN", "en"):
        for elder in (False, True):
            def setup(lang=lang, elder=elder):
                app.lang, app.elder = lang, elder
                screen.prepare()
                app.lang = lang   # (prepare went back to the terminal's language)
            ui.call(setup)
            ui.frames(3)
            tops = {"none": ui.call(lambda: _key_top(screen))}
            _type_and_ok(ui, "13")
            _wait(ui, lambda: bool(screen.status), "the wrong PIN told")
            ui.frames(2)
            tops["wrong"] = ui.call(lambda: _key_top(screen))
            said = {"wrong": ui.call(lambda: screen.status)}
            assert ui.tap_id("pin_ok")
            ui.frames(3)   # (the tap was handled in the frame after it: ui.tap)
            tops["empty"] = ui.call(lambda: _key_top(screen))
            for _ in range(2):   # (the wrong PIN above was the first failure)
                _type_and_ok(ui, "13")
            _wait(ui, lambda: screen.gate.locked_s() > 0, "the lock")
            ui.frames(3)
            tops["locked"] = ui.call(lambda: _key_top(screen))
            out[f"{lang} {'large' if elder else 'standard'}"] = {
                "tops": tops, "said": {**said, "locked": ui.call(lambda: screen.status)}}

            def lift(clock=clock):   # past the lock, and its count forgotten (a right PIN)
                clock.t += screen.gate.locked_s() + 1
                screen.gate.limiter.success()
            ui.call(lift)
    return out


def test_the_pin_pad_does_not_move_when_a_status_appears(display, tmp_path, font_cache):
    """It moved 35 px down when "密码错误。" appeared (key 1 from y 489 to 454): the next digit
    landed on another key."""
    out = probe(display, tmp_path, f"{MOD}:drive_keypad_stays", "maintenance", font_dir=font_cache)
    for case, seen in out.items():
        tops = seen["tops"]
        assert max(tops.values()) - min(tops.values()) < 0.5, (case, tops)
        assert all(seen["said"].values()), (case, seen["said"])   # (the statuses were shown)


def drive_empty_and_lock(app, ui) -> dict:
    """OK with nothing typed, then three wrong PINs: what the screen says after each, and the
    gate's counts."""
    from kiosk.services.staff_pin import MAX_FAILURES
    screen = _open(app, ui)
    gate = app.services.staff_pin
    out = {}
    assert ui.tap_id("pin_ok")
    out["empty_told"] = _wait(ui, lambda: bool(screen.status), "a word after OK with nothing typed")
    out["empty"] = ui.call(lambda: {"status": screen.status, "failures": gate.limiter.failures,
                                    "locked_s": gate.locked_s()})
    def tries() -> int:   # wrong PINs counted (a lock-out starting sets the failures back to 0)
        return gate.limiter.failures + gate.limiter.locks * MAX_FAILURES
    for n in range(3):
        before = ui.call(tries)
        _type_and_ok(ui, "1357")
        _wait(ui, lambda before=before: tries() > before, f"wrong PIN {n + 1} counted")
        ui.frames(2)
        out[f"wrong_{n + 1}"] = ui.call(lambda: {"status": screen.status, "locked_s": gate.locked_s(),
                                                 "key_1_on": not screen.ids.keypad.disabled})
    return out


def test_nothing_typed_is_not_a_try_and_the_lock_is_told_when_it_starts(display, tmp_path, font_cache):
    """An empty PIN counted as a failure (staff_pin.json: failures 1), and the third wrong PIN
    locked the terminal while the screen said only "密码错误。"."""
    out = probe(display, tmp_path, f"{MOD}:drive_empty_and_lock", "maintenance", font_dir=font_cache)
    empty = out["empty"]
    assert empty["failures"] == 0 and empty["locked_s"] == 0, empty
    assert empty["status"] == "请先输入维护密码。", empty
    assert out["wrong_1"]["status"] == out["wrong_2"]["status"] == "密码错误。", out
    third = out["wrong_3"]
    assert third["locked_s"] == 60, third
    assert third["status"] == "密码错误次数过多，已锁定 60 秒。", third
    assert not third["key_1_on"], third


def drive_lock_follows(app, ui) -> dict:
    """Locked out, then English and large type, then the clock moves: what the status says, and
    whether the keypad takes digits; at the lock's end, the right PIN."""
    screen = _open(app, ui)
    clock = app.services.sessions.clock
    out = {}
    for _ in range(3):
        _type_and_ok(ui, "1357")
    out["locked"] = _wait(ui, lambda: screen.gate.locked_s() > 0, "the lock")
    ui.call(app.toggle_language)
    ui.call(lambda: setattr(app, "elder", True))
    ui.frames(3)
    out["en"] = ui.call(lambda: screen.status)
    ui.call(lambda: setattr(clock, "t", clock.t + 20))
    out["counted_down"] = _wait(ui, lambda: "40 s" in screen.status, "the lock's seconds counted down")
    out["en_40"] = ui.call(lambda: screen.status)
    out["key_1_while_locked"] = ui.find("key_1") is not None   # (a disabled key is no target)
    ui.call(app.toggle_language)
    ui.frames(3)
    out["zh_40"] = ui.call(lambda: screen.status)
    ui.call(lambda: setattr(clock, "t", clock.t + 41))
    out["lock_over"] = _wait(ui, lambda: not screen.status
                             and not screen.ids.keypad.disabled, "the lock over: no status, the keypad on")
    out["key_1_after"] = ui.find("key_1") is not None
    if out["key_1_after"]:
        _type_and_ok(ui, PIN)
        out["unlocked"] = _wait(ui, lambda: screen.unlocked, "unlocked by the right PIN")
    return out


def test_the_lock_follows_the_language_and_counts_down_then_the_keypad_is_on_again(display, tmp_path, font_cache):
    """Locked out, English and large type left "密码错误次数过多，已锁定 40 秒。" in Chinese, and its
    seconds never moved."""
    out = probe(display, tmp_path, f"{MOD}:drive_lock_follows", "maintenance", font_dir=font_cache)
    assert out["locked"], out
    assert out["en"] == "Too many wrong PINs: locked for 60 s.", out
    assert out["counted_down"] and out["en_40"] == "Too many wrong PINs: locked for 40 s.", out
    assert not out["key_1_while_locked"], out
    assert out["zh_40"] == "密码错误次数过多，已锁定 40 秒。", out
    assert out["lock_over"] and out["key_1_after"] and out.get("unlocked"), out
