"""Child process of :mod:`tools.bench.startup` (a cold process per measurement; prints one JSON line).

``bare``: a bare Kivy window (the baseline). ``home``: the kiosk (runtime + simulators + UI) until
the home screen is drawn. ``tour``: the kiosk through the full scripted tour, then its memory.
Times are from this process's creation (the kernel's record), so imports count: that is cold start.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import psutil


def _since_start_ms() -> float:
    return (time.time() - psutil.Process().create_time()) * 1000


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def bare() -> dict:
    """A bare Kivy window at 1280x800: time to its first frame and its memory then."""
    from kiosk.screens import kivyenv
    kivyenv.prepare(1280, 800)
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.uix.label import Label
    out: dict = {}

    class Bare(App):
        def build(self):
            return Label(text="bench")

        def on_start(self):
            def drawn(dt):
                out.update(first_frame_ms=_since_start_ms(), rss_mb=_rss_mb())
                self.stop()
            Clock.schedule_once(lambda dt: Clock.schedule_once(drawn, 0), 0)  # after the first frame
    Bare().run()
    return out


def kiosk(broker_url: str, mode: str) -> dict:
    """The kiosk UI on a runtime with simulators: home screen time, or memory after the full tour."""
    from firmware_bridge.hub import SimHub
    from kiosk import config
    from kiosk.runtime import Runtime
    from kiosk.screens.app import run_app
    from tools.broker import free_port
    work = Path(tempfile.mkdtemp(prefix="kiosk-bench-ui-"))
    cfg = config.from_dict({
        "terminal": {"id": "ZM-BENCH-UI01", "hall": "中牟县刁家乡便民服务中心", "hall_code": "H410122203",
                     "region": {"city": "410100", "county": "410122", "township": "410122203"}},
        "runtime": {"state_dir": str(work / "state")},
        "network": {"broker": broker_url},
        "ui": {"width": 1280, "height": 800},
        "devices": {"idcard": {"driver": "idcard.sam-serial", "url": str(work / "idcard.pty"),
                               "options": {"poll_interval_s": 0.05}},
                    "printer": {"driver": "printer.escpos", "url": f"tcp://127.0.0.1:{free_port()}"}},
    })
    hub = SimHub(cfg).start()
    runtime = Runtime(cfg).start()
    out: dict = {}
    try:
        from kiosk.screens import tour
        if mode == "home":
            def at_home(ctx) -> bool:
                if ctx.app.sm.current == "home" and "home_ms" not in out:
                    out["home_ms"] = _since_start_ms()
                return "home_ms" in out
            steps = [tour.Step("home", until=at_home, shot="")]
        else:
            steps = tour.full_tour(("zh_CN",))
        result = run_app(runtime, tour=steps, sim=hub, out_dir=None, width=1280, height=800)
        out["rss_mb"] = _rss_mb()
        out["peak_rss_mb"] = psutil.Process().memory_full_info().uss / 2**20
        out["tour_ok"] = result.ok
        out["tour_error"] = result.error
        out["steps"] = len(result.steps)
    finally:
        runtime.stop()
        hub.stop()
    return out


if __name__ == "__main__":
    which = sys.argv[1]
    res = bare() if which == "bare" else kiosk(sys.argv[2], which)
    print("BENCH-RESULT " + json.dumps(res), flush=True)
