"""Shared parts of the deployment tests: a private systemd user manager (hall_demo.sdman) with the
SHIPPED unit files installed unchanged, and what a kiosk under it talks to: a private Mosquitto
and the device simulators in their own ``kiosk sim run`` process (ID-card reader and QR scanner on
ptys, ESC/POS printer on TCP).

Each test unit gets one drop-in, ``<unit>.d/test.conf`` (:func:`dropin_text`), that overrides only
what cannot apply on a test machine; every line there says why.
"""
from __future__ import annotations

import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hall_common.procs import stop_process
from hall_demo import sdman
from hall_demo.broker import Broker, free_port
from kiosk import config as config_mod

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
INJECT = Path(__file__).resolve().parent / "inject"
#: Short on purpose: the watchdog tests wait about one period (production: 30 s).
WATCHDOG_S = 3
TERMINAL = "ZM-SD-0001"


@dataclass
class Site:
    """The test's files: configs, the kiosk's log, and the parts it started."""

    dir: Path
    config: Path
    log: Path
    state_dir: Path
    broker: Broker
    sim: subprocess.Popen

    def log_text(self) -> str:
        """The kiosk's stdout/stderr (JSON log lines, tracebacks)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture(scope="module")
def manager():
    """A private systemd user manager for this module (hall_demo.sdman)."""
    why = sdman.available()
    if why:
        pytest.skip(f"no private systemd user manager here: {why}")
    m = sdman.UserManager().start()
    try:
        yield m
    finally:
        m.stop()


def _wait_for_sim(proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """`kiosk sim run` prints one JSON line once its simulators serve (or exits on failure)."""
    assert proc.stdout is not None  # PIPE
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("{"):
        raise RuntimeError(f"the simulators did not start within {timeout_s} s (exit {proc.poll()}): {line!r}")


def make_site(base: Path, manager: sdman.UserManager, ui: dict | None = None) -> Site:
    """Broker + simulators + the kiosk's config (its state in the unit's StateDirectory=)."""
    base.mkdir(parents=True, exist_ok=True)
    broker = Broker(workdir=base / "broker").start()
    state_dir = manager.state_directory("hall-kiosk")
    raw = {
        "terminal": {"id": TERMINAL, "name": "部署测试终端", "hall": "部署测试大厅", "hall_code": "H410122203",
                     "region": {"city": "410100", "county": "410122", "township": "410122203"}},
        "runtime": {"state_dir": str(state_dir)},
        "network": {"broker": broker.url},
        "ui": ui or {},
        "devices": {"idcard": {"driver": "idcard.sam-serial", "url": str(base / "idcard.pty")},
                    "scanner": {"driver": "scanner.serial", "url": str(base / "scanner.pty")},
                    "printer": {"driver": "printer.escpos", "url": f"tcp://127.0.0.1:{free_port()}"}},
    }
    cfg = config_mod.from_dict(raw)
    config = base / "kiosk.toml"
    config.write_text(config_mod.dump_toml(cfg.data), encoding="utf-8")
    # The simulators get their own state dir: the kiosk's belongs to systemd (StateDirectory=).
    sim_cfg = base / "sim.toml"
    sim_cfg.write_text(config_mod.dump_toml(cfg.with_overrides({"runtime.state_dir": str(base / "sim")}).data),
                       encoding="utf-8")
    sim_log = open(base / "sim.log", "ab")
    sim = subprocess.Popen([str(VENV / "bin" / "python"), "-m", "kiosk", "sim", "--config", str(sim_cfg), "run"],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=sim_log, text=True, start_new_session=True)
    sim_log.close()
    try:
        _wait_for_sim(sim)
    except Exception:
        stop_process(sim)
        broker.stop()
        raise
    return Site(dir=base, config=config, log=base / "kiosk.log", state_dir=state_dir, broker=broker, sim=sim)


def stop_site(site: Site) -> None:
    """Stop the simulators and the broker."""
    stop_process(site.sim, timeout_s=10)
    assert site.sim.stdout is not None  # PIPE
    site.sim.stdout.close()
    site.broker.stop()


def dropin_text(site: Site, exec_start: str, extra: str = "") -> str:
    """The drop-in of a test unit: only what cannot apply here, each with its reason."""
    lines = [
        "# tests/deploy: what cannot apply in a private user manager on a test machine, and why.",
        "[Service]",
        "# What this checkout runs, with the test's config (broker and simulators the test started).",
        "ExecStart=",
        f"ExecStart={exec_start}",
        "# No `kiosk` user on a test machine: the user manager runs its units as itself (root).",
        "User=",
        "Group=",
        f"# {WATCHDOG_S} s instead of 30 s: the tests wait for a watchdog period.",
        f"WatchdogSec={WATCHDOG_S}",
        "# No journald in a private user manager: stdout and stderr go to a file the test reads.",
        f"StandardOutput=append:{site.log}",
        f"StandardError=append:{site.log}",
        "# PrivateTmp= hides /tmp, where the test keeps the config and the simulators' pty links",
        "# (a terminal has them in /etc and /dev): bind the test's directory back in.",
        f"BindPaths={site.dir}",
        "# The failure hooks the tests trigger by signal (tests/deploy/inject/sitecustomize.py).",
        f"Environment=PYTHONPATH={INJECT}",
    ]
    prefix = Path(sys.base_prefix).resolve()
    hidden = [d for d in (prefix, ROOT.resolve())
              if any(d.is_relative_to(home) for home in (Path("/root"), Path("/home"), Path("/tmp")))]
    if hidden:
        lines += [
            f"# This checkout or this venv's interpreter lives in {', '.join(map(str, hidden))}, which",
            "# ProtectHome=yes or PrivateTmp=yes would hide (a terminal: /opt/hall-kiosk and",
            "# /usr/bin/python3). Homes stay empty except those directories.",
            "ProtectHome=tmpfs",
            *[f"BindReadOnlyPaths={d}" for d in hidden],
        ]
    return "\n".join(lines) + "\n" + extra


def ensure_active(manager: sdman.UserManager, unit: str, props: tuple[str, ...]) -> dict[str, str]:
    """``unit``'s ``props``, active; started (and waited for) if a previous test stopped it."""
    state = manager.show(unit, *props)
    if state["ActiveState"] != "active":
        manager.systemctl("start", unit, timeout_s=120)
        state = wait_active(manager, unit)
    return state


