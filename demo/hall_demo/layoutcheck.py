"""`kiosk check-layout`: every screen in every state the tour reaches, in each language, in the
standard and the elder type size, at each panel size, judged by hall_demo.layoutrules.

How: the scripted tour (hall_demo.tour_steps) runs on the real stack - Mosquitto, the
reference central service, the device simulators, the runtime and a real Kivy window - so every
state is reached the way a citizen reaches it, with real data (long names, lists, errors). At
each step, once the screen is drawn, hall_demo.layoutprobe snapshots the widget tree in the mode
the tour is in, switches the type size, snapshots again and switches back. Each language's states
are its own (the tour plays every flow in Chinese, then in English). Kivy opens one window per
process, so each panel size is a child process (``--child``); all share one private Xvfb large
enough for the portrait panel. Identical states (home, reached twenty times) are checked once.

Panels (the DPI fixes what a millimetre is; the smallest common panel of each resolution is
assumed, because a smaller panel has more pixels per millimetre and so is the strictest):
- 1280x800: a 10.1-inch landscape panel (desk and wall terminals), 150 dpi (the UI tests' figure);
- 1920x1080: a 21.5-inch landscape panel, 102.5 dpi;
- 1080x1920: a 21.5-inch portrait panel (the smallest common floor-standing kiosk), 102.5 dpi.

Exit status: 0 with no findings, 1 with findings, 2 when a tour did not complete.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hall_demo import ROOT
from hall_demo.panels import PANELS, Panel

LANGS = ("zh_CN", "en")
#: A whole child (stack start, tour, checks, stop) must end within this (s); a hang fails the run.
CHILD_TIMEOUT_S = 900
#: A panel whose tour stopped short (not a layout finding: the tour's own waits, on a loaded
#: machine) is played once more; its report says so.
TOUR_ATTEMPTS = 2


def allowed_names(services) -> set[str]:
    """Proper names a terminal may show in Chinese on an English screen: catalogue names
    (items, categories, departments, agencies, walk-in lines) that have no English form, and the
    hall's and the terminal's names when the terminal has no English name for them."""
    g = services.guide
    names: set[str] = set()
    entries = list(g.items()) + list(g.categories()) + list(g.departments()) + list(services.walkin.lines())
    for e in entries:
        if e.get("name") and not e.get("name_en"):
            names.add(e["name"])
        if e.get("agency") and not e.get("agency_en"):
            names.add(e["agency"])
    info = services.info
    for attr in ("hall", "name"):
        if getattr(info, attr, "") and not getattr(info, attr + "_en", ""):
            names.add(getattr(info, attr))
    return names


class Boundaries:
    """Word boundaries of Chinese text (jieba's dictionary, no HMM guesses), loaded on first use."""

    def __init__(self) -> None:
        self._cache: dict[str, set[int]] = {}
        self._jieba: Any = None  # jieba, imported at first use (untyped)

    def __call__(self, text: str, offset: int) -> bool:
        if text not in self._cache:
            if self._jieba is None:
                import logging

                import jieba
                jieba.setLogLevel(logging.WARNING)
                self._jieba = jieba
            self._cache[text] = {end for _, _, end in self._jieba.tokenize(text, HMM=False)}
        return offset in self._cache[text]


def judge(states: list[dict], panel: Panel, allowed: set[str]) -> list[dict]:
    """Findings of every state in both modes, each with where it was seen."""
    from hall_demo import layoutrules as rules
    from kiosk.screens import theme
    bounds = Boundaries()
    out = []
    for st in states:
        where = {"size": panel.name, "lang": st["lang"], "screen": st["screen"], "state": st["step"]}
        for mode in ("standard", "elder"):
            for f in rules.check_mode(st[mode], panel.dpi, allowed, bounds):
                out.append({**f, **where, "mode": mode})
        for f in rules.elder_scale(st["standard"], st["elder"], panel.dpi, theme.ELDER_SCALE, theme.FONT_BODY) \
                + rules.elder_targets(st["standard"], st["elder"]):
            out.append({**f, **where, "mode": "elder"})
    return out


def child(panel: Panel, out: Path, tour: str, langs: list[str], shots: bool) -> int:
    """One panel size: the stack, the tour with the inspector, the rules; writes out/result.json."""
    os.environ["KIVY_DPI"] = str(panel.dpi)   # before kivy.metrics is imported
    from kiosk.screens import kivyenv
    kivyenv.prepare(panel.width, panel.height)
    from hall_demo import tour_steps as tours
    from hall_demo.demo import Stack
    from hall_demo.layoutprobe import Inspector
    from hall_demo.reviewshots import ReviewShots
    from hall_demo.tour import play
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "shots", ignore_errors=True)   # a tour played again must not mix in the first's
    stack = Stack(str(ROOT / "config" / "demo.toml"), out, run_dir=out / "run")
    review = ReviewShots(out / "shots") if shots else None
    inspector = Inspector(review)
    started = time.monotonic()
    try:
        stack.start()
        steps = tours.foundation_tour(langs) if tour == "foundation" else tours.full_tour(langs)
        result = play(steps, stack.services, stack.ui_settings, out_dir=None, width=panel.width, height=panel.height,
                      sim=stack.sim, dpi=panel.dpi, inspector=inspector)
        allowed = allowed_names(stack.services)
    finally:
        stack.stop()
    if review is not None:
        review.finish(f"Kiosk screens at {panel.name}")
    findings = judge(inspector.states, panel, allowed)
    data = {"panel": panel.name, "ok": result.ok, "error": result.error, "seconds": round(time.monotonic() - started),
            "states": [{"lang": s["lang"], "screen": s["screen"], "step": s["step"]} for s in inspector.states],
            "repeats": inspector.repeats, "findings": findings}
    (out / "result.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if result.ok else 2


def child_env(display: str) -> dict[str, str]:
    """A panel child's environment: this one on ``display``, with ROOT on the path, without
    KIVY_DPI (each child sets its panel's) and without PCSCLITE_CSOCK_NAME. Why the last: each child
    starts its own private pcscd, and children handed one socket path (a caller that ran a stack,
    such as a pytest session, has it set) bind it in turn; the one that bound first then talked to
    the other's pcscd, whose reader has the same name but never gets this child's card (the
    smart-card step timed out on the identify screen with --jobs 2)."""
    from firmware_bridge.pcsc.stack import SOCKET_ENV
    env = dict(os.environ, DISPLAY=display, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    for name in ("KIVY_DPI", SOCKET_ENV):
        env.pop(name, None)
    return env


def run(panels: list[Panel], out: Path, *, tour: str = "full", langs=LANGS, jobs: int = 1,
        shots: bool = False) -> dict:
    """Run one child per panel (``jobs`` at a time) on one private Xvfb; their results by panel."""
    from hall_demo.xvfb import Xvfb
    side = max(max(p.width, p.height) for p in panels)
    xvfb = Xvfb(side, side).start()
    results: dict[str, dict] = {}
    try:
        env = child_env(xvfb.display)
        pending = list(panels)
        attempts: dict[str, int] = {}
        first_errors: dict[str, str] = {}
        running: list[tuple[Panel, subprocess.Popen, float]] = []
        while pending or running:
            while pending and len(running) < max(1, jobs):
                p = pending.pop(0)
                attempts[p.name] = attempts.get(p.name, 0) + 1
                (out / p.name).mkdir(parents=True, exist_ok=True)
                (out / p.name / "result.json").unlink(missing_ok=True)
                log = open(out / p.name / "child.log", "w")
                cmd = [sys.executable, "-m", "hall_demo.layoutcheck", "--child", p.name, "--out", str(out / p.name),
                       "--tour", tour, "--langs", ",".join(langs)] + (["--shots"] if shots else [])
                running.append((p, subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
                                time.monotonic()))
            for item in list(running):
                p, proc, t0 = item
                if proc.poll() is None and time.monotonic() - t0 < CHILD_TIMEOUT_S:
                    continue
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                running.remove(item)
                f = out / p.name / "result.json"
                results[p.name] = json.loads(f.read_text(encoding="utf-8")) if f.exists() else \
                    {"panel": p.name, "ok": False, "error": f"the check did not finish (exit {proc.returncode}); "
                                                            f"see {out / p.name / 'child.log'}", "states": [],
                     "findings": []}
                results[p.name]["attempts"] = attempts[p.name]
                if p.name in first_errors:
                    results[p.name]["first_error"] = first_errors[p.name]
                if not results[p.name]["ok"] and attempts[p.name] < TOUR_ATTEMPTS:
                    first_errors[p.name] = results[p.name]["error"]
                    pending.append(p)
            if running:
                try:
                    running[0][1].wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    pass
    finally:
        xvfb.stop()
    return results


def report(results: dict, langs, out=sys.stdout) -> int:
    """Print the counts and every finding (grouped where the same defect shows in several
    combinations); the exit status."""
    findings = [f for r in results.values() for f in r["findings"]]
    failed = [r for r in results.values() if not r["ok"]]
    screens = {s["screen"] for r in results.values() for s in r["states"]}
    states = {(s["lang"], s["step"], s["screen"]) for r in results.values() for s in r["states"]}
    checks = sum(len(r["states"]) * 2 for r in results.values())
    per_lang = {lang: len({(st, sc) for (lg, st, sc) in states if lg == lang}) for lang in langs}
    print(f"layout check: {len(screens)} screens in {sum(per_lang.values())} states "
          f"({', '.join(f'{k} {v}' for k, v in per_lang.items())}), each in its language at "
          f"{len(results)} panel sizes x 2 type sizes; {len(results)} sizes x {len(langs)} languages x 2 modes = "
          f"{len(results) * len(langs) * 2} combinations; {checks} screen checks", file=out)
    for name, r in results.items():
        print(f"  {name}: {len(r['states'])} states x 2 modes, {len(r['findings'])} findings"
              + (f", {r.get('seconds')} s" if r.get("seconds") is not None else "")
              + (f" (tour played twice; first stop: {r.get('first_error', '')})" if r.get("attempts", 1) > 1 else "")
              + ("" if r["ok"] else f"; TOUR FAILED: {r['error']}"), file=out)
    groups: dict[tuple, list[dict]] = {}
    for f in findings:
        groups.setdefault((f["rule"], f["screen"], f["widget"]), []).append(f)
    for (rule, screen, widget), fs in sorted(groups.items()):
        combos = sorted({f"{f['size']} {f['lang']} {f['mode']}" for f in fs})
        print(f"[{rule}] {screen}: {widget}: {fs[0]['detail']}  (state {fs[0]['state']!r}; "
              f"{len(combos)} combination(s): {'; '.join(combos[:4])}{' ...' if len(combos) > 4 else ''})", file=out)
    print(f"{len(findings)} findings ({len(groups)} distinct)" if findings else "no findings", file=out)
    return 2 if failed else (1 if findings else 0)


def main(argv: list[str] | None = None) -> int:
    """`kiosk check-layout [--sizes ...] [--langs ...] [--tour full|foundation] [--out DIR]`."""
    p = argparse.ArgumentParser(prog="kiosk check-layout", description="Every screen in every state the tour "
                                "reaches, at each panel size, language and type size; exit 1 on findings.")
    p.add_argument("--sizes", default=",".join(PANELS), help=f"comma-separated panels (default all: {', '.join(PANELS)})")
    p.add_argument("--langs", default=",".join(LANGS), help="comma-separated languages (default zh_CN,en)")
    p.add_argument("--tour", default="full", choices=("full", "foundation"), help="which tour reaches the states")
    p.add_argument("--out", default="demo-out/layout", help="where results, logs and screenshots go")
    p.add_argument("--jobs", type=int, default=1, help="panel sizes checked at once (default 1)")
    p.add_argument("--shots", action="store_true", help="save every screen state of the tour in both type sizes, with an "
                   "index page (SIZE/shots/<lang>-<mode>/, SIZE/shots/index.html)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON instead of the report")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    langs = [x for x in a.langs.split(",") if x]
    if a.child:
        return child(PANELS[a.child], Path(a.out), a.tour, langs, a.shots)
    unknown = [s for s in a.sizes.split(",") if s and s not in PANELS]
    if unknown:
        p.error(f"unknown size(s) {unknown}; known: {', '.join(PANELS)}")
    panels = [PANELS[s] for s in a.sizes.split(",") if s]
    out = Path(a.out).resolve()
    results = run(panels, out, tour=a.tour, langs=langs, jobs=a.jobs, shots=a.shots)
    (out / "findings.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    if a.json:
        print(json.dumps([f for r in results.values() for f in r["findings"]], ensure_ascii=False, indent=1))
        return 2 if any(not r["ok"] for r in results.values()) else (1 if any(r["findings"] for r in results.values()) else 0)
    return report(results, langs)


if __name__ == "__main__":
    sys.exit(main())
