"""`kiosk doctor`: one line per check (ok/warn/FAIL + a hint), non-zero exit when anything fails.

Checks the config and everything `kiosk run` refuses to start without (kiosk.preflight: the
production profile, the state directory, trust, drivers, TLS files, the sealing key), the disk
(free space, the outbox's integrity by ``PRAGMA quick_check`` and its writability, dead letters
and corrupt copies kept aside), the broker (through the terminal's own MQTT link,
kiosk.network.link: a real MQTT v5 CONNECT and SUBSCRIBE, not just a TCP connect), each configured
device without disturbing a running kiosk, a CJK font and the compiled translations. Exit 0 when all pass, 1 when a check
fails, 2 when `kiosk run` would refuse to start (with one line on stderr saying why). The technician's probe (``--device ROLE --url URL --read`` / ``--test-print``) exercises one
device alone and prints one JSON line.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from kiosk import config as config_mod
from kiosk import preflight, roles, storage
from kiosk.errors import KioskError
from kiosk.fonts import find_cjk_font

if TYPE_CHECKING:
    from kiosk.devices.base import Device
    from kiosk.events import Event


@dataclass
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    detail: str
    hint: str = ""
    #: A failure that makes `kiosk run` refuse to start (exit 2), not just a fault to fix.
    refusal: bool = False
    #: Passed, but something waits for a person (dead letters, a corrupt file kept aside).
    warn: bool = False

    def line(self) -> str:
        """``ok   broker     mqtt://... (CONNACK 0, own topics granted)``, ``warn ... -> hint`` or ``FAIL ... -> hint``."""
        status = ("warn" if self.warn else "ok  ") if self.ok else "FAIL"
        hint = f"  -> {self.hint}" if (self.hint and (self.warn or not self.ok)) else ""
        return f"{status} {self.name:<16} {self.detail}{hint}"


def broker_check(cfg: config_mod.Config) -> Check:
    """The broker answers MQTT, accepts this terminal (its certificate, on mqtts://) and grants it
    its own topics (the subscribe ACL: Mosquitto's dynamic-security plugin answers 0x87 to MQTT v5)."""
    # Through the link: the terminal's own MQTT client, so the doctor asks what the gateway would.
    from kiosk.network import link, topics
    from kiosk.network.broker import tls_settings
    broker = cfg.get("network.broker")
    try:
        rc, granted = link.probe(broker, tls=tls_settings(cfg), subscribe=topics.res(cfg.terminal_id))
    except KioskError as e:
        return Check("broker", False, f"{broker}: {e.reason}", e.action)
    except (OSError, ConnectionError) as e:
        return Check("broker", False, f"{broker}: {e}",
                     "start the broker (demo: `make demo`), check network.broker, the certificates and the network")
    if rc != 0:
        return Check("broker", False, f"{broker} (CONNACK {rc})", "the broker refused us: check credentials / certificates")
    if granted is not None and granted >= 0x80:
        return Check("broker", False, f"{broker} (CONNACK 0, SUBACK 0x{granted:02x} for {topics.res(cfg.terminal_id)})",
                     f"the broker does not grant terminal {cfg.terminal_id} its topics: add it to the broker's "
                     "dynamic-security config (config/broker/README.md)")
    return Check("broker", True, f"{broker} (CONNACK 0, own topics granted)")


