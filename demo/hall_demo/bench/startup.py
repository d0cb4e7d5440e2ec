"""Start and footprint: cold start to the home screen under Xvfb, memory after a tour of every flow.

Each measurement is a fresh process (:mod:`._startup_child`) under a private Xvfb at 1280x800
(hall_demo.xvfb), so module imports, font registration and the first frame all count. ``home``
children start the kiosk as ``kiosk run`` does (runtime, then UI) against a private broker, the
reference central service and the ID-card and printer simulators, which run in this (the parent)
process as real hardware runs outside a terminal's. The terminal's state directory persists
across its starts as on a real terminal (caches made at the first start: the extracted CJK face,
python-escpos's printer profiles); the very first start on an empty state directory is reported
beside (``first_start_ms``). The tour child runs :class:`hall_demo.demo.Stack` and its ``DemoSim``
through the full tour, with the simulators in their own ``kiosk sim run`` process driven through
the hub's control socket: ``startup.rss_mb`` is the kiosk process alone (a terminal does not carry
simulators; they are its hardware), read in the live app at the tour's end (home screen, after the
last session's clean-up: a terminal idling between citizens; its font cache made beforehand, as
after a terminal's first start); ``extra.peak_mb`` is the highest
RSS during the tour and ``extra.with_simulators_mb`` adds the hub's process tree. Baseline, same
run: a bare Kivy window's first frame and memory. If the
UI cannot run or the tour fails, the figure is reported as missing with the reason, never
estimated.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hall_demo import ROOT
from hall_demo.bench.report import Figure, percentile

CHILD_TIMEOUT_S = 180.0


def _child(args: list[str], display: str) -> dict:
    """Run the child with ``args``; its result dict, or {"error": ...}."""
    env = dict(os.environ, DISPLAY=display, KIVY_NO_ARGS="1", KIVY_USE_DEFAULTCONFIG="1", KIVY_NO_CONSOLELOG="1")
    try:
        p = subprocess.run([sys.executable, "-m", "hall_demo.bench._startup_child", *args], capture_output=True,
                           text=True, timeout=CHILD_TIMEOUT_S, env=env, cwd=str(ROOT))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT_S:.0f} s"}
    for line in p.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            return json.loads(line.split(" ", 1)[1])
    tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or [f"exit {p.returncode}"]
    return {"error": tail[0][:200]}


def _kiosk_config(work: Path, broker_url: str, printer_port: int) -> dict:
    """The benchmark terminal's config (the state directory persists across its starts)."""
    return {
        "terminal": {"id": "ZM-BENCH-UI01", "hall": "中牟县刁家乡便民服务中心", "hall_code": "H410122203",
                     "region": {"city": "410100", "county": "410122", "township": "410122203"}},
        "runtime": {"state_dir": str(work / "state")},
        "network": {"broker": broker_url},
        "ui": {"width": 1280, "height": 800},
        "devices": {"idcard": {"driver": "idcard.sam-serial", "url": str(work / "idcard.pty")},
                    "printer": {"driver": "printer.escpos", "url": f"tcp://127.0.0.1:{printer_port}"}},
    }


def _home(work: Path, broker_url: str, display: str) -> dict:
    """One cold start of the kiosk, with fresh simulators in this process."""
    from hall_demo.broker import free_port
    from hall_demo.hub import SimHub
    from kiosk import config
    raw = _kiosk_config(work, broker_url, free_port())
    path = work / "kiosk.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    hub = SimHub(config.from_dict(raw)).start()
    try:
        return _child(["home", str(path)], display)
    finally:
        hub.stop()


def run(quick: bool = False) -> dict[str, Figure]:
    """Measure the start and footprint figures."""
    from hall_central.service import CentralService
    from hall_demo.broker import Broker
    from hall_demo.xvfb import Xvfb
    reps = 2 if quick else 5
    work = Path(tempfile.mkdtemp(prefix="kiosk-bench-start-"))
    bare, home, tour, first = [], [], {}, {}
    try:
        with Xvfb(1280, 800) as x:
            with Broker(workdir=work / "broker") as broker:
                central = CentralService(broker.url, str(work / "central.db")).start()
                try:
                    first = _home(work, broker.url, x.display)  # empty state directory: first start ever
                    for _ in range(reps):
                        bare.append(_child(["bare"], x.display))
                        home.append(_home(work, broker.url, x.display))
                finally:
                    central.stop()
            tour = _child(["tour", str(work / "tour")], x.display)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bare_ms = [b["first_frame_ms"] for b in bare if "first_frame_ms" in b]
    home_ms = [h["home_ms"] for h in home if "home_ms" in h and not h.get("error")]
    bare_rss = [b["rss_mb"] for b in bare if "rss_mb" in b]
    errors = [r["error"] for r in [first, *bare, *home] if r.get("error")]
    extra = {"first_start_ms": round(first["home_ms"]) if "home_ms" in first else None,
             "home_ms_each": [round(v) for v in home_ms], "bare_ms_each": [round(v) for v in bare_ms],
             "rss_mb_at_home": round(percentile([h["rss_mb"] for h in home if "rss_mb" in h], 0.5) or 0, 1)}
    home_fig = Figure("startup.home_ms", percentile(home_ms, 0.5), "ms", "bare Kivy window first frame",
                      percentile(bare_ms, 0.5), note=f"median of {len(home_ms)} cold starts to the home screen's "
                      f"first frame under Xvfb 1280x800; first start on an empty state dir: "
                      f"{extra['first_start_ms']} ms" + (f"; errors: {errors[:1]}" if errors else ""), extra=extra)
    if "rss_mb" in tour and tour.get("tour_ok"):
        rss_fig = Figure("startup.rss_mb", tour["rss_mb"], "MB", "bare Kivy window", percentile(bare_rss, 0.5),
                         note=f"kiosk process's resident memory (MiB) at the end of the full tour "
                              f"({tour.get('steps')} steps, zh_CN) on hall_demo.demo.Stack, read in the live app on "
                              f"the home screen after the last session's clean-up (peak during the tour: "
                              f"{tour.get('peak_mb', 0):.0f} MiB); the device simulators run in their own process "
                              f"(kiosk+simulators: {tour.get('rss_mb', 0) + tour.get('sim_rss_mb', 0):.0f} MiB)",
                         extra={"uss_mb": round(tour.get("uss_mb", 0), 1),
                                "peak_mb": round(tour.get("peak_mb", 0), 1),
                                "after_stop_mb": round(tour.get("after_stop_mb", 0), 1),
                                "screens_built": tour.get("screens_built"),
                                "simulators_mb": round(tour.get("sim_rss_mb", 0), 1),
                                "with_simulators_mb": round(tour.get("rss_mb", 0) + tour.get("sim_rss_mb", 0), 1)})
    else:
        why = tour.get("error") or tour.get("tour_error") or "tour did not finish"
        rss_fig = Figure("startup.rss_mb", None, "MB", "bare Kivy window", percentile(bare_rss, 0.5),
                         note=f"not measured: the tour failed ({why[:160]})",
                         extra={"rss_mb_after_failed_tour": tour.get("rss_mb")})
    return {"startup.home_ms": home_fig, "startup.rss_mb": rss_fig}
