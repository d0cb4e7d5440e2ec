"""A screen with one button (a message without a second action, the ticket) has it in one place
and one size: the message's lone Home sat on the left half of its row, 110 px tall and 40 px in,
the ticket's Done across the width, 84 px tall and 24 px in. The real screens (screen_probe)."""
from __future__ import annotations

import pytest

from tests.kiosk.screens.screen_probe import probe

pytestmark = [pytest.mark.ui]


def _rect(app, tour_id: str) -> list[float]:
    w = next(w for w in app.sm.current_screen.walk() if getattr(w, "tour_id", "") == tour_id)
    x, y = w.to_window(w.x, w.y)
    return [round(x, 1), round(y, 1), round(w.width, 1), round(w.height, 1)]


def drive(app, ui) -> dict:
    out = {}
    for elder in (False, True):
        ui.call(lambda elder=elder: setattr(app, "elder", elder))
        for kind in ("timeout", "help", "card_removed"):
            ui.call(lambda kind=kind: app.go("message", kind=kind))
            ui.frames(3)
            out[f"{kind} {elder}"] = ui.call(lambda: _rect(app, "msg_back"))
        ui.call(lambda: app.go("message", kind="no_appointment"))    # two buttons: each half the row
        ui.frames(3)
        out[f"two {elder}"] = ui.call(lambda: [_rect(app, "msg_back"), _rect(app, "msg_action")])
        ui.call(lambda: setattr(app.sm, "current", "ticket"))
        ui.frames(3)
        out[f"ticket {elder}"] = ui.call(lambda: _rect(app, "done"))
    return out


def test_a_lone_button_has_one_place_and_size(display, tmp_path, font_cache):
    out = probe(display, tmp_path, "tests.kiosk.screens.test_single_button:drive", "message,ticket",
                font_dir=font_cache)
    for elder in (False, True):
        ticket = out[f"ticket {elder}"]
        for kind in ("timeout", "help", "card_removed"):
            assert out[f"{kind} {elder}"] == ticket, (kind, elder, out)
        back, action = out[f"two {elder}"]
        assert back[1] == action[1] == ticket[1] and back[3] == ticket[3], out   # the same row
        assert back[2] == action[2] and back[2] < ticket[2] / 2, out
