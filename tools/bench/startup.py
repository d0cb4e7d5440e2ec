"""Start and footprint: cold start to the home screen under Xvfb, memory after a tour of every flow.

Each measurement is a fresh process (:mod:`._startup_child`) under a private Xvfb at 1280x800
(tools.xvfb), so module imports, font registration and the first frame all count. The kiosk
children run the real runtime with the ID-card and printer simulators against a private broker
and the reference central service. Baseline, same run: a bare Kivy window's first frame and
memory. If the UI cannot run (it is still being built, or the tour fails) the figure is reported
as missing with the reason, never estimated.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.bench.report import Figure, percentile

CHILD_TIMEOUT_S = 180.0


def _child(args: list[str], display: str) -> dict:
    """Run the child with ``args``; its result dict, or {"error": ...}."""
    env = dict(os.environ, DISPLAY=display, KIVY_NO_ARGS="1", KIVY_USE_DEFAULTCONFIG="1", KIVY_NO_CONSOLELOG="1")
    try:
        p = subprocess.run([sys.executable, "-m", "tools.bench._startup_child", *args], capture_output=True,
                           text=True, timeout=CHILD_TIMEOUT_S, env=env, cwd=str(Path(__file__).resolve().parents[2]))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT_S:.0f} s"}
    for line in p.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            return json.loads(line.split(" ", 1)[1])
    tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or [f"exit {p.returncode}"]
    return {"error": tail[0][:200]}


def run(quick: bool = False) -> dict[str, Figure]:
    """Measure the start and footprint figures."""
    from tools.broker import Broker
    from tools.central.service import CentralService
    from tools.xvfb import Xvfb
    reps = 1 if quick else 3
    work = Path(tempfile.mkdtemp(prefix="kiosk-bench-start-"))
    bare, home, tour = [], [], {}
    try:
        with Xvfb(1280, 800) as x, Broker(workdir=work / "broker") as broker:
            central = CentralService(broker.url, str(work / "central.db")).start()
            try:
                for _ in range(reps):
                    bare.append(_child(["bare"], x.display))
                    home.append(_child(["home", broker.url], x.display))
                tour = _child(["tour", broker.url], x.display)
            finally:
                central.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bare_ms = [b["first_frame_ms"] for b in bare if "first_frame_ms" in b]
    home_ms = [h["home_ms"] for h in home if "home_ms" in h]
    bare_rss = [b["rss_mb"] for b in bare if "rss_mb" in b]
    errors = [r.get("error") or r.get("tour_error") for r in bare + home
              if r.get("error") or (r.get("tour_error") and "home_ms" not in r)]
    home_fig = Figure("startup.home_ms", percentile(home_ms, 0.5), "ms", "bare Kivy window first frame",
                      percentile(bare_ms, 0.5), note=f"median of {len(home_ms)} cold starts under Xvfb 1280x800"
                      + (f"; errors: {errors[:1]}" if errors else ""))
    if "rss_mb" in tour and tour.get("tour_ok"):
        rss_fig = Figure("startup.rss_mb", tour["rss_mb"], "MB", "bare Kivy window", percentile(bare_rss, 0.5),
                         note=f"resident memory (MiB) after the full tour ({tour.get('steps')} steps, zh_CN)")
    else:
        why = tour.get("error") or tour.get("tour_error") or "tour did not finish"
        rss_fig = Figure("startup.rss_mb", None, "MB", "bare Kivy window", percentile(bare_rss, 0.5),
                         note=f"not measured: the tour failed ({why[:160]})",
                         extra={"rss_mb_after_failed_tour": tour.get("rss_mb")})
    return {"startup.home_ms": home_fig, "startup.rss_mb": rss_fig}
