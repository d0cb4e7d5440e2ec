"""Run the touchscreen on fakes with a scripted tour (the UI tests and the offline demo use it).

``python -m kiosk.screens.testrun --tour foundation --out DIR [--langs zh_CN,en] [--size 1280x800]``
starts a private Xvfb when there is no DISPLAY, builds a Runtime on the fake gateway and printer
(kiosk.screens.fakes) with a controllable clock, plays the tour, writes ``DIR/result.json`` and
exits 0 only when every step passed. Kivy can create its window once per process, so each run
is its own process.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path


def build_runtime(state_dir: str, tickets_dir: str | None, font_path: str | None, *, timeout_s: float = 60.0,
                  language: str = "zh_CN", pin_hash: str = ""):
    """A Runtime on fakes: (runtime, sim)."""
    from kiosk import config
    from kiosk.clock import FakeClock
    from kiosk.events import EventBus
    from kiosk.runtime import Runtime
    from kiosk.screens.fakes import FakeGateway, FakePrinter, Sim
    cfg = config.from_dict({
        "terminal": {"id": "ZM-DJX-TEST1", "name": "1号自助终端", "hall": "中牟县刁家乡便民服务中心",
                     "hall_code": "H410122203", "region": {"city": "410100", "county": "410122",
                                                           "township": "410122203"}},
        "runtime": {"state_dir": state_dir, "session_timeout_s": timeout_s,
                    "elder_timeout_s": max(timeout_s, 120.0), "language": language},
        "ui": {"maintenance_pin_hash": pin_hash, "speech": False},
    })
    bus = EventBus()
    clock = FakeClock(dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    gateway = FakeGateway(clock, bus)
    printer = FakePrinter(tickets_dir, font_path)
    runtime = Runtime(cfg, bus=bus, clock=clock, devices={"printer": printer}, gateway=gateway)
    return runtime, Sim(bus, printer, gateway, clock)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the tour, write result.json; 0 when every step passed."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tour", default="foundation", help="foundation | full")
    p.add_argument("--out", required=True, help="directory for screenshots and result.json")
    p.add_argument("--langs", default="zh_CN", help="comma-separated: zh_CN,en")
    p.add_argument("--size", default="1280x800", help="window size WxH")
    a = p.parse_args(argv)
    width, height = (int(v) for v in a.size.lower().split("x"))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    xvfb = None
    if not os.environ.get("DISPLAY"):
        from tools.xvfb import Xvfb
        xvfb = Xvfb(width, height).start()
    try:
        from kiosk.screens import kivyenv
        kivyenv.prepare(width, height)  # before anything imports kivy
        from kiosk.screens.app import run_app
        from kiosk.screens.fonts import NOTO_DIR
        from kiosk.screens import tour as tours
        state = tempfile.mkdtemp(prefix="kiosk-ui-state-")
        tickets_dir = out / "tickets"
        tickets_dir.mkdir(exist_ok=True)
        # The ticket renderer uses the same SC face the UI extracts (cached in the state dir).
        from kiosk.screens.fonts import find_cjk_fonts
        font = find_cjk_fonts(os.environ.get("KIOSK_FONT_CACHE", state))["regular"]
        from kiosk.screens.pin import hash_pin
        # The demo/test staff PIN (a low iteration count keeps the test fast; production uses the default).
        runtime, sim = build_runtime(state, str(tickets_dir), font, pin_hash=hash_pin(tours.DEMO_PIN, iterations=1000))
        langs = [x for x in a.langs.split(",") if x]
        steps = tours.foundation_tour(langs) if a.tour == "foundation" else tours.full_tour(langs)
        runtime.start()
        try:
            result = run_app(runtime, tour=steps, out_dir=out, width=width, height=height, sim=sim)
        finally:
            runtime.stop()
        data = result.to_dict()
        data["tickets"] = [t.png_path for t in sim.tickets()]
        (out / "result.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        for s in result.steps:
            print(("PASS " if s.passed else "FAIL ") + f"[{s.lang}] {s.name}: {s.screenshot or ''} {s.message}")
        if not result.ok:
            print("tour failed: " + result.error, file=sys.stderr)
        return 0 if result.ok else 1
    finally:
        if xvfb is not None:
            xvfb.stop()


if __name__ == "__main__":
    sys.exit(main())
