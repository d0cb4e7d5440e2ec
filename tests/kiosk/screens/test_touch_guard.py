"""A tap that lands just after a message went home by itself is swallowed, not taken by the tile
that sits under the message's button (a cold try: booking opened under the timeout notice's Home);
a tap once the guard is down works. kiosk.screens.touchguard, and the real message and home
screens on stand-in services (screen_probe)."""
from __future__ import annotations

import pytest

from kiosk.screens import touchguard
from tests.kiosk.screens.screen_probe import probe


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_guard_swallows_for_its_time_after_the_new_screen_is_in_place():
    clock = Clock()
    guard = touchguard.TouchGuard(clock)
    assert not guard.swallows()
    guard.arm("message timeout", settle_s=0.3)     # the slide home, then GUARD_S
    clock.t += 0.3 + touchguard.GUARD_S - 0.01
    assert guard.swallows() and guard.why == "message timeout"
    clock.t += 0.02
    assert not guard.swallows() and guard.left() == 0


def drive_auto_home(app, ui) -> dict:
    from hall_demo import touch
    ui.call(lambda: app.go("message", kind="timeout"))
    ui.frames(3)

    def button_at():
        b = next(w for w in app.sm.current_screen.walk() if getattr(w, "tour_id", "") == "msg_back")
        return b.to_window(b.center_x, b.center_y)
    x, y = ui.call(button_at)
    app.services.sessions.clock.t += 60        # the message's time is up (the runtime's clock)
    ui.wait_until(lambda: app.sm.current == "home", 5.0, "the message going home by itself")
    ui.call(lambda: touch.tap_at(x, y))        # the finger that was on its way to the message's button
    ui.frames(2)
    during = [name for name, _ in app.gone]
    ui.wait_until(lambda: not app.touch_guard.swallows(), 5.0, "the guard going down")
    ui.call(lambda: touch.tap_at(x, y))
    ui.frames(2)
    return {"guarded": app.guarded, "during": during, "after": [name for name, _ in app.gone]}


@pytest.mark.ui
def test_a_tap_just_after_a_message_went_home_by_itself_is_swallowed(display, tmp_path, font_cache):
    out = probe(display, tmp_path, "tests.kiosk.screens.test_touch_guard:drive_auto_home", "message,home",
                font_dir=font_cache)
    assert out["guarded"] == ["message timeout"], out
    assert out["during"] == ["message", "home"], out          # nothing opened by the early tap
    assert len(out["after"]) == 3 and out["after"][2] != "home", out   # the same spot later: a tile's flow
