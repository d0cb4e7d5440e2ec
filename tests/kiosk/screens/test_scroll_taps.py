"""kiosk.screens.widgets.KScrollView on a real Kivy window (a private Xvfb, a child process: one
window per process): a tap anywhere on a list's button presses it, its lowest strip included."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ui]

ROOT = Path(__file__).resolve().parents[3]
#: A hang guard for the child (a window, a few frames), not a speed check.
CHILD_TIMEOUT_S = 180

CHILD = r"""
import json, threading
from kiosk.screens import kivyenv
kivyenv.prepare(600, 400)
from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from hall_demo.explore_ui import Ui
from hall_demo import touch
from kiosk.events import EventBus
from kiosk.screens import widgets

pressed = []


class Probe(App):
    k = NumericProperty(1.6)          # elder mode's scale: the bar is wider
    elder = BooleanProperty(True)
    lang = StringProperty("zh_CN")
    busy = False

    def build(self):
        Builder.load_file(str(widgets.__file__).replace(".py", ".kv"))
        root = BoxLayout(padding=40)
        self.view = widgets.KScrollView()
        box = BoxLayout(orientation="vertical", size_hint_y=None)
        box.bind(minimum_height=box.setter("height"))
        for i in range(6):
            b = widgets.KButton(text=f"item {i}", size_hint_y=None, height=120)
            b.bind(on_release=lambda b, i=i: pressed.append(i))
            box.add_widget(b)
        self.view.add_widget(box)
        root.add_widget(self.view)
        return root

    def on_start(self):
        threading.Thread(target=self.drive, daemon=True).start()

    def drive(self):
        out = {}
        try:
            from types import SimpleNamespace
            self.sm = SimpleNamespace(transition=SimpleNamespace(is_active=False))
            ui = Ui(self, EventBus())
            ui.frames(3)
            v = self.view
            x = ui.call(lambda: v.to_window(v.center_x, v.y)[0] - 40, "the list")
            y0 = ui.call(lambda: v.to_window(v.x, v.y)[1], "the list")
            strip = ui.call(lambda: v.bar_margin + v.bar_width / 2, "the bar")
            for what, y in (("middle", y0 + v.height / 2), ("bottom strip", y0 + strip)):
                pressed.clear()
                ui.call(lambda: touch.tap_at(x, y), "a tap")
                ui.frames(3)
                out[what] = list(pressed)
        except Exception as e:
            out["error"] = f"{type(e).__name__}: {e}"
        print("RESULT " + json.dumps(out), flush=True)
        Clock.schedule_once(lambda dt: self.stop(), 0)


Probe().run()
"""


def test_a_tap_on_the_lowest_strip_of_a_list_presses_the_button_there(tmp_path):
    """With Kivy's defaults (sideways scrolling on, always_overscroll) a list counted a bar's width
    at its bottom as a horizontal scroll bar, and a tap there on a list button did nothing: in elder
    mode, the booking list's lowest item stayed untapped (explorer seed 3 step 1821)."""
    from hall_demo.xvfb import Xvfb
    x = Xvfb(600, 400).start()
    try:
        env = dict(os.environ, DISPLAY=x.display, PYTHONPATH=os.pathsep.join(
            [str(ROOT), str(ROOT / "central"), str(ROOT / "demo"), os.environ.get("PYTHONPATH", "")]))
        script = tmp_path / "scroll_taps.py"   # a file: Kivy's App looks for its source (kv file)
        script.write_text(CHILD, encoding="utf-8")
        proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT_S)
    finally:
        x.stop()
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(line[len("RESULT "):])
    assert "error" not in result, result
    assert len(result["middle"]) == 1, result        # the premise: a tap on a list button presses it
    assert len(result["bottom strip"]) == 1, result
