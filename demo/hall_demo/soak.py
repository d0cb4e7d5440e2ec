"""``python -m hall_demo.soak --duration S``: the full stack under simulated citizens, failing on growth.

Runs a private Mosquitto, the reference central service (its own process, as in production),
the device simulators (ID card on a pty, printer on TCP) and the runtime core, headless. Citizens
come one after another: card placed -> identity read -> appointments -> check-in (durable, through
the outbox) -> ticket printed -> card removed -> session ended. Every ``--sample-s`` it records the
runtime process's resident memory, open file descriptors and threads, the outbox depth and the
SQLite WAL sizes (terminal outbox, central database), and the central service's memory.

Verdict: for each series, a least-squares line over the SECOND half of the run (the first half
is warm-up: caches, allocator arenas, SQLite page cache fill); a series fails when that line rises
by more than its tolerance over the second half AND its slope extrapolates beyond its per-hour
limit (both, so that neither noise on a short run nor a slow leak on a long one passes for the
other). The simulators' own records (byte traces, rendered tickets) are dropped after every
citizen: they are test instruments living in this process, not the runtime.
Citizens are synthetic (hall_central.seed.synthetic_citizen); nothing of them is written out.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from hall_common.procs import stop_process

log = logging.getLogger("kiosk.tools.soak")

#: Per series: (rise allowed over the second half, slope limit per hour). Why these: RSS moves by
#: ~1 MB between samples from allocator noise; fds/threads/outbox must be flat; the WAL is reused
#: after each checkpoint, so it plateaus at its high-water mark.
TOLERANCES = {
    "rss_mb": (4.0, 8.0),
    "fds": (3, 3),
    "threads": (3, 3),
    "outbox_depth": (5, 5),
    "outbox_wal_mb": (4.0, 8.0),
    "central_wal_mb": (16.0, 32.0),
    "central_rss_mb": (8.0, 16.0),
}
EVENT_TIMEOUT_S = 15.0
#: Pause between citizens: a hall serves one citizen per kiosk every ~1-2 min; the soak compresses
#: that so that a 10-minute run sees hundreds of sessions.
CITIZEN_GAP_S = 0.05


@dataclass
class Series:
    """One sampled quantity and its verdict."""

    name: str
    t_s: list
    v: list

    def verdict(self) -> dict:
        """First/last/min/max, the second half's slope and rise, and pass/fail."""
        half = len(self.t_s) // 2
        ts, vs = self.t_s[half:], self.v[half:]
        rise_tol, per_h_tol = TOLERANCES[self.name]
        slope = 0.0
        if len(ts) >= 3 and len(set(ts)) > 1:
            slope = statistics.linear_regression(ts, vs).slope
        rise = slope * (ts[-1] - ts[0]) if len(ts) >= 2 else 0.0
        per_h = slope * 3600
        ok = not (rise > rise_tol and per_h > per_h_tol)
        return {"first": _r(self.v[0]) if self.v else None, "last": _r(self.v[-1]) if self.v else None,
                "min": _r(min(self.v)) if self.v else None, "max": _r(max(self.v)) if self.v else None,
                "second_half_rise": _r(rise), "slope_per_h": _r(per_h),
                "tolerance": {"rise": rise_tol, "per_h": per_h_tol}, "ok": ok}


def _r(x) -> float:
    return round(float(x), 3)


def _size_mb(path: Path) -> float:
    try:
        return path.stat().st_size / 1e6
    except OSError:
        return 0.0


