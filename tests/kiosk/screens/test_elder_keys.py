"""Large type never makes a key smaller, and no hint leaves one Chinese character alone on its last
line. A cold try found, at 1280x800: the progress keypad's keys 114x86 px in standard type and
149x62 in large type, the complaint form's, the call-back form's and the staff PIN's 149x56 (the
title, the labels and the button row grow with the type and took the keypad's height); and on the
1080x1920 portrait panel in large type the progress hint ended with 码。 alone on its second line.
The real screens on stand-in services (screen_probe), in both languages, at both panel shapes."""
from __future__ import annotations

import pytest

from tests.kiosk.screens.screen_probe import probe

pytestmark = [pytest.mark.ui]
MOD = "tests.kiosk.screens.test_elder_keys"
#: The screens with a keypad: (screen, what is shown before the keys are measured).
KEYPAD_SCREENS = ("identify", "progress", "complain", "consult", "maintenance")
MODULES = "identify,progress,feedback,maintenance"


def _key_sizes(app) -> dict:
    """Every key of the screen's keypad: its window rectangle's size (w, h)."""
    keypad = app.sm.current_screen.ids.keypad
    return {k.tour_id: [round(k.width, 1), round(k.height, 1)] for k in keypad.children}


def _inside(app) -> bool:
    from kivy.core.window import Window
    keypad = app.sm.current_screen.ids.keypad
    x0, y0 = keypad.to_window(keypad.x, keypad.y)
    x1, y1 = keypad.to_window(keypad.right, keypad.top)
    return x0 >= -0.5 and y0 >= -0.5 and x1 <= Window.width + 0.5 and y1 <= Window.height + 0.5


def _last_lines(app) -> list[dict]:
    """Every multi-line label of the screen, as drawn: its text and its lines."""
    from kivy.uix.label import Label
    out = []
    for w in app.sm.current_screen.walk():
        if not isinstance(w, Label) or w.opacity == 0 or not (w.text or "").strip():
            continue
        w.texture_update()
        lines = ["".join(word.text for word in ln.words) for ln in w._label._cached_lines]
        lines = [ln for ln in lines if ln.strip()]
        if len(lines) > 1:
            out.append({"text": w.text, "lines": lines, "cls": type(w).__name__})
    return out


def drive(app, ui) -> dict:
    from kivy.metrics import Metrics

    from kiosk.screens import theme
    keys: dict[str, dict] = {}
    labels: dict[str, list] = {}
    out = {"need": theme.touch_px(Metrics.dpi, True), "keys": keys, "labels": labels}
    for screen in KEYPAD_SCREENS:
        ui.call(lambda screen=screen: setattr(app.sm, "current", screen))
        for lang in ("zh_CN", "en"):
            for elder in (False, True):
                def setup(lang=lang, elder=elder):
                    app.lang, app.elder = lang, elder
                ui.call(setup)
                ui.frames(4)
                case = f"{screen} {lang} {'large' if elder else 'standard'}"
                keys[case] = {"sizes": ui.call(lambda: _key_sizes(app)), "inside": ui.call(lambda: _inside(app))}
                labels[case] = ui.call(lambda: _last_lines(app))
    return out


@pytest.fixture(scope="module", params=["1280x800", "1080x1920"])
def seen(request, display, tmp_path_factory, font_cache):
    return probe(display, tmp_path_factory.mktemp("elder-keys"), f"{MOD}:drive", MODULES, size=request.param,
                 font_dir=font_cache)


@pytest.mark.parametrize("screen", KEYPAD_SCREENS)
def test_large_type_never_makes_a_key_smaller(seen, screen):
    """Each key at least as wide and as tall in large type as in standard type, at least the
    elder-mode target (60 dp, 9 mm), and the keypad inside the window."""
    for lang in ("zh_CN", "en"):
        std = seen["keys"][f"{screen} {lang} standard"]
        big = seen["keys"][f"{screen} {lang} large"]
        assert std["inside"] and big["inside"], (screen, lang)
        for key, (w, h) in big["sizes"].items():
            sw, sh = std["sizes"][key]
            assert w >= sw - 0.5 and h >= sh - 0.5, f"{screen} {lang} {key}: {w}x{h} in large type, {sw}x{sh} in standard"
            assert min(w, h) >= seen["need"] - 0.5, f"{screen} {lang} {key}: {w}x{h} < {seen['need']:.0f} px"


def test_no_label_leaves_a_chinese_character_alone_on_its_last_line(seen):
    """The progress hint in large type on the portrait panel: …或扫描回执二维 | 码。"""
    from kiosk.screens.linebreak import _orphan
    bad = [(case, lab["lines"]) for case, labels in seen["labels"].items() for lab in labels
           if _orphan(lab["lines"][-1].strip()) and "\n" not in lab["text"]]
    assert not bad, bad
