"""``kiosk bench [--json] [--quick] [--only AREA,...]``: run the areas, evaluate targets, print.

Areas run one after another (never in parallel: they would measure each other). An area that
fails is reported with its typed reason and its figures as missing; the others still run.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time

from hall_demo.bench import machine, report
from hall_demo.bench.report import Figure

#: Area -> the figure keys it owes (listed so that a failed area still shows every key as missing).
AREAS = {
    "qr": ("qr.no_code_ms", "qr.code_ms", "qr.pipeline_fps", "qr.raw_fps", "qr.pipeline_vs_raw", "qr.success_rate"),
    "idcard": ("idcard.read_ms", "idcard.wire_ms"),
    "codes": ("codes.verify_ms", "codes.verify_p99_ms", "codes.ed25519_ms", "codes.reject_p99_ms", "codes.bomb_ms"),
    "mqtt": ("mqtt.gateway_p50_ms", "mqtt.raw_p50_ms", "mqtt.gateway_p99_ms", "mqtt.raw_p99_ms",
             "mqtt.reconnect_ms", "outbox.drain_per_s"),
    "door": ("door.depth_check_ms", "door.poison_judge_ms"),
    "central": ("central.checkins_per_s", "central.p99_ms", "central.poison_checkins_per_s", "central.poison_p99_ms"),
    "startup": ("startup.home_ms", "startup.rss_mb"),
}
UNITS = {"ms": "ms", "fps": "fps", "per_s": "/s", "mb": "MB", "rate": "ratio", "raw": "x"}


def run_all(quick: bool = False, only: list[str] | None = None, progress=None) -> dict:
    """Run the areas; returns the JSON object (machine, run, one entry per figure key)."""
    t0 = time.monotonic()
    figs: dict[str, Figure] = {}
    failed: list[str] = []
    for area, keys in AREAS.items():
        if only and area not in only:
            continue
        if progress:
            progress(f"bench: {area} ...")
        try:
            got = importlib.import_module(f"hall_demo.bench.{area}").run(quick=quick)
        except Exception as e:  # one broken area must not hide the others' figures
            # Why a warning with the traceback: the note keeps 200 characters; CI's log must say where.
            logging.getLogger("kiosk.bench").warning("bench area %s failed", area, exc_info=True)
            got = {k: Figure(k, None, _unit(k), note=f"{area} failed: {type(e).__name__}: {e}"[:200]) for k in keys}
            failed.append(area)
        for k in keys:
            figs[k] = got.get(k) or Figure(k, None, _unit(k), note="not produced")
        figs.update({k: v for k, v in got.items() if k not in figs})
    report.evaluate(figs)
    meta = {"quick": quick, "elapsed_s": round(time.monotonic() - t0, 1), "areas": only or list(AREAS),
            "failed_areas": failed}
    out = report.to_json(figs, machine.describe(), meta)
    out["_table"] = report.table(figs, out["machine"], meta)
    return out


def _unit(key: str) -> str:
    for suffix, unit in UNITS.items():
        if key.endswith(suffix):
            return unit
    return ""


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the table (or one JSON object with --json); 1 if an area raised.

    A missed target is a finding, not a failure of the benchmark: the exit code stays 0.
    """
    ap = argparse.ArgumentParser(prog="kiosk bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions: under a minute")
    ap.add_argument("--only", default="", help=f"comma-separated areas ({', '.join(AREAS)})")
    args = ap.parse_args(argv)
    # Why: the areas restart brokers on purpose; their warnings would drown the table.
    logging.getLogger("kiosk").setLevel(logging.ERROR)
    only = [a.strip() for a in args.only.split(",") if a.strip()] or None
    unknown = set(only or ()) - set(AREAS)
    if unknown:
        print(f"unknown area(s): {', '.join(sorted(unknown))}; choose from {', '.join(AREAS)}", file=sys.stderr)
        return 2
    out = run_all(args.quick, only, progress=None if args.json else lambda m: print(m, file=sys.stderr, flush=True))
    table = out.pop("_table")
    print(report.dumps(out) if args.json else table, flush=True)
    return 1 if out["run"]["failed_areas"] else 0
