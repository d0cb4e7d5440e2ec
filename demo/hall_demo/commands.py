"""The `kiosk` sub-commands this distribution adds to the terminal's command (entry points in group
``kiosk.commands``, read by :func:`kiosk.cli.build_parser`): ``demo``, ``sim``, ``bench``,
``explore``, ``check-layout``.

Each ``register_*`` adds its parser and sets ``plugin_main``; the work is imported only when the
command runs, so ``kiosk --help`` stays light.
"""
from __future__ import annotations

import json
import os
import sys


def register_demo(sub, _config_arg) -> None:
    """`kiosk demo`: broker, central service, simulators and the kiosk on this machine."""
    p = sub.add_parser("demo", help="broker + central service + simulators + kiosk on this machine")
    _config_arg(p, "config/demo.toml")
    p.add_argument("--headless", action="store_true", help="no window: the scripted tour under Xvfb")
    p.add_argument("--out", default="demo-out", help="where screenshots and tickets go (default demo-out)")
    p.set_defaults(plugin_main=_demo_main)


def _demo_main(args) -> int:
    from hall_demo import demo
    return demo.run(args.config, args.out, args.headless)


def register_sim(sub, _config_arg) -> None:
    """`kiosk sim ...`: the device simulators of a config, and the commands that drive them."""
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
    p.set_defaults(plugin_main=cmd_sim)


def register_bench(sub, _config_arg) -> None:
    """`kiosk bench`: measured speed with same-run baselines."""
    p = sub.add_parser("bench", help="measured speed with same-run baselines (hall_demo.bench)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    p.add_argument("--quick", action="store_true", help="fewer repetitions: under a minute")
    p.add_argument("--only", default="", help="comma-separated areas: qr, idcard, mqtt, central, startup")
    p.set_defaults(plugin_main=_bench_main)


def _bench_main(args) -> int:
    from hall_demo.bench import main as bench_main
    return bench_main((["--json"] if args.json else []) + (["--quick"] if args.quick else [])
                      + (["--only", args.only] if args.only else []))


def register_explore(sub, _config_arg) -> None:
    """`kiosk explore`: a random explorer on the demo stack, invariants after every step."""
    p = sub.add_parser("explore", help="random explorer on the demo stack, invariants after every step")
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
    p.set_defaults(plugin_main=_explore_main)


def _explore_main(args) -> int:
    from hall_demo import explore
    return explore.run(args.seed, args.steps, config=args.config, out=args.out, keep_going=args.keep_going,
                       hold_time=not args.real_time, echo=not args.quiet, allow=tuple(args.allow))


def register_check_layout(sub, _config_arg) -> None:
    """`kiosk check-layout`: every screen of the tour at each panel size, language and type size."""
    import argparse
    p = sub.add_parser("check-layout", add_help=False,
                       help="every screen of the tour at each size, language and type size")
    p.add_argument("args", nargs=argparse.REMAINDER, help="see `kiosk check-layout --help`")
    p.set_defaults(plugin_main=lambda args: _check_layout_main(args.args))


def _check_layout_main(argv: list[str]) -> int:
    from hall_demo.layoutcheck import main as check_layout  # its own options (and --help), unparsed
    return check_layout(argv)


register_check_layout.raw_main = _check_layout_main  # type: ignore[attr-defined]  # kiosk.cli's hook


def _load(path: str):
    from kiosk import config
    return config.load(path)


def cmd_sim(args) -> int:
    """`kiosk sim ...`."""
    from hall_demo.hub import SimHub, control, control_path
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
