"""The `kiosk` command: run, doctor, pin-hash, and the sub-commands plug-ins add.

``kiosk run --config FILE`` (the terminal with its touchscreen: the hall kiosk, or the staff's
mobile app where ``terminal.profile = "mobile"``), ``kiosk run --headless`` (the core without UI), ``kiosk doctor`` (checks; or a technician's probe of one device), ``kiosk pin-hash`` (the
staff PIN hash for ``ui.maintenance_pin_hash``). Where the demo distribution is installed
(``demo/``, :mod:`hall_demo.commands`) it adds ``kiosk demo``, ``kiosk sim``, ``kiosk bench``,
``kiosk explore`` and ``kiosk check-layout``.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.config import Config

DEFAULT_CONFIG = os.environ.get("KIOSK_CONFIG", "/etc/kiosk/kiosk.toml")


def _config_arg(p: argparse.ArgumentParser, default: str = DEFAULT_CONFIG) -> None:
    p.add_argument("--config", "-c", default=default, help=f"terminal config file (default {default})")


#: The commands of the runtime itself: for these no plug-in is looked up (see :func:`main`).
BUILT_IN = ("run", "doctor", "pin-hash")


def build_parser(plugins: bool = True) -> argparse.ArgumentParser:
    """The argument parser (also used by the tests); ``plugins``: with the plug-ins' commands."""
    from kiosk import roles
    ap = argparse.ArgumentParser(prog="kiosk", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the terminal")
    _config_arg(p)
    p.add_argument("--headless", action="store_true", help="the core without UI (devices, network, services)")

    p = sub.add_parser("doctor", help="check config, broker, devices, fonts; or probe one device")
    _config_arg(p)
    p.add_argument("--device", choices=roles.names(),
                   help="probe this one device alone (with --url)")
    p.add_argument("--url", help="the device URL for --device")
    p.add_argument("--driver", help="driver name for --device (default: the role's usual driver)")
    p.add_argument("--read", action="store_true", help="wait for one read and print it (masked)")
    p.add_argument("--test-print", action="store_true", help="printer: print a test ticket")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for --read (default 30)")

    sub.add_parser("pin-hash", help="hash a staff PIN for ui.maintenance_pin_hash (reads stdin)")

    for register in (_plugins() if plugins else {}).values():
        register(sub, _config_arg)
    return ap


@functools.cache
def _plugins() -> dict[str, Any]:
    """Sub-commands other distributions add (entry points in group ``kiosk.commands``: a function
    ``register(subparsers, config_arg)`` that adds its parser and sets ``plugin_main``; one with a
    ``raw_main(argv)`` attribute gets its arguments unparsed instead). The demo
    distribution adds ``demo``, ``sim``, ``bench``, ``explore`` and ``check-layout``; a terminal
    has none of them."""
    from importlib.metadata import entry_points
    found = {}
    for ep in entry_points(group="kiosk.commands"):
        try:
            found[ep.name] = ep.load()
        except Exception as e:  # a broken plug-in must not take `kiosk run` or `kiosk doctor` down
            print(f"kiosk: ignoring the plug-in command {ep.name!r}: {e}", file=sys.stderr)
    return found


def _load(path: str) -> Config:
    from kiosk import config
    return config.load(path)


def cmd_run(args: argparse.Namespace) -> int:
    """`kiosk run`: a refusal to start (config, production profile, state dir, disk) is one line on
    stderr and exit 2, never a traceback (kiosk.preflight holds the checks `kiosk doctor` shares)."""
    from kiosk import logs, preflight
    from kiosk.errors import KioskError
    from kiosk.runtime import Runtime
    from kiosk.storage import StorageError
    try:
        cfg = _load(args.config)
        logs.setup(cfg.get("runtime.log_level"))
        preflight.enforce(cfg)
        runtime = Runtime(cfg)
    except KioskError as e:
        # A disk fault met while starting (the outbox cannot be created on a full disk, say): we
        # exit, so the action is "fix it, then start again", not the running terminal's "resumes".
        print(preflight.one_line(e.at_start() if isinstance(e, StorageError) else e), file=sys.stderr)
        return 2
    runtime.start()
    try:
        if args.headless:
            runtime.run_forever()
        else:
            # The app gets the services and its settings, never the runtime; which app is the
            # profile's (terminal.profile: kiosk or mobile), as the runtime built its services.
            from kiosk.screens.app import run_touchscreen
            from kiosk.services.facade import UiSettings
            run_touchscreen(runtime.services, UiSettings.from_config(cfg), stop_on_signals=True)
    finally:
        runtime.stop()
    return 0


def cmd_pin_hash(args: argparse.Namespace) -> int:
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
    argv = sys.argv[1:] if argv is None else list(argv)
    # Why not for the runtime's own commands: looking plug-ins up reads every installed
    # distribution's entry points and imports each plug-in (the demo's, in a development tree), on
    # `kiosk run`'s way to its first frame and to every `kiosk doctor`.
    built_in = bool(argv) and argv[0] in BUILT_IN
    raw = None if built_in or not argv else getattr(_plugins().get(argv[0]), "raw_main", None)
    if raw is not None:  # a plug-in that parses its own options (and --help)
        code: int = raw(argv[1:])
        return code
    args = build_parser(plugins=not built_in).parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "doctor":
            from kiosk import doctor
            return doctor.main(args)
        if args.command == "pin-hash":
            return cmd_pin_hash(args)
        if hasattr(args, "plugin_main"):
            plugin_code: int = args.plugin_main(args)
            return plugin_code
    except ConfigError as e:
        print(f"kiosk: configuration error: {e.reason}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
