"""Run the touchscreen on the real stack with a scripted tour (the UI tests use it).

``python -m hall_demo.testrun --tour foundation|full|MODULE:FUNCTION --out DIR --run-dir DIR
[--langs zh_CN,en] [--size 1280x800] [--dpi N]`` starts hall_demo.demo.Stack (a private Mosquitto, the reference central
service, the device simulators and the runtime) with its run directory in ``--run-dir``, plays the
tour on a real Kivy window (a private Xvfb when there is no DISPLAY), writes ``DIR/result.json``
and exits 0 only when every step passed. Kivy can create its window once per process, so each
run is its own process.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from hall_demo import ROOT


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the tour, write result.json; 0 when every step passed."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tour", default="foundation",
                   help="foundation | full | module:function (a function of the languages returning the steps)")
    p.add_argument("--out", required=True, help="directory for screenshots, tickets and result.json")
    p.add_argument("--run-dir", required=True, help="run directory of the stack (broker, central db, state)")
    p.add_argument("--config", default=str(ROOT / "config" / "demo.toml"))
    p.add_argument("--langs", default="zh_CN", help="comma-separated: zh_CN,en")
    p.add_argument("--size", default="1280x800", help="window size WxH")
    p.add_argument("--dpi", type=float, default=None, help="the panel's DPI (touch targets are checked at it)")
    a = p.parse_args(argv)
    width, height = (int(v) for v in a.size.lower().split("x"))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.dpi:
        os.environ["KIVY_DPI"] = str(a.dpi)   # Kivy reads it once, when kivy.metrics is imported
    xvfb = None
    if not os.environ.get("DISPLAY"):
        from hall_demo.xvfb import Xvfb
        xvfb = Xvfb(width, height).start()
    from hall_demo.demo import Stack
    stack = Stack(a.config, out, run_dir=Path(a.run_dir))
    try:
        from kiosk.screens import kivyenv
        kivyenv.prepare(width, height)  # before anything imports kivy
        stack.start()
        from hall_demo import tour_steps as tours
        from hall_demo.tour import play
        langs = [x for x in a.langs.split(",") if x]
        if ":" in a.tour:  # a test's own tour (tests/kiosk/screens): steps as data, like the demo's
            import importlib

            from hall_demo.tour_steps import _number
            module, function = a.tour.split(":", 1)
            steps = _number(getattr(importlib.import_module(module), function)(langs))
        else:
            steps = tours.foundation_tour(langs) if a.tour == "foundation" else tours.full_tour(langs)
        end: dict = {}
        _watch_drops(end)
        result = play(steps, stack.services, stack.ui_settings, out_dir=out, width=width, height=height, sim=stack.sim, dpi=a.dpi,
                      on_stop=_end_state_recorder(end))
        data = result.to_dict()
        data["end"] = end
        data["tickets"] = [str(t.png_path) for t in stack.sim.tickets()]
        from kivy.metrics import Metrics
        data["dpi"] = Metrics.dpi
        (out / "result.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        for s in result.steps:
            print(("PASS " if s.passed else "FAIL ") + f"[{s.lang}] {s.name}: {s.screenshot or ''} {s.message}")
        if not result.ok:
            print("tour failed: " + result.error, file=sys.stderr)
        return 0 if result.ok else 1
    finally:
        stack.stop()
        if xvfb is not None:
            xvfb.stop()


def _watch_drops(end: dict) -> None:
    """After every drop of the session's screens, collect garbage and follow the dropped screens
    still alive: ``end["drops"]`` counts the drops, ``end["longest_kept"]`` is the most later
    drops a dropped screen outlived (the tests check that none lives on session after session)."""
    import gc
    import weakref

    from kiosk.screens import kioskapp
    from kiosk.screens.base import KioskScreen
    drop = kioskapp.KioskApp.drop_session_screens
    kept: list[list] = []  # [weak reference to a dropped screen still alive, later drops it outlived]

    def drop_session_screens(self, *args) -> int:
        n = drop(self, *args)
        if n:
            gc.collect()
            end["drops"] = end.get("drops", 0) + 1
            kept[:] = [[ref, later + 1] for ref, later in kept if ref() is not None]
            known = {id(ref()) for ref, _ in kept}
            kept.extend([weakref.ref(o), 0] for o in gc.get_objects()
                        if issubclass(type(o), KioskScreen) and not self.sm.has_screen(o.name) and id(o) not in known)
            end["longest_kept"] = max([end.get("longest_kept", 0)] + [later for _, later in kept])
        return n
    # the app's Clock trigger finds it by name; a test harness wraps the method on purpose
    kioskapp.KioskApp.drop_session_screens = drop_session_screens  # type: ignore[method-assign]


def _end_state_recorder(end: dict):
    """When the tour stops the app: the screens still built and the screen objects still alive
    (after a garbage collection) go into ``end``; the tests check that the session's screens were
    dropped and freed, not kept by a stray reference."""
    def at_stop(app) -> None:
        import gc

        from kiosk.screens.base import KioskScreen
        gc.collect()
        end["screens_built"] = sorted(app.sm.screen_names)
        # type(), not isinstance(): Kivy's WeakProxy objects forward __class__
        end["screens_alive"] = sorted(o.name for o in gc.get_objects() if issubclass(type(o), KioskScreen))
    return at_stop


if __name__ == "__main__":
    sys.exit(main())
