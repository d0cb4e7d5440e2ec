"""``python -m hall_demo.mobile_demo --out DIR``: the whole mobile tour on a fresh demo stack.

Starts broker, central service, simulators and the runtime from config/mobile-demo.toml
(hall_demo.demo.Stack), runs the mobile app under Xvfb at phone size with
:func:`hall_demo.mobile_tour.mobile_tour`, saves ``DIR/NN-<screen>.png``, stops everything
and exits 0 when every step passed (1 otherwise).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from hall_demo import ROOT

CONFIG = ROOT / "config" / "mobile-demo.toml"


def main(argv: list[str] | None = None) -> int:
    """Run the tour; returns the exit code."""
    ap = argparse.ArgumentParser(prog="python -m hall_demo.mobile_demo", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="directory for the screenshots (emptied first)")
    ap.add_argument("--config", default=str(CONFIG), help="mobile profile config (default: config/mobile-demo.toml)")
    ap.add_argument("--size", default="720x1280", choices=("720x1280", "1080x1920"), help="portrait window size")
    ap.add_argument("--run-dir", default="", help="broker/central/state directory (default: a temporary one)")
    args = ap.parse_args(argv)
    import os

    from kiosk.screens import kivyenv
    for key, value in kivyenv.DEFAULTS.items():  # before anything imports Kivy (it parses argv)
        os.environ.setdefault(key, value)
    width, height = (int(v) for v in args.size.split("x"))
    out = Path(args.out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    run_dir = Path(args.run_dir) if args.run_dir else Path(tempfile.mkdtemp(prefix="kiosk-mobile-"))
    from hall_demo.demo import Stack
    from kiosk import logs
    run_dir.mkdir(parents=True, exist_ok=True)
    logs.setup("info", open(run_dir / "kiosk.log", "a", encoding="utf-8"))
    stack = Stack(args.config, out, run_dir=run_dir)
    code = 1
    try:
        stack.start()
        from hall_demo.mobile_tour import mobile_tour
        from hall_demo.tour import play
        from hall_demo.xvfb import Xvfb
        with Xvfb(width, height):
            result = play(mobile_tour(), stack.services, stack.ui_settings, out_dir=out, width=width,
                          height=height, sim=stack.sim)
        for s in result.steps:
            print(f"mobile demo: {'ok  ' if s.passed else 'FAIL'} {s.name:<52} {s.screenshot or ''} {s.message}",
                  flush=True)
        if result.error:
            print(f"mobile demo: error: {result.error}", flush=True)
        code = 0 if result.ok and len(result.steps) == len(mobile_tour()) else 1
        print("mobile demo: " + ("tour passed" if code == 0 else "tour FAILED"), flush=True)
    finally:
        stack.stop()
        if not args.run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
