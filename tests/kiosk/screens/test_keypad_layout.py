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


ID_NUMBER = "41010419920927315X"
PHONE = "13812345678"


def _typing(app, ui, screen: str, number: str) -> dict:
    """For each language and type size: the keypad's top edge and a key's height (window px)
    before the first digit and after each digit typed, the field's text at the end."""
    out = {}
    ui.call(lambda: setattr(app.sm, "current", screen))
    for lang in ("zh_CN", "en"):
        for elder in (False, True):
            def setup(lang=lang, elder=elder):
                app.lang, app.elder = lang, elder
                app.sm.current_screen.ids.keypad.clear()
            ui.call(setup)
            ui.frames(3)
            tops, heights = [], []
            for n in range(len(number) + 1):
                def look():
                    keypad = app.sm.current_screen.ids.keypad
                    return _keys_box(keypad)[2], keypad.children[0].height
                top, h = ui.call(look)
                tops.append(round(top, 1))
                heights.append(round(h, 1))
                if n < len(number):
                    ui.call(lambda n=n: app.sm.current_screen.ids.keypad.press(number[n]))
                    ui.frames(3)
            def field():
                f = next((w for w in app.sm.current_screen.walk() if getattr(w, "tour_id", "") == "phone_field"), None)
                return None if f is None else {"text": f.text, "h": f.height, "w": f.width, "opacity": f.opacity}
            ui.call(lambda: app.sm.current_screen.ids.keypad.clear())
            ui.frames(2)
            out[f"{lang} {'large' if elder else 'standard'}"] = {"tops": tops, "key_h": heights,
                                                               "empty_field": ui.call(field)}
    return out


def drive_identify(app, ui) -> dict:
    return _typing(app, ui, "identify", ID_NUMBER)


def drive_complain(app, ui) -> dict:
    return _typing(app, ui, "complain", PHONE)


def drive_consult(app, ui) -> dict:
    return _typing(app, ui, "consult", PHONE)


@pytest.mark.parametrize("screen, modules", [("identify", "identify"), ("complain", "feedback"),
                                             ("consult", "feedback")])
def test_typing_never_moves_the_keypad(display, tmp_path, font_cache, screen, modules):
    """In both languages and type sizes, from the empty field to the whole number."""
    out = probe(display, tmp_path, f"{MOD}:drive_{screen}", modules, font_dir=font_cache)
    for case, seen in out.items():
        assert max(seen["tops"]) - min(seen["tops"]) < 0.5, (case, seen["tops"])
        assert max(seen["key_h"]) - min(seen["key_h"]) < 0.5, (case, seen["key_h"])


def test_the_phone_field_shows_before_the_first_digit(display, tmp_path, font_cache):
    """A box with its hint from the start (it was a bare label: nothing to see until a digit)."""
    out = probe(display, tmp_path, f"{MOD}:drive_complain", "feedback", font_dir=font_cache)
    for case, seen in out.items():
        field = seen["empty_field"]
        assert field is not None and field["h"] > 20 and field["w"] > 100 and field["opacity"] == 1, (case, field)
    assert "11" in out["en standard"]["empty_field"]["text"] and "mobile" in out["en standard"]["empty_field"]["text"]
    assert "手机" in out["zh_CN standard"]["empty_field"]["text"]
