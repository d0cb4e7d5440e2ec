"""Child process of :mod:`tools.bench.startup` (a cold process per measurement; prints one JSON line).

``bare``: a bare Kivy window (the baseline). ``home CONFIG.json``: the kiosk as ``kiosk run``
starts it (runtime, then the UI) until its first frame shows the home screen; the device
simulators run in the parent, as the hardware is outside a terminal's process. ``tour RUN_DIR``:
the kiosk on :class:`kiosk.demo.Stack` (broker, central service, simulators) through the full
scripted tour driven by the stack's :class:`kiosk.demo.DemoSim`, then its memory. Times are from
this process's creation (the kernel's record), so imports count: that is cold start. The first
frame is detected the same way for the kiosk and the bare window: two Clock ticks after start.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]


def _since_start_ms() -> float:
    return (time.time() - psutil.Process().create_time()) * 1000


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _after_first_frame(fn) -> None:
    """Call ``fn()`` on the Clock tick after the app's first frame was drawn."""
    from kivy.clock import Clock
    Clock.schedule_once(lambda dt: Clock.schedule_once(lambda dt2: fn(), 0), 0)


def bare() -> dict:
    """A bare Kivy window at 1280x800: time to its first frame and its memory then."""
    from kiosk.screens import kivyenv
    kivyenv.prepare(1280, 800)
    from kivy.app import App
    from kivy.uix.label import Label
    out: dict = {}

    class Bare(App):
        def build(self):
            return Label(text="bench")

        def on_start(self):
            def drawn():
                out.update(first_frame_ms=_since_start_ms(), rss_mb=_rss_mb())
                self.stop()
            _after_first_frame(drawn)
    Bare().run()
    return out


def home(config_json: str) -> dict:
    """The kiosk as ``kiosk run`` starts it: time to the first frame of the home screen."""
    from kiosk import config
    from kiosk.runtime import Runtime
    cfg = config.from_dict(json.loads(Path(config_json).read_text(encoding="utf-8")))
    runtime = Runtime(cfg).start()
    out: dict = {}
    try:
        from kiosk.screens import kivyenv
        kivyenv.prepare(1280, 800)
        from kivy.app import App

        def drawn() -> None:
            app = App.get_running_app()
            out.update(home_ms=_since_start_ms(), rss_mb=_rss_mb(), screen=app.sm.current if app.sm else None)
            app.stop()
        _after_first_frame(drawn)  # scheduled before run: the Clock first ticks once the app started
        from kiosk.screens.app import run_app
        result = run_app(runtime, width=1280, height=800)
        if out.get("screen") != "home":
            out["error"] = result.error or f"first frame showed {out.get('screen')!r}, not home"
    finally:
        runtime.stop()
    return out


def tour(run_dir: str) -> dict:
    """The kiosk on kiosk.demo.Stack through the full tour (zh_CN); memory after it."""
    from kiosk.screens import kivyenv
    kivyenv.prepare(1280, 800)  # before anything imports kivy
    from kiosk.demo import Stack
    stack = Stack(str(ROOT / "config" / "demo.toml"), Path(tempfile.mkdtemp(prefix="kiosk-bench-out-")),
                  run_dir=Path(run_dir))
    out: dict = {}
    try:
        stack.start()
        from kiosk.screens import tour as tours
        from kiosk.screens.app import run_app
        result = run_app(stack.runtime, tour=tours.full_tour(("zh_CN",)), sim=stack.sim, out_dir=None,
                         width=1280, height=800)
        out["rss_mb"] = _rss_mb()
        out["uss_mb"] = psutil.Process().memory_full_info().uss / 2**20
        out["tour_ok"] = result.ok
        out["tour_error"] = result.error or next((f"{s.name}: {s.message}" for s in result.steps if not s.passed), "")
        out["steps"] = len(result.steps)
    finally:
        stack.stop()
    return out


if __name__ == "__main__":
    which = sys.argv[1]
    res = bare() if which == "bare" else home(sys.argv[2]) if which == "home" else tour(sys.argv[2])
    print("BENCH-RESULT " + json.dumps(res), flush=True)