def diagnosis(manager: sdman.UserManager, site: Site, unit: str) -> str:
    """The manager's last lines about ``unit`` and the kiosk's log, for an assertion message."""
    return f"\nmanager log:\n{chr(10).join(log_lines(manager, unit)[-30:])}\nkiosk log:\n{site.log_text()[-3000:]}"


def wait_active(manager: sdman.UserManager, unit: str, *, not_pid: str | None = None,
                timeout_s: float = 90.0) -> dict[str, str]:
    """Wait until the unit is active (running) with a main PID other than ``not_pid``."""
    return manager.wait_show(
        unit, ("ActiveState", "SubState", "MainPID", "NRestarts", "Result", "StatusText"),
        lambda s: s["ActiveState"] == "active" and s["SubState"] == "running" and s["MainPID"] not in ("0", not_pid),
        timeout_s, f"{unit} active with a new main PID")


def wait_fed(manager: sdman.UserManager, unit: str, pings: int = 2, timeout_s: float = 60.0) -> None:
    """Wait until systemd has received ``pings`` more WATCHDOG=1 from the unit (the timestamp moves)."""
    seen: list[Any] = []

    def moved(s: dict) -> bool:
        stamp = s["WatchdogTimestampMonotonic"]
        if not seen or seen[-1] != stamp:
            seen.append(stamp)
        return len(seen) > pings

    manager.wait_show(unit, ("WatchdogTimestampMonotonic",), moved, timeout_s, f"{pings} watchdog pings")


def log_lines(manager: sdman.UserManager, unit: str) -> list[str]:
    """The manager's log lines about ``unit``."""
    return [ln for ln in manager.log().splitlines() if f"{unit}:" in ln or f" {unit} " in ln]
