"""The keypads as the citizen (and the staff) meet them: the keys fill their column, and nothing
above them grows while a number is typed, so a key never moves under a finger (a cold try: the
complaint form's hint and the identify screen's number in large type pushed the keypad 37-45 px
down after the first digits). The real screens on stand-in services (screen_probe)."""
from __future__ import annotations

import pytest

from tests.kiosk.screens.screen_probe import probe

pytestmark = [pytest.mark.ui]
MOD = "tests.kiosk.screens.test_keypad_layout"


def _keys_box(keypad) -> list[float]:
    """The keys' outer edges in window pixels: left, right, top."""
    keys = list(keypad.children)
    lefts = [k.to_window(k.x, k.y)[0] for k in keys]
    rights = [k.to_window(k.right, k.y)[0] for k in keys]
    tops = [k.to_window(k.x, k.top)[1] for k in keys]
    return [min(lefts), max(rights), max(tops)]


def drive_maintenance(app, ui) -> dict:
    ui.call(lambda: setattr(app.sm, "current", "maintenance"))
    ui.frames(3)

    def look():
        keypad = app.sm.current_screen.ids.keypad
        column = keypad.parent
        return {"keys": _keys_box(keypad), "column": [column.to_window(column.x, 0)[0],
                                                      column.to_window(column.right, 0)[0]]}
    return ui.call(look)


def test_the_pin_pad_fills_its_column(display, tmp_path, font_cache):
    out = probe(display, tmp_path, f"{MOD}:drive_maintenance", "maintenance", font_dir=font_cache)
    (left, right, _), (col_left, col_right) = out["keys"], out["column"]
    assert abs(left - col_left) <= 1 and abs(right - col_right) <= 1, out
