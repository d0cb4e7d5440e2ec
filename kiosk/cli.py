"""The `kiosk` command: run, demo, explore, doctor, sim, pin-hash, bench.

``kiosk run --config FILE`` (the kiosk with its UI), ``kiosk run --headless`` (the core without
UI), ``kiosk demo`` (everything on one machine; ``--headless --out DIR`` forces the no-display
tour), ``kiosk explore --seed N --steps K`` (a random explorer on the demo stack, hall_demo),
``kiosk doctor`` (checks; or a technician's probe of one device), ``kiosk sim ...`` (simulators:
run them, place/remove a card, scan, printer faults), ``kiosk pin-hash`` (the staff PIN hash for
``ui.maintenance_pin_hash``), ``kiosk bench [--json] [--quick]`` (measured speed, tools.bench).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

DEFAULT_CONFIG = os.environ.get("KIOSK_CONFIG", "/etc/kiosk/kiosk.toml")


def _config_arg(p: argparse.ArgumentParser, default: str = DEFAULT_CONFIG) -> None:
    p.add_argument("--config", "-c", default=default, help=f"terminal config file (default {default})")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the tests)."""
    ap = argparse.ArgumentParser(prog="kiosk", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the terminal")
    _config_arg(p)
    p.add_argument("--headless", action="store_true", help="the core without UI (devices, network, services)")

    p = sub.add_parser("demo", help="broker + central service + simulators + kiosk on this machine")
    _config_arg(p, "config/demo.toml")
    p.add_argument("--headless", action="store_true", help="no window: the scripted tour under Xvfb")
    p.add_argument("--out", default="demo-out", help="where screenshots and tickets go (default demo-out)")

    p = sub.add_parser("explore", help="random explorer on the demo stack, invariants after every step (hall_demo)")
    _config_arg(p, "config/demo.toml")
    p.add_argument("--seed", type=int, default=1, help="seed of the random choices (default 1)")
    p.add_argument("--steps", type=int, default=300, help="how many steps (default 300)")
    p.add_argument("--out", default=None, help="report, screenshots and run files (default explore-out/seed-N)")
    p.add_argument("--keep-going", action="store_true", help="record every breach and go on from home")
    p.add_argument("--real-time", action="store_true",
                   help="let the session timers run in real time (default: only idle steps move them)")
    p.add_argument("--quiet", action="store_true", help="no line per step")
    p.add_argument("--allow", action="append", default=[], metavar="KIND",
                   help="a breach kind known and reported elsewhere (e.g. zombie): recorded, the run goes on")

    p = sub.add_parser("doctor", help="check config, broker, devices, fonts; or probe one device")
    _config_arg(p)
    p.add_argument("--device", choices=("idcard", "smartcard", "scanner", "camera", "printer"),
                   help="probe this one device alone (with --url)")
    p.add_argument("--url", help="the device URL for --device")
    p.add_argument("--driver", help="driver name for --device (default: the role's usual driver)")
    p.add_argument("--read", action="store_true", help="wait for one read and print it (masked)")
    p.add_argument("--test-print", action="store_true", help="printer: print a test ticket")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for --read (default 30)")

    p = sub.add_parser("sim", help="device simulators")
    _config_arg(p, "config/demo.toml")
    simsub = p.add_subparsers(dest="sim_command", required=True)
    simsub.add_parser("run", help="start the simulators of this config (foreground)")
    sp = simsub.add_parser("place-card", help="put an ID card on the reader")
    sp.add_argument("--citizen", type=int, default=0, help="demo citizen index (0, 1, 2)")
    simsub.add_parser("remove-card", help="take the card off the reader")
    sp = simsub.add_parser("scan", help="scan a code with the serial scanner")
    sp.add_argument("text")
    sp = simsub.add_parser("show-code", help="hold a phone with a QR code in front of the camera")
    sp.add_argument("text", nargs="?", default="", help="the code's text (empty: take the phone away)")
    sp = simsub.add_parser("insert-smartcard", help="insert a social security card into the PC/SC reader")
    sp.add_argument("--citizen", type=int, default=0, help="demo citizen index (0, 1, 2)")
    sp = simsub.add_parser("insert-staff-card", help="insert a staff card (mobile profile sign-in)")
    sp.add_argument("--staff-number", default="S002", help="staff number on the card (default S002)")
    sp.add_argument("--name", default="王芳", help="staff name on the card")
    simsub.add_parser("remove-smartcard", help="take the smart card out")
    for name in ("paper-out", "cover-open"):
        sp = simsub.add_parser(name, help=f"printer {name.replace('-', ' ')}")
        sp.add_argument("state", choices=("on", "off"))
    simsub.add_parser("status", help="where the simulators are")

    sub.add_parser("pin-hash", help="hash a staff PIN for ui.maintenance_pin_hash (reads stdin)")

    p = sub.add_parser("bench", help="measured speed with same-run baselines (tools.bench)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    p.add_argument("--quick", action="store_true", help="fewer repetitions: under a minute")
    p.add_argument("--only", default="", help="comma-separated areas: qr, idcard, mqtt, central, startup")
    return ap


def _load(path: str):
    from kiosk import config
    return config.load(path)


def cmd_run(args) -> int:
    """`kiosk run`."""
    from kiosk import logs
    from kiosk.runtime import Runtime
    cfg = _load(args.config)
    logs.setup(cfg.get("runtime.log_level"))
    runtime = Runtime(cfg).start()
    try:
        if args.headless:
            runtime.run_forever()
        else:
            from kiosk.screens.app import run_app
            run_app(runtime, width=cfg.get("ui.width"), height=cfg.get("ui.height"),
                    fullscreen=bool(cfg.get("ui.fullscreen")), stop_on_signals=True)
    finally:
        runtime.stop()
    return 0


def cmd_sim(args) -> int:
    """`kiosk sim ...`."""
    from firmware_bridge.hub import SimHub, control, control_path
    cfg = _load(args.config)
    path = control_path(cfg)
    if args.sim_command == "run":
        import signal
        import threading
        from kiosk import logs
        logs.setup("info")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        hub = SimHub(cfg, ticket_dir=os.path.join(os.path.dirname(path), "tickets")).start()
        hub.serve(path)
        print(json.dumps({"simulators": hub.status(), "control": path}, ensure_ascii=False), flush=True)
        done = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        done.wait()
        hub.stop()
        return 0
    cmd = {"op": args.sim_command}
    if args.sim_command in ("place-card", "insert-smartcard"):
        cmd["citizen"] = args.citizen
    elif args.sim_command == "insert-staff-card":
        cmd.update(staff_number=args.staff_number, name=args.name)
    elif args.sim_command == "show-code":
        cmd["text"] = args.text
    elif args.sim_command == "scan":
        cmd["text"] = args.text
    elif args.sim_command in ("paper-out", "cover-open"):
        cmd["on"] = args.state == "on"
    try:
        reply = control(path, cmd)
    except OSError as e:
        print(f"no simulator hub at {path} ({e}): start `kiosk sim run` or `kiosk demo`", file=sys.stderr)
        return 2
    print(json.dumps(reply, ensure_ascii=False))
    return 0 if reply.get("ok") else 1


def cmd_pin_hash(args) -> int:
    """`kiosk pin-hash`: reads a PIN from stdin, prints the hash."""
    import getpass
    from kiosk.pin import hash_pin
    pin = getpass.getpass("PIN: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        print("a PIN is 4 to 12 digits", file=sys.stderr)
        return 2
    print(hash_pin(pin))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `kiosk` console script."""
    from kiosk.errors import ConfigError
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "demo":
            from kiosk import demo
            return demo.run(args.config, args.out, args.headless)
        if args.command == "explore":
            from hall_demo import explore  # the demo harness: imported only when asked
            return explore.run(args.seed, args.steps, config=args.config, out=args.out, keep_going=args.keep_going,
                               hold_time=not args.real_time, echo=not args.quiet, allow=tuple(args.allow))
        if args.command == "doctor":
            from kiosk import doctor
            return doctor.main(args)
        if args.command == "sim":
            return cmd_sim(args)
        if args.command == "pin-hash":
            return cmd_pin_hash(args)
        if args.command == "bench":
            from tools.bench import main as bench_main  # dev tooling: imported only when asked
            return bench_main((["--json"] if args.json else []) + (["--quick"] if args.quick else [])
                              + (["--only", args.only] if args.only else []))
    except ConfigError as e:
        print(f"kiosk: configuration error: {e.reason}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
