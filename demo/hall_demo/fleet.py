"""``python -m hall_demo.fleet``: N headless terminals in one process, each checking citizens in
(citizen.lookup -> appointments.list -> durable checkin through the terminal's real Gateway and
outbox), then one JSON line with the outcome counted against the CENTRAL store's records.

Without ``--broker`` it starts its own Mosquitto and central service on free ports and stops them
at the end; with ``--broker`` pass ``--db`` (the central database) to count lost/duplicated.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from hall_central import seed
from hall_central.stores import open_store
from kiosk.events import EventBus
from kiosk.network.gateway import Gateway

#: Why a pause: a citizen needs seconds at a kiosk (card, choose, print); the fleet keeps that
#: rhythm (scaled by --pace-s) with jitter so that terminals do not move in lockstep.
DEFAULT_PACE_S = 0.5
ONLINE_TIMEOUT_S = 15.0
ANSWER_TIMEOUT_S = 30.0


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 2)


def _terminal(k: int, n_terms: int, gw: Gateway, stop: threading.Event, pace_s: float, rnd: random.Random,
              out: dict, lock: threading.Lock) -> None:
    n = 0
    while not stop.is_set():
        c = seed.synthetic_citizen(n * n_terms + k)
        n += 1
        try:
            ref = gw.request("citizen.lookup", {"id_number": c["id_number"], "name": c["name"]})["citizen_ref"]
            appts = gw.request("appointments.list", {"citizen_ref": ref})["appointments"]
            appt = next(a for a in appts if a["status"] == "booked")
            t0 = time.perf_counter()
            res = gw.submit("checkin", {"appointment_id": appt["appointment_id"], "citizen_ref": ref}).wait(ANSWER_TIMEOUT_S)
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                out["confirmed"].append(res["appointment_id"])
                out["latencies_ms"].append(ms)
        except Exception as e:  # counted and reported, never silently dropped
            with lock:
                out["errors"].append(f"{type(e).__name__}: {getattr(e, 'reason', e)}"[:200])
        stop.wait(pace_s * (0.5 + rnd.random()))


#: Terminals per worker process. Why: paho's network loop uses select(), which cannot watch a
#: file descriptor >= 1024 (FD_SETSIZE; paho turns the ValueError into "connection lost"), and
#: each terminal holds about nine (socket, wake-up pair, outbox and catalogue SQLite with WAL).
#: Worker processes also spread the fleet over every core, as real terminals are separate machines.
PER_PROCESS = 50


def run_terminals(first: int, count: int, total: int, duration_s: float, broker_url: str,
                  pace_s: float = DEFAULT_PACE_S, seed_value: int = 1) -> dict:
    """Run terminals ``first .. first+count-1`` (of ``total``) in this process; raw results."""
    work = Path(tempfile.mkdtemp(prefix="kiosk-fleet-"))
    gws: list[Gateway] = []
    threads: list[threading.Thread] = []
    stop = threading.Event()
    out: dict = {"confirmed": [], "latencies_ms": [], "errors": []}
    lock = threading.Lock()
    try:
        bus = EventBus()
        for k in range(first, first + count):
            gw = Gateway(f"FLEET-{k:04d}", broker_url, ["410100"], work / f"t{k}", bus)
            gw.start()
            gws.append(gw)
        # A head start, bounded: a terminal still offline at the deadline starts all the same, and
        # its failed lookups are counted in the report's errors (never dropped silently).
        deadline = time.monotonic() + ONLINE_TIMEOUT_S
        while not all(g.online for g in gws) and time.monotonic() < deadline:
            time.sleep(0.05)
        rnd = random.Random(seed_value * 100_003 + first)
        for k, gw in zip(range(first, first + count), gws):
            t = threading.Thread(target=_terminal, args=(k, total, gw, stop, pace_s, random.Random(rnd.random()),
                                                         out, lock), name=f"fleet-{k}", daemon=True)
            t.start()
            threads.append(t)
        stop.wait(duration_s)
        stop.set()
        for t in threads:
            t.join(ANSWER_TIMEOUT_S + 5)
    finally:
        stop.set()
        for gw in gws:
            gw.stop()
        shutil.rmtree(work, ignore_errors=True)
    return out


def run(terminals: int, duration_s: float, broker_url: str | None = None, db_url: str | None = None,
        pace_s: float = DEFAULT_PACE_S, seed_value: int = 1, per_process: int = PER_PROCESS) -> dict:
    """Run the fleet (in worker processes of ``per_process`` terminals) and return the report."""
    work = Path(tempfile.mkdtemp(prefix="kiosk-fleet-"))
    broker = svc = None
    out: dict = {"confirmed": [], "latencies_ms": [], "errors": []}
    try:
        if broker_url is None:
            from hall_central.service import CentralService
            from hall_demo.broker import Broker
            broker = Broker(workdir=work / "broker").start()
            broker_url, db_url = broker.url, str(work / "central.db")
            svc = CentralService(broker_url, db_url, instance="fleet").start()
        if terminals <= per_process:
            out = run_terminals(0, terminals, terminals, duration_s, broker_url, pace_s, seed_value)
        else:
            procs = []
            for first in range(0, terminals, per_process):
                count = min(per_process, terminals - first)
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "hall_demo.fleet", "--worker", str(first), "--terminals", str(count),
                     "--total", str(terminals), "--duration", str(duration_s), "--broker", broker_url,
                     "--pace-s", str(pace_s), "--seed", str(seed_value)],
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
            for p in procs:
                stdout, _ = p.communicate(timeout=duration_s + ONLINE_TIMEOUT_S + ANSWER_TIMEOUT_S + 60)
                try:
                    part = json.loads(stdout.strip().splitlines()[-1])
                except (IndexError, json.JSONDecodeError):
                    part = {"confirmed": [], "latencies_ms": [], "errors": [f"worker exited {p.returncode}"]}
                for key in out:
                    out[key] += part[key]
    finally:
        report = {"terminals": terminals, "duration_s": duration_s, "checkins_confirmed": len(out["confirmed"]),
                  "checkins_applied": None, "lost": None, "duplicated": None,
                  "p50_ms": _percentile(out["latencies_ms"], 0.50), "p99_ms": _percentile(out["latencies_ms"], 0.99),
                  "errors": len(out["errors"]), "error_samples": sorted(set(out["errors"]))[:5]}
        if svc is not None:
            svc.stop()
        if db_url:
            store = open_store(db_url)
            try:
                applied = {t["appointment_id"] for t in store.checkin_tickets()}
                report["checkins_applied"] = store.applied_checkins()
                report["lost"] = sum(1 for a in out["confirmed"] if a not in applied)
                report["duplicated"] = sum(1 for a in set(out["confirmed"]) if store.count_checkins(a) > 1)
            finally:
                store.close()
        if broker is not None:
            broker.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    return report


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print one JSON object."""
    ap = argparse.ArgumentParser(prog="python -m hall_demo.fleet", description=__doc__.split("\n\n")[0])
    ap.add_argument("--terminals", type=int, default=10)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of traffic")
    ap.add_argument("--broker", default=None, help="mqtt://HOST:PORT (default: start a private broker + central)")
    ap.add_argument("--db", default=None, help="central database to count against (with --broker)")
    ap.add_argument("--pace-s", type=float, default=DEFAULT_PACE_S, help="mean pause between citizens per terminal")
    ap.add_argument("--json", action="store_true", help="print the report as one JSON object (default)")
    ap.add_argument("--seed", type=int, default=1, help="traffic seed")
    ap.add_argument("--worker", type=int, default=None, metavar="FIRST", help=argparse.SUPPRESS)
    ap.add_argument("--total", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker is not None:  # one worker process of a larger fleet: raw results for the parent
        part = run_terminals(args.worker, args.terminals, args.total or args.terminals, args.duration,
                             args.broker, args.pace_s, args.seed)
        print(json.dumps(part), flush=True)
        return 0
    report = run(args.terminals, args.duration, args.broker, args.db, args.pace_s, args.seed)
    print(json.dumps(report, ensure_ascii=False), flush=True)
    return 0 if report["errors"] == 0 and not report["lost"] and not report["duplicated"] else 1


if __name__ == "__main__":
    sys.exit(main())