class Soak:
    """The stack and the citizen loop (``run()`` returns the report dict)."""

    def __init__(self, duration_s: float, sample_s: float, workdir: Path) -> None:
        self.duration_s, self.sample_s, self.work = duration_s, sample_s, workdir
        self.served = 0
        self.errors: list[str] = []
        self.samples: dict[str, list] = {k: [] for k in TOLERANCES}
        self.times: list[float] = []
        self._stop = threading.Event()

    def run(self) -> dict:
        """Start everything, serve citizens for the duration while sampling, stop, judge."""
        from hall_demo.broker import Broker, free_port
        from hall_demo.hub import SimHub
        from kiosk import config
        from kiosk.runtime import Runtime

        broker = Broker(workdir=self.work / "broker").start()
        db = self.work / "central.db"
        central_log = open(self.work / "central.log", "ab")
        central = subprocess.Popen([sys.executable, "-m", "hall_central", "--broker", broker.url, "--db", str(db),
                                    "--log-level", "warning"], stdout=central_log, stderr=central_log,
                                   start_new_session=True)
        cfg = config.from_dict({
            "terminal": {"id": "ZM-SOAK-0001", "hall": "中牟县刁家乡便民服务中心", "hall_code": "H410122203",
                         "region": {"city": "410100", "county": "410122", "township": "410122203"}},
            "runtime": {"state_dir": str(self.work / "state")},
            "network": {"broker": broker.url, "request_timeout_s": 5.0},
            "devices": {
                "idcard": {"driver": "idcard.sam-serial", "url": str(self.work / "idcard.pty"),
                           "options": {"poll_interval_s": 0.05}},
                # Why 5 s for the status answer (default 1 s): the printer simulator is a thread of
                # this process, on the same two cores as the broker, the central service and the
                # test suite; at load average 20 it answered one status query in over a second
                # and a fresh-clone make test counted a "not printed" error. A real printer
                # answers in milliseconds; the soak measures the runtime, not the scheduler.
                "printer": {"driver": "printer.escpos", "url": f"tcp://127.0.0.1:{free_port()}",
                            "options": {"status_timeout_s": 5.0}},
            },
        })
        hub = runtime = None
        try:
            hub = SimHub(cfg).start()
            runtime = Runtime(cfg).start()
            self._wait_online(runtime, central)
            proc = psutil.Process()
            cproc = psutil.Process(central.pid)
            sampler = threading.Thread(target=self._sample_loop,
                                       args=(proc, cproc, runtime, self.work / "state" / "outbox.sqlite3-wal",
                                             Path(str(db) + "-wal")), name="soak-sampler", daemon=True)
            t_end = time.monotonic() + self.duration_s
            self._t0 = time.monotonic()
            sampler.start()
            i = 0
            while time.monotonic() < t_end:
                self._citizen(runtime, hub, i)
                i += 1
                self._stop.wait(CITIZEN_GAP_S)
            self._stop.set()
            sampler.join(10)
            # The last citizen's check-in may still wait for the central service's answer: the run
            # ends once the outbox has settled, and the final sample is taken then (the depth "at
            # the end" is what is left behind, not a row caught in flight).
            self._wait_drained(runtime)
            self._sample(proc, cproc, runtime, self.work / "state" / "outbox.sqlite3-wal", Path(str(db) + "-wal"))
        finally:
            self._stop.set()
            for part in (runtime, hub):
                if part is not None:
                    try:
                        part.stop()
                    except Exception:
                        log.exception("stop failed")
            stop_process(central, timeout_s=10)
            central_log.close()
            broker.cleanup()
        return self.report()

    @staticmethod
    def _wait_online(runtime, central, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if central.poll() is not None:
                raise RuntimeError(f"the central service exited with {central.returncode}")
            if runtime.gateway.online:
                try:
                    runtime.gateway.sync_catalogue(timeout_s=2.0)
                    return
                except Exception:  # central not subscribed yet
                    pass
            time.sleep(0.1)
        raise TimeoutError("the stack did not come up")

    @staticmethod
    def _wait_drained(runtime, timeout_s: float = EVENT_TIMEOUT_S) -> None:
        """Wait until the outbox is empty (its depth is published on every change); a row still
        there after ``timeout_s`` stays in the report as a non-zero final depth."""
        drained = threading.Event()
        unsub = runtime.bus.subscribe("network.outbox", lambda e: e.data.get("depth") == 0 and drained.set())
        try:
            if runtime.gateway.outbox_depth() == 0:
                return
            drained.wait(timeout_s)
        finally:
            unsub()

    def _citizen(self, runtime, hub, i: int) -> None:
        """One citizen at the kiosk; a failure is counted with its type, never raised."""
        from hall_central.seed import synthetic_citizen
        bus, services = runtime.bus, runtime.services
        started, ended = threading.Event(), threading.Event()
        unsubs = [bus.subscribe("session.started", lambda e: started.set()),
                  bus.subscribe("session.ended", lambda e: ended.set())]
        try:
            hub.place_card(synthetic_citizen(200_000 + i))
            if not started.wait(EVENT_TIMEOUT_S):
                raise TimeoutError("card not read")
            appts = [a for a in services.checkin.appointments_today() if a["status"] == "booked"]
            if not appts:
                raise LookupError("no booked appointment")
            result = services.checkin.check_in(appts[0]["appointment_id"])
            outcome = services.checkin.print_ticket(result)
            if not outcome.printed:
                raise RuntimeError(f"not printed: {outcome.error}")
            hub.remove_card()
            if not ended.wait(EVENT_TIMEOUT_S):
                raise TimeoutError("session did not end on card removal")
            self.served += 1
        except Exception as e:
            self.errors.append(f"{type(e).__name__}: {getattr(e, 'reason', e)}"[:160])
            try:
                hub.remove_card()
                ended.wait(EVENT_TIMEOUT_S)
            except Exception:
                pass
        finally:
            for u in unsubs:
                u()
            self._drop_sim_records(hub)

    @staticmethod
    def _drop_sim_records(hub) -> None:
        """The simulators keep every byte and ticket for tests; a soak must not count them."""
        if hub.idcard is not None:
            hub.idcard.trace.clear()
        if hub.printer is not None:
            with hub.printer._lock:
                hub.printer.tickets.clear()
                hub.printer.trace.clear()

    def _sample_loop(self, proc, cproc, runtime, outbox_wal: Path, central_wal: Path) -> None:
        while True:
            self._sample(proc, cproc, runtime, outbox_wal, central_wal)
            if self._stop.wait(self.sample_s):
                return

    def _sample(self, proc, cproc, runtime, outbox_wal: Path, central_wal: Path) -> None:
        try:
            c_rss = cproc.memory_info().rss / 1e6
        except psutil.Error:
            c_rss = 0.0
        row = {"rss_mb": proc.memory_info().rss / 1e6, "fds": proc.num_fds(), "threads": threading.active_count(),
               "outbox_depth": runtime.gateway.outbox_depth(), "outbox_wal_mb": _size_mb(outbox_wal),
               "central_wal_mb": _size_mb(central_wal), "central_rss_mb": c_rss}
        self.times.append(time.monotonic() - self._t0)
        for k, v in row.items():
            self.samples[k].append(v)

    def report(self) -> dict:
        """The soak's outcome: citizens served, errors, and every series' verdict."""
        series = {k: Series(k, self.times, v).verdict() for k, v in self.samples.items() if v}
        ok = bool(series) and all(s["ok"] for s in series.values()) and self.served > 0
        return {"ok": ok, "duration_s": self.duration_s, "samples": len(self.times), "citizens_served": self.served,
                "errors": len(self.errors), "error_samples": sorted(set(self.errors))[:5], "series": series}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, soak, print the JSON report; exit 1 on growth or when nobody was served."""
    ap = argparse.ArgumentParser(prog="python -m hall_demo.soak", description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=600.0, help="seconds (hours for a real soak)")
    ap.add_argument("--sample-s", type=float, default=None, help="sampling period (default: duration/120, >= 1 s)")
    ap.add_argument("--series", action="store_true", help="also print every sample")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    sample_s = args.sample_s or max(1.0, args.duration / 120)
    work = Path(tempfile.mkdtemp(prefix="kiosk-soak-"))
    try:
        soak = Soak(args.duration, sample_s, work)
        report = soak.run()
        if args.series:
            report["samples_by_series"] = {"t_s": [_r(t) for t in soak.times],
                                           **{k: [_r(x) for x in v] for k, v in soak.samples.items()}}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, ensure_ascii=False), flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
