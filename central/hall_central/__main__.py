"""``python -m hall_central``: run one instance of the reference central service."""
from __future__ import annotations

import datetime as dt

import argparse
import json
import signal
import sys
import threading

from kiosk import logs
from hall_central.clock import Clock
from hall_central.service import CentralService


def _clock(args) -> Clock:
    """The hall clock from --clock-speed and --start-at."""
    clock = Clock(speed=args.clock_speed)
    if args.start_at:
        clock.set(dt.datetime.fromisoformat(args.start_at))
    return clock


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start the service, run until SIGINT/SIGTERM."""
    ap = argparse.ArgumentParser(prog="python -m hall_central", description=(
        "Reference central service of the kiosk network contract v1. Seeds the database on first "
        "start (Zhengzhou regions, 46 service items, demo citizens). Several instances may share one "
        "broker (MQTT v5 shared subscription) and one SQLite file."))
    ap.add_argument("--broker", required=True, help="mqtt://HOST:PORT")
    ap.add_argument("--db", required=True, help="SQLite path, sqlite:///path, or postgresql://user@host/db (several instances may share one)")
    ap.add_argument("--clock-speed", type=float, default=1.0, help="run the hall clock N times faster (demos)")
    ap.add_argument("--keys", default=None, metavar="DIR",
                    help="signing keys (made on first use): check-in codes are signed KQ1 codes; without "
                         "keys they are unsigned development codes that production terminals refuse")
    ap.add_argument("--start-at", default=None,
                    help="start the hall clock at this ISO date-time (hall-local if naive), e.g. 2026-11-24T10:05")
    ap.add_argument("--instance", default="c1", help="instance id (logs, MQTT client id)")
    ap.add_argument("--log-level", default="info", help="debug | info | warning")
    args = ap.parse_args(argv)
    logs.setup(args.log_level)
    signer = None
    if args.keys:
        from hall_central.keys import CentralKeys
        signer = CentralKeys(args.keys)
    svc = CentralService(args.broker, args.db, clock=_clock(args), instance=args.instance, signer=signer)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    svc.start()
    print(json.dumps({"ready": True, "instance": args.instance}), flush=True)
    done.wait()
    svc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
