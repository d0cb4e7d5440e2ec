"""The idle countdown holds the screen still: it shows over the header, not in a row of its own.
A cold try found the red banner "12 秒后将自动退出" pushing the screen's bottom row ("结束") up 60 px
while the session idled, and back down when touched: the next tap landed elsewhere. The app's own
root (app.kv, with its header) on a stand-in app (screen_probe), the complaint screen in it, in
both languages and type sizes, at both panel shapes."""
from __future__ import annotations

import pytest

from tests.kiosk.screens.screen_probe import probe

pytestmark = [pytest.mark.ui]
MOD = "tests.kiosk.screens.test_countdown_banner"


def _rect(w) -> list[float]:
    x, y = w.to_window(w.x, w.y)
    return [round(x, 1), round(y, 1), round(w.width, 1), round(w.height, 1)]


def drive(app, ui) -> dict:
    def build():
        from pathlib import Path

        from kivy.core.window import Window
        from kivy.lang import Builder
        from kivy.properties import BooleanProperty, NumericProperty, StringProperty

        from kiosk.screens import theme
        for name, prop in (("countdown", NumericProperty(-1)), ("elder_offer", BooleanProperty(False)),
                           ("announcement", StringProperty("")), ("hall_text", StringProperty("刁家乡便民服务中心")),
                           ("terminal_text", StringProperty("1 号机")), ("clock_text", StringProperty("12-04 10:11"))):
            app.apply_property(**{name: prop})
        for name in ("call_staff", "show_help", "toggle_elder", "accept_elder"):
            setattr(app, name, lambda *a: None)
        root = Builder.load_file(str(Path(theme.__file__).parent / "app.kv"))
        screen = app.sm.get_screen("complain")
        app.sm.remove_widget(screen)
        Window.remove_widget(app.root)
        Window.add_widget(root)
        root.ids.sm.add_widget(screen)
        app.kv_root = root
    ui.call(build)
    out = {}
    for lang in ("zh_CN", "en"):
        for elder in (False, True):
            seen = []
            for n in (-1, 12, -1):
                def setup(n=n, lang=lang, elder=elder):
                    app.lang, app.elder, app.countdown = lang, elder, n
                ui.call(setup)
                ui.frames(4)

                def look():
                    ids = app.kv_root.ids
                    back = next(w for w in ids.sm.current_screen.walk() if getattr(w, "tour_id", "") == "back")
                    banner = ids.countdown
                    return {"back": _rect(back), "screen": _rect(ids.sm), "banner": _rect(banner),
                            "text_h": banner.texture_size[1], "opacity": banner.opacity,
                            "header": _rect(ids.topbar), "header_shown": ids.topbar.opacity,
                            "header_off": ids.topbar.disabled, "text": banner.text}
                seen.append(ui.call(look))
            out[f"{lang} {'large' if elder else 'standard'}"] = seen
    return out


@pytest.mark.parametrize("size", ["1280x800", "1080x1920"])
def test_the_countdown_moves_nothing_on_the_screen(display, tmp_path, font_cache, size):
    out = probe(display, tmp_path, f"{MOD}:drive", "feedback", size=size, font_dir=font_cache)
    for case, (before, during, after) in out.items():
        # the bottom row and the screen's area hold still while the countdown shows and after it
        assert before["back"] == during["back"] == after["back"], (case, before["back"], during["back"], after["back"])
        assert before["screen"] == during["screen"] == after["screen"], case
        # it shows, in the header's place, over no part of the screen, its text whole inside it
        assert during["opacity"] == 1 and "12" in during["text"], case
        bx, by, bw, bh = during["banner"]
        sx, sy, sw, sh = during["screen"]
        assert by >= sy + sh - 0.5, (case, during["banner"], during["screen"])
        assert during["text_h"] <= bh + 0.5, case
        assert during["header_shown"] == 0 and during["header_off"], case
        # and goes away with the touch that continues the session, the header back
        assert after["opacity"] == 0 and after["header_shown"] == 1 and not after["header_off"], case
