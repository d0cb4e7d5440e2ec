"""``python -m hall_central``: run one instance of the reference central service.

Against the production broker profile (config/broker/, central/hall_central/pki.py) it connects over ``mqtts://``
with its own client certificate: ``--cafile/--cert/--key``, or ``--pki DIR`` for a directory
written by ``python -m hall_central.pki`` (the certificate of ``--instance``: ``central.crt`` for c1,
``central-X.crt`` for instance X). Each instance needs its own certificate: the broker makes the
certificate's name the client id, so two instances sharing one would take each other's connection
over. A refusal (bad options, missing files, a broker that refuses it) is one line on stderr and
exit status 2.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
from pathlib import Path

from hall_central.clock import Clock
from hall_central.service import CentralService, parse_broker_url
from kiosk import logs
from kiosk.errors import KioskError


class UsageError(ValueError):
    """Options that cannot work together (said in one line, exit status 2)."""


def _clock(args) -> Clock:
    """The hall clock from --clock-speed and --start-at."""
    clock = Clock(speed=args.clock_speed)
    if args.start_at:
        clock.set(dt.datetime.fromisoformat(args.start_at))
    return clock


def tls_options(args) -> dict | None:
    """The service's ``tls`` dict from --pki or --cafile/--cert/--key; None for plain mqtt://.
    The broker URL is checked first (the terminal's parser: an IPv6 host in brackets, a port of
    1-65535; before, :0 meant 1883 and :70000 a traceback)."""
    try:
        parse_broker_url(args.broker)
    except ValueError as e:
        raise UsageError(str(e)) from None
    files = {"ca": args.cafile, "cert": args.cert, "key": args.key}
    given = any(files.values())
    secure = args.broker.startswith("mqtts://")
    if args.pki and given:
        raise UsageError("give either --pki DIR or --cafile/--cert/--key, not both")
    if (args.pki or given) and not secure:
        raise UsageError(f"TLS options need an mqtts:// broker URL, got {args.broker}")
    if not secure:
        return None
    if args.pki:
        from hall_central.pki import Pki, PkiError
        try:
            files = {k: v for k, v in Pki(Path(args.pki), 0).central_tls(args.instance).items() if k != "insecure"}
        except PkiError as e:
            raise UsageError(str(e)) from None
    elif not all(files.values()):
        raise UsageError("an mqtts:// broker needs --cafile, --cert and --key (or --pki DIR): "
                         "the broker accepts client certificates only")
    missing = [f"{v} (--{'cafile' if k == 'ca' else k})" for k, v in files.items() if not Path(v).is_file()]
    if missing:
        hint = f"; make it with: python -m hall_central.pki --out {args.pki} --central-instances {args.instance}" \
            if args.pki else ""
        raise UsageError(f"missing TLS file(s): {', '.join(missing)}{hint}")
    return {**files, "insecure": False}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start the service, run until SIGINT/SIGTERM."""
    ap = argparse.ArgumentParser(prog="python -m hall_central", description=(
        "Reference central service of the kiosk network contract v1. Seeds the database on first "
        "start (Zhengzhou regions, 46 service items, demo citizens). Several instances may share one "
        "broker (MQTT v5 shared subscription) and one SQLite file."))
    ap.add_argument("--broker", required=True, help="mqtt://HOST:PORT, or mqtts://HOST:PORT with a client certificate "
                                                    "(an IPv6 address in brackets: mqtts://[::1]:8883)")
    ap.add_argument("--db", required=True, help="SQLite path, sqlite:///path, or postgresql://user@host/db (several instances may share one)")
    ap.add_argument("--cafile", default=None, help="mqtts://: the CA that signed the broker's certificate (the device CA)")
    ap.add_argument("--cert", default=None, help="mqtts://: this instance's client certificate (PEM)")
    ap.add_argument("--key", default=None, help="mqtts://: its private key (PEM)")
    ap.add_argument("--pki", default=None, metavar="DIR",
                    help="mqtts://: take the CA and this instance's certificate from a hall_central.pki directory")
    ap.add_argument("--clock-speed", type=float, default=1.0, help="run the hall clock N times faster (demos)")
    ap.add_argument("--keys", default=None, metavar="DIR",
                    help="signing keys (made on first use): check-in codes are signed KQ1 codes; without "
                         "keys they are unsigned development codes that production terminals refuse")
    ap.add_argument("--start-at", default=None,
                    help="start the hall clock at this ISO date-time (hall-local if naive), e.g. 2026-11-24T10:05")
    ap.add_argument("--instance", default="c1",
                    help="instance id (logs, MQTT client id; under the production profile the broker uses "
                         "the certificate's name as client id)")
    ap.add_argument("--log-level", default="info", help="debug | info | warning")
    args = ap.parse_args(argv)
    try:
        tls = tls_options(args)
    except UsageError as e:
        print(f"central: {e}", file=sys.stderr)
        return 2
    logs.setup(args.log_level)
    signer = None
    if args.keys:
        from hall_central.keys import CentralKeys
        signer = CentralKeys(args.keys)
    svc = CentralService(args.broker, args.db, clock=_clock(args), instance=args.instance, signer=signer, tls=tls)
    done = svc.failed  # the front died: stop, and exit 1 so that the supervisor starts us again
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        svc.start()
    except (KioskError, OSError, TimeoutError) as e:  # TLS files, a refused handshake, no SUBACK
        svc.stop()
        print(f"central: cannot serve on {args.broker}: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"ready": True, "instance": args.instance}), flush=True)
    done.wait()
    failure = svc.failure
    svc.stop()
    if failure:
        print(f"central: stopped serving on {args.broker}: {failure}; exiting 1 for the supervisor to start it "
              "again", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
