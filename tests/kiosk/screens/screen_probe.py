"""Screen-level tests without the stack: the real screens (their .py and .kv) built in a small Kivy
app on stand-in services, in a child process on the session's Xvfb (Kivy makes one window per
process). A few seconds a test instead of a tour on Mosquitto, the central service and the
simulators: for what a screen draws and how it reacts, not for a flow.

A test names a ``drive(app, ui) -> dict`` function of its own module (run in the child, off Kivy's
thread: ``ui`` is hall_demo.explore_ui.Ui, whose ``call`` runs on it) and the screen modules to
build; :func:`probe` returns what ``drive`` returned.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[3]
#: A hang guard for the child (a window, its screens, a few frames), not a speed check.
CHILD_TIMEOUT_S = 120

CHILD = r"""
import sys
from tests.kiosk.screens.screen_probe import child_main
child_main(*sys.argv[1:])
"""


def probe(display: str, tmp_path: Path, drive: str, modules: str, size: str = "1280x800",
          font_dir: str | Path | None = None) -> dict:
    """Run ``drive`` ("module:function") on the screens of ``modules`` ("message,ticket") in a
    child process on ``display``; its result (a dict)."""
    env = dict(os.environ, DISPLAY=display, PYTHONPATH=os.pathsep.join(
        [str(ROOT), str(ROOT / "central"), str(ROOT / "demo"), os.environ.get("PYTHONPATH", "")]))
    script = tmp_path / "screen_probe_child.py"   # a file: Kivy's App looks for its source (kv file)
    script.write_text(CHILD, encoding="utf-8")
    fonts = str(font_dir or tmp_path)
    proc = subprocess.run([sys.executable, str(script), drive, modules, size, fonts], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(line[len("RESULT "):])
    assert "error" not in result, result["error"]
    return result


class Clock:
    """A runtime clock that moves only when told (kiosk.clock.OffsetClock's role in the tours)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def monotonic(self) -> float:
        return self.t


def stand_in_services(**parts) -> SimpleNamespace:
    """Services with what every screen asks for (the session's language, a clock, localizing);
    ``parts`` add or replace members (booking=..., checkin=...)."""
    from kiosk.network.catalogue import has_chinese, localize
    sessions = SimpleNamespace(language="zh_CN", elder_mode=False, citizen=None, session_id="s1", clock=Clock(),
                               touch=lambda: None)
    guide = SimpleNamespace(localized=localize, has_chinese=has_chinese)
    return SimpleNamespace(sessions=sessions, guide=guide, **parts)


def child_main(drive: str, modules: str, size: str, font_dir: str) -> None:
    """The child: build the app, run ``drive`` on a thread once it shows, print its result."""
    import importlib
    import threading
    import traceback

    from kiosk.screens import kivyenv
    width, height = (int(v) for v in size.split("x"))
    kivyenv.prepare(width, height)
    from kiosk.screens import fonts
    fonts.register(fonts.find_cjk_fonts(font_dir))
    from kivy.app import App
    from kivy.clock import Clock as KivyClock
    from kivy.core.window import Window
    from kivy.lang import Builder
    from kivy.properties import BooleanProperty, NumericProperty, StringProperty
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.screenmanager import NoTransition, ScreenManager
    from kivy.uix.widget import Widget

    from hall_demo.explore_ui import Ui
    from kiosk.events import EventBus
    from kiosk.screens import theme
    from kiosk.screens.i18n import Translator
    from kiosk.screens.touchguard import TouchGuard

    mod_name, fn_name = drive.split(":")
    drive_fn = getattr(importlib.import_module(mod_name), fn_name)
    here = Path(theme.__file__).parent

    class ProbeApp(App):
        lang = StringProperty("zh_CN")
        k = NumericProperty(1.0)
        elder = BooleanProperty(False)
        card_left = BooleanProperty(False)
        busy = BooleanProperty(False)
        online = BooleanProperty(True)
        citizen_text = StringProperty("")

        def __init__(self, **kw) -> None:
            super().__init__(**kw)
            self.translator = Translator()
            self.services = stand_in_services()
            self.gone: list = []          # (screen, kw) of every go()
            self.guarded: list = []       # why guard_touches() was called
            self.pending_flow = "checkin"
            self.pending_then: dict = {}
            self.touch_guard = TouchGuard()

        def tr(self, msgid, lang=None):
            return self.translator.tr(msgid, lang or self.lang)

        def build(self):
            from kiosk.screens import kvrules
            kvrules.install()  # as KioskApp.build does
            Builder.load_file(str(here / "widgets.kv"))
            self.sm = ScreenManager(transition=NoTransition())
            for name in modules.split(","):
                mod = importlib.import_module(f"kiosk.screens.{name}")
                kv = here / f"{name}.kv"
                if kv.exists():
                    Builder.load_file(str(kv))
                for screen_name, cls in mod.SCREENS.items():
                    self.sm.add_widget(cls(name=screen_name))
            # the header's room (app.kv's TopBar, one row), so a screen has the height it has in the app
            header = Widget(size_hint_y=None)
            self.bind(k=lambda *a: setattr(header, "height", self.k * 88))
            root = BoxLayout(orientation="vertical")
            root.add_widget(header)
            root.add_widget(self.sm)
            self.bind(elder=lambda *a: self.set_k())
            self.set_k()
            # as KioskApp._on_window_touch: the guard swallows a touch-down before any widget sees it
            Window.bind(on_touch_down=lambda w, t: True if self.touch_guard.swallows() else None)
            header.height = self.k * 88
            return root

        def set_k(self):
            self.k = theme.scale(Window.width, Window.height, self.elder)

        def on_lang(self, *_):
            if getattr(self, "sm", None) is not None:
                for s in self.sm.screens:
                    s.on_lang()

        def toggle_language(self):
            self.services.sessions.language = "en" if self.lang == "zh_CN" else "zh_CN"
            self.lang = self.services.sessions.language

        def go(self, name, **kw):
            self.gone.append((name, kw))
            if self.sm.has_screen(name):
                screen = self.sm.get_screen(name)
                if hasattr(screen, "prepare"):
                    screen.prepare(**kw)
                self.sm.current = name

        def home(self):
            self.go("home")

        def show_error(self, exc, back="home", retry=None):
            self.go("message", kind="error", error=exc, back=back, retry=retry)

        def guard_touches(self, why=""):
            self.guarded.append(why)
            self.touch_guard.arm(why)

        def start_flow(self, flow, needs_identity=True, then=None, card_for=0):
            self.after_identify(flow, **(then or {}))
            if needs_identity and (self.services.sessions.citizen is None or card_for):
                self.go("identify", purpose=flow, card_for=card_for)
            else:
                self.go(flow)

        def after_identify(self, flow, **then):
            self.pending_flow, self.pending_then = flow, then

        def on_start(self):
            threading.Thread(target=self.run_drive, daemon=True).start()

        def run_drive(self):
            try:
                ui = Ui(self, EventBus())
                ui.frames(3)
                out = drive_fn(self, ui)
            except Exception as e:
                out = {"error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"}
            print("RESULT " + json.dumps(out), flush=True)
            KivyClock.schedule_once(lambda dt: self.stop(), 0)

    ProbeApp().run()
