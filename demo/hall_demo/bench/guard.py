"""``python -m hall_demo.bench.guard``: the speed guard of ``.ci/run``: fail on a regression of any
figure's ratio to its same-run baseline beyond the generous limits of ``guard_limits.toml``.

It runs ``kiosk bench --quick --json`` on each guarded area in its own process, bounded in time (or
checks a saved ``kiosk bench --json`` object with ``--report FILE``), prints one line per guarded
figure and exits 1 if one fails.
Why a second look at a failure: one area is measured again before it fails the guard, because on
a shared machine another job can take the cores for a few seconds; a real regression fails twice.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

from hall_demo import ROOT

LIMITS_FILE = Path(__file__).with_name("guard_limits.toml")


def load_limits(path: Path = LIMITS_FILE) -> tuple[dict[str, dict], list[str], float]:
    """(figure key -> {"min"|"max": limit, "why": text}, the quick areas, an area's time limit in s)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    areas = data.pop("areas")
    quick, timeout_s = areas["quick"], float(areas["timeout_s"])
    for key, rule in data.items():
        if set(rule) - {"why", "min", "max", "base"} or ("min" in rule) == ("max" in rule) or not rule.get("why"):
            raise ValueError(f"{path.name}: [{key}] needs a why and exactly one of min, max (and maybe a base)")
    return data, quick, timeout_s


def check(report: dict, limits: dict[str, dict], areas: list[str] | None = None) -> list[tuple[str, bool, str]]:
    """(figure, passed, what) for every guarded figure of ``areas`` (all when None) in ``report``."""
    out = []
    for key, rule in limits.items():
        if areas is not None and key.split(".")[0] not in _prefixes(areas):
            continue
        fig = report.get(key)
        value, base = (fig or {}).get("value"), (fig or {}).get("baseline_value")
        if "base" in rule:  # compared with another figure of the same run
            base = (report.get(rule["base"]) or {}).get("value")
        if value is None or not base:
            out.append((key, False, f"not measured: {(fig or {}).get('note') or 'absent from the report'}"))
            continue
        ratio = value / base
        if "min" in rule:
            ok, what = ratio >= rule["min"], f"{ratio:.3g}x its baseline (must be >= {rule['min']:g}x)"
        else:
            ok, what = ratio <= rule["max"], f"{ratio:.3g}x its baseline (must be <= {rule['max']:g}x)"
        out.append((key, ok, f"{what}: {value:.4g} against {base:.4g}"))
    return out


def _prefixes(areas: list[str]) -> set[str]:
    """Figure-key prefixes of the areas (the mqtt area also owns outbox.*)."""
    from hall_demo.bench.runner import AREAS
    return {k.split(".")[0] for a in areas for k in AREAS.get(a, ())}


def _area_of(key: str) -> str:
    from hall_demo.bench.runner import AREAS
    return next(a for a, keys in AREAS.items() if key in keys)


def measure(areas: list[str], timeout_s: float, log=print) -> dict:
    """``kiosk bench --quick --json --only AREA`` for each area, each in its own process and bounded
    by ``timeout_s``: an area that takes longer (a regression can make it crawl) reports every
    figure as not measured, with the reason, instead of holding CI for an hour."""
    from hall_demo.bench.runner import AREAS
    report: dict = {}
    for area in areas:
        log(f"guard: {area} ...")
        stdout, why = _bench(area, timeout_s)
        got = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else {}
        for key in AREAS.get(area, ()):
            report[key] = got.get(key) or {"value": None, "note": why}
        report.update({k: v for k, v in got.items() if k not in report})
    return report


def _bench(area: str, timeout_s: float) -> tuple[str, str]:
    """(stdout of ``kiosk bench --quick --json --only area``, why it has no figures if it has none)."""
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "bench", "--quick", "--json", "--only", area],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            cwd=str(ROOT))
    try:
        out, err = proc.communicate(timeout=timeout_s)
        return out, f"kiosk bench exited {proc.returncode}: {err.strip()[-300:]}"
    except subprocess.TimeoutExpired:
        # SIGINT first: the area's finally blocks stop the broker and services it started.
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        return "", f"the {area} area took longer than {timeout_s:.0f} s"


def run(areas: list[str], limits: dict[str, dict], timeout_s: float, log=print) -> bool:
    """Measure ``areas`` (quick), check, measure the failing areas once more; True if all pass."""
    results = check(measure(areas, timeout_s, log), limits, areas)
    failing = sorted({_area_of(k) for k, ok, _ in results if not ok})
    if failing:
        log(f"guard: {', '.join(failing)} measured again before failing")
        retried = {k: (k, ok, what) for k, ok, what in check(measure(failing, timeout_s, log), limits, failing)}
        results = [retried.get(k, (k, ok, what)) for k, ok, what in results]
    for key, ok, what in results:
        log(f"{'ok  ' if ok else 'FAIL'} {key}: {what}")
    return all(ok for _, ok, _ in results)


def main(argv: list[str] | None = None) -> int:
    """Run the guard (0: every ratio within its limit, 1: a regression, 2: bad arguments)."""
    ap = argparse.ArgumentParser(prog="python -m hall_demo.bench.guard", description=__doc__.split("\n\n")[0])
    ap.add_argument("--report", help="check this saved `kiosk bench --json` output instead of measuring")
    ap.add_argument("--only", default="", help="comma-separated areas (default: the quick areas of the limits file)")
    args = ap.parse_args(argv)
    limits, quick, timeout_s = load_limits()
    areas = [a.strip() for a in args.only.split(",") if a.strip()] or quick
    if args.report:
        results = check(json.loads(Path(args.report).read_text(encoding="utf-8")), limits, areas)
        for key, ok, what in results:
            print(f"{'ok  ' if ok else 'FAIL'} {key}: {what}")
        return 0 if all(ok for _, ok, _ in results) else 1
    return 0 if run(areas, limits, timeout_s, log=lambda m: print(m, file=sys.stderr, flush=True)) else 1


if __name__ == "__main__":
    sys.exit(main())