def check_device(role: str, section: dict[str, Any]) -> Check:
    """Check one device without taking it from a running kiosk (how: by what its url names,
    :data:`kiosk.roles.ROLES`)."""
    url = section.get("url", "")
    name = f"device:{role}"
    spec = roles.by_name(role)
    try:
        if section.get("driver") == spec.virtual:
            return Check(name, True, f"{spec.virtual} (in memory: no hardware to check)")
        if url.startswith(("tcp://", "socket://")):
            u = urlparse(url.replace("tcp://", "socket://", 1))
            if spec.interface is roles.Printer:  # it can tell its status: ask it
                from kiosk.devices import registry
                from kiosk.events import EventBus
                printer: Any = registry.build(role, section, EventBus())  # a printer driver: status()
                status = printer.status()
                printer.stop()
                ok = status.online and not status.paper_out and not status.cover_open
                flags = [f for f in ("paper_out", "cover_open", "paper_near_end", "error")
                         if getattr(status, f, False)]
                summary = ("online" if status.online else "offline") + "".join(f", {f}" for f in flags)
                return Check(name, ok, f"{url} ({summary})", "load paper / close the cover")
            socket.create_connection((u.hostname, u.port), timeout=2).close()
            return Check(name, True, f"{url} reachable")
        if url.startswith("usb://") or spec.url == roles.READER or (spec.url == roles.SOURCE and url.isdigit()):
            return Check(name, True, f"{url or '(first reader)'} configured (probe with --device {role} --read)")
        if url.startswith(("http://", "https://")):
            # A network camera: it must answer with a stream (read only the headers).
            import urllib.request
            with urllib.request.urlopen(url, timeout=3) as resp:
                kind = resp.headers.get("Content-Type", "")
            return Check(name, True, f"{url} streaming ({kind.split(';')[0] or 'unknown type'})")
        if "://" in url:
            return Check(name, True, f"{url} configured")
        if not os.path.exists(url):
            return Check(name, False, f"{url} missing",
                         "plug the device in / start `kiosk sim run`; prefer /dev/serial/by-id names")
        real = os.path.realpath(url)
        if spec.url == roles.PORT and not os.access(real, os.R_OK | os.W_OK):
            return Check(name, False, f"{url} -> {real} not readable/writable", "add the user to group dialout")
        return Check(name, True, f"{url} -> {real} present")
    except KioskError as e:
        return Check(name, False, f"{url}: {e.reason}", e.action)
    except OSError as e:
        return Check(name, False, f"{url}: {e}", "check the cable / the network / the simulator")
    except Exception as e:  # a broken driver must not hide the other checks
        return Check(name, False, f"{url}: {type(e).__name__}: {e}", "reinstall the runtime (make setup)")


#: What a fresh outbox takes on disk (its file, -wal and -shm): with less, `kiosk run` cannot create it.
_NEW_OUTBOX_BYTES = 128 * 1024


def storage_checks(cfg: config_mod.Config) -> list[Check]:
    """Free space, the outbox's integrity and writability, and what waits for a person (read-only)."""
    state_dir = cfg.get("runtime.state_dir")
    need = cfg.get("runtime.min_free_mb") * 1024 * 1024
    free, inodes = storage.free_bytes(state_dir), storage.free_inodes(state_dir)
    no_inode = f"; no free inode (df -i {state_dir})" if inodes == 0 else ""
    checks = [Check("disk_space", free >= need and inodes != 0, f"{free // 2**20} MB free for {state_dir} (at least "
                    f"{need // 2**20} MB: runtime.min_free_mb){no_inode}", f"free space on the disk of {state_dir}")]
    path = os.path.join(state_dir, "outbox.sqlite3")
    unusable = storage.unusable_files(path)
    if unusable is not None:  # `kiosk run` refuses to open the outbox
        return checks + [Check("outbox", False, unusable.reason, unusable.action, refusal=True)]
    empty = os.path.isfile(path) and os.path.getsize(path) == 0  # a start that met a full disk left it
    if not os.path.lexists(path) or empty:
        if inodes == 0 or free < _NEW_OUTBOX_BYTES:  # `kiosk run` could not create it: it refuses
            return checks + [Check("outbox", False, f"{path} cannot be created: the disk is full{no_inode}",
                                   storage.StorageError("full", path, "").at_start().action, refusal=True)]
        return checks + [Check("outbox", True, f"{path} {'empty' if empty else 'not created yet'} "
                                               "(the first start creates it)")]
    integrity = storage.quick_check(path)
    if integrity.startswith(storage.UNCHECKED_FULL):
        return checks + [Check("outbox", False, f"{path}: {integrity}",
                               storage.StorageError("full", path, integrity).action)]
    if integrity != "ok":
        stuck = storage.writable(path) if os.path.isfile(path) else None  # a directory is moved aside
        if stuck is not None:  # `kiosk run` cannot move it aside (chattr +i): it refuses to start
            return checks + [Check("outbox", False, f"{path}: corrupt ({integrity}) and cannot be moved aside ({stuck})",
                                   f"chattr -i {path} (lsattr), or move it away by hand; then start the kiosk again",
                                   refusal=True)]
        return checks + [Check("outbox", False, f"{path}: corrupt ({integrity})",
                               "`kiosk run` moves it aside (kept as outbox.sqlite3.corrupt-<time>) and starts a "
                               "fresh one, carrying over the rows it can read; check the disk (dmesg, smartctl)")]
    problem = storage.writable(path)
    if problem is not None:
        return checks + [Check("outbox", False, f"{path}: not writable ({problem})",
                               storage.StorageError("read_only", path, problem).action)]
    waiting, dead = _outbox_counts(path)
    checks.append(Check("outbox", True, f"{path} (integrity ok, writable, {waiting} rows waiting)"))
    if dead:
        checks.append(Check("dead_letters", True, f"{dead} rows set aside: the central service's answers could not "
                            "be read", f"report to the central service's operators; the rows are in table "
                            f"dead_letter of {path}", warn=True))
    for copy in storage.corrupt_copies(path):
        checks.append(Check("corrupt_copy", True, f"{copy} (a corrupt outbox moved aside)",
                            f"recover its rows (sqlite3 {copy} .recover) or archive it, then delete it", warn=True))
    return checks


def _outbox_counts(path: str) -> tuple[int, int]:
    """(rows waiting, dead letters), read-only."""
    import sqlite3
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        def count(t: str) -> int:
            return int(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) if t in tables else 0
        return count("outbox"), count("dead_letter")
    except sqlite3.Error:
        return 0, 0
    finally:
        db.close()


def device_checks(cfg: config_mod.Config) -> list[Check]:
    """Each configured device, and a warning for a role a hall kiosk needs but does not have."""
    devices = cfg.devices()
    checks = []
    for role in roles.ROLES:
        if role.name in devices:
            checks.append(check_device(role.name, devices[role.name]))
        elif role.required and cfg.get("terminal.profile") == "kiosk":
            checks.append(Check(f"device:{role.name}", True, f"none configured: a hall kiosk needs its {role.title}",
                                f"add [devices.{role.name}] (config/example.toml); driver = \"{role.virtual}\" "
                                "runs without one", warn=True))
    return checks


def run_checks(config_path: str) -> list[Check]:
    """All checks for one config file (a config that does not load is one refusal check)."""
    checks: list[Check] = []
    try:
        cfg = config_mod.load(config_path)
    except KioskError as e:
        return [Check("config", False, e.reason, "fix the file (see config/example.toml)", refusal=True)]
    checks.append(Check("config", True, f"{config_path} (terminal {cfg.terminal_id}, regions "
                                         f"{'/'.join(cfg.regions)})"))
    refused = False
    for name, detail, error in preflight.results(cfg):
        refused |= name == "state_dir" and error is not None
        checks.append(Check(name, True, detail or "") if error is None else
                      Check(name, False, error.reason, error.action, refusal=True))
    if not refused:
        checks += storage_checks(cfg)
    checks.append(broker_check(cfg))
    checks += device_checks(cfg)
    font = find_cjk_font(cfg.get("ui.font", ""))
    checks.append(Check("cjk_font", font is not None, font or "none found",
                        "install fonts-noto-cjk (make setup) or set ui.font"))
    checks.append(translations_check(cfg.get("runtime.language")))
    checks.append(timezone_check(cfg.get("runtime.timezone")))
    return checks


#: The contract's hall time (docs/asyncapi.yaml: dates and times are Asia/Shanghai).
HALL_UTC_OFFSET = dt.timedelta(hours=8)


def timezone_check(name: str, now: dt.datetime | None = None) -> Check:
    """A warning when the configured zone is not UTC+08:00 now: the central service's dates and
    times are the hall's (Asia/Shanghai), so a terminal in another zone shows every slot and
    deadline hours off. Why a warning and not a refusal: a zone the system knows is a valid
    choice (a test hall abroad), but ``Etc/GMT+8`` reads as UTC+8 and means UTC-8 (POSIX signs), a
    slip a cold try made; the config loader already refuses a zone the system does not know."""
    from zoneinfo import ZoneInfo
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(name))
    offset = moment.utcoffset() or dt.timedelta(0)
    hours = offset.total_seconds() / 3600
    detail = f"{name} (UTC{hours:+g})"
    if offset == HALL_UTC_OFFSET:
        return Check("timezone", True, detail)
    return Check("timezone", True, f"{detail}: not the hall time of the contract (Asia/Shanghai, UTC+8)",
                 "set runtime.timezone = \"Asia/Shanghai\" unless this terminal really stands in another "
                 "zone (note: Etc/GMT+8 is UTC-8, the POSIX sign)", warn=True)


def translations_check(language: str, locale_dir: Path | None = None) -> Check:
    """The compiled catalogue of every language a session can take but English (the message ids
    are English, so an English screen needs none). Without it a zh_CN terminal shows every text
    in English under a Chinese hall's name while `kiosk run` starts (a cold try: doctor said ok)."""
    from kiosk import i18n
    tr = i18n.Translator(locale_dir or i18n.LOCALE_DIR)
    missing = [lang for lang in i18n.LANGUAGES if lang != "en" and not tr.has(lang)]
    if missing:
        first = " (the terminal's default language)" if language in missing else ""
        return Check("translations", False, f"no compiled catalogue for {', '.join(missing)}{first}: "
                     "every text would show in English", "python -m tools.i18n compile (make setup does it), "
                     "or install the kiosk from its wheel, which carries them")
    return Check("translations", True, f"{', '.join(i18n.LANGUAGES)} (default {language})")


def print_checks(checks: Iterable[Check], out: Callable[[str], None] = print) -> bool:
    """Print one line per check; True if all passed."""
    ok = True
    for c in checks:
        out(c.line())
        ok &= c.ok
    return ok


def probe_device(role: str, url: str, *, read: bool, test_print: bool, timeout_s: float,
                 driver: str | None = None) -> int:
    """The technician's probe of one device alone; prints one JSON line; returns the exit code."""
    from kiosk.devices import registry
    from kiosk.events import EventBus
    section = {"driver": driver or roles.by_name(role).driver, "url": url, "options": {}}
    out: dict[str, Any] = {"device": role, "url": url}
    try:
        dev = registry.build(role, section, EventBus())
        if isinstance(dev, roles.Printer):
            out["status_before"] = str(dev.status())
            if test_print:
                import datetime as dt

                from kiosk.services.tickets import test_page
                dev.print_ticket(test_page(hall="设备自检", terminal="doctor", when=dt.datetime.now()))
                out["status_after"] = str(dev.status())
        elif read:
            result = dev.read_once(timeout_s) if hasattr(dev, "read_once") else _first_read(dev, timeout_s)
            out["result"] = _masked(result)
        out["state"] = dev.state.value
        dev.stop()
        out["ok"] = True
        print(json.dumps(out, ensure_ascii=False))
        return 0
    except KioskError as e:
        out.update(ok=False, error=e.to_dict())
        print(json.dumps(out, ensure_ascii=False))
        return 2


def _first_read(dev: Device, timeout_s: float) -> Any:
    """Start ``dev``, wait for its first read event (the role's ``read_event``), stop it; a typed
    timeout if none comes (for drivers without their own ``read_once``)."""
    import threading

    from kiosk.devices.base import DeviceTimeout
    got: list[Any] = []
    done = threading.Event()

    def on_read(event: Event) -> None:
        got.append(event.data)
        done.set()
    unsubscribe = dev.bus.subscribe(roles.by_name(dev.role).read_event, on_read)
    dev.start()
    try:
        if not done.wait(timeout_s):
            raise DeviceTimeout(f"no read within {timeout_s:g} s (state {dev.state.value})",
                                action="present a code to the device, check its cable and settings")
        return got[0]
    finally:
        unsubscribe()
        dev.stop()


def _masked(result: Any) -> object:
    """A probe result as JSON, citizens' data masked."""
    if hasattr(result, "masked"):
        return result.masked()
    if hasattr(result, "kind"):
        return {"kind": result.kind, "value": getattr(result, "masked_value", None) or f"<{len(str(result.value))} chars>"}
    if isinstance(result, dict):
        from hall_common import privacy
        return {k: privacy.redact_text(str(v)) for k, v in result.items()}
    return str(result)


def main(args: argparse.Namespace) -> int:
    """Entry from the CLI."""
    from kiosk import logs
    logs.setup("critical")  # the checks' own lines are the output; drivers' warnings would repeat them
    if args.device:
        return probe_device(args.device, args.url or "", read=args.read, test_print=args.test_print,
                            timeout_s=args.timeout, driver=args.driver)
    checks = run_checks(args.config)
    refusal = next((c for c in checks if c.refusal and not c.ok), None)
    if refusal is not None and refusal.name == "config":  # nothing else could be checked
        print(preflight.one_line(KioskError(refusal.detail, action=refusal.hint), "kiosk doctor: configuration error"),
              file=sys.stderr)
        return 2
    ok = print_checks(checks)
    sys.stdout.flush()
    if refusal is not None:
        print(preflight.one_line(KioskError(refusal.detail, action=refusal.hint),
                                 "kiosk doctor: `kiosk run` would refuse to start"), file=sys.stderr)
        return 2
    return 0 if ok else 1
