"""deploy/systemd/hall-kiosk.service under a real systemd: notify, watchdog, restarts, stop, limits.

The shipped unit is installed unchanged in a private systemd user manager (hall_demo.sdman) with the
drop-in of conftest.dropin_text; the kiosk runs headless against a private Mosquitto and the
device simulators. Every check reads systemd's own view (``systemctl show``) and its log.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.deploy.conftest import (
    ROOT,
    TERMINAL,
    VENV,
    WATCHDOG_S,
    diagnosis,
    dropin_text,
    ensure_active,
    log_lines,
    make_site,
    stop_site,
    wait_active,
    wait_fed,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

UNIT = "hall-kiosk.service"
PROPS = ("ActiveState", "SubState", "MainPID", "NRestarts", "Result", "StatusText")


@pytest.fixture(scope="module")
def site(manager, tmp_path_factory):
    s = make_site(tmp_path_factory.mktemp("headless"), manager)
    manager.install(ROOT / "deploy/systemd/hall-kiosk.service")
    manager.write_unit(f"{UNIT}.d/test.conf",
                       dropin_text(s, f"{VENV}/bin/kiosk run --headless --config {s.config}"))
    manager.systemctl("daemon-reload")
    try:
        yield s
    finally:
        manager.systemctl("stop", UNIT, check=False)
        stop_site(s)


def _diag(manager, site) -> str:
    return diagnosis(manager, site, UNIT)


@pytest.fixture
def running(manager, site) -> dict:
    """The unit, active; started (and waited for) if a previous test stopped it."""
    return ensure_active(manager, UNIT, PROPS)


def test_active_only_after_ready(manager, site):
    """Type=notify: `start` leaves the unit activating until the runtime sends READY=1."""
    manager.systemctl("stop", UNIT)
    manager.systemctl("start", "--no-block", UNIT)
    seen = []

    def record(s):
        seen.append((s["ActiveState"], s["SubState"], s["MainPID"] != "0"))
        return s["ActiveState"] in ("active", "failed")

    state = manager.wait_show(UNIT, PROPS, record, 90, "the unit to become active")
    assert state["ActiveState"] == "active", _diag(manager, site)
    # While Python imported and the devices opened, the process ran but the unit was not active.
    assert ("activating", "start", True) in seen, seen
    # The READY=1 datagram carried this status line (kiosk.watchdog.Notifier.ready).
    assert state["StatusText"] == f"terminal {TERMINAL}", state
    assert '"msg": "runtime started"' in site.log_text()


def test_the_runtime_feeds_the_watchdog(manager, site, running):
    """WATCHDOG=1 arrives more often than WatchdogSec: the unit is not restarted while healthy."""
    wait_fed(manager, UNIT, pings=2)  # two pings take about one watchdog period
    after = manager.show(UNIT, *PROPS)
    assert after["MainPID"] == running["MainPID"] and after["NRestarts"] == running["NRestarts"], after


def test_hung_core_is_killed_by_the_watchdog_and_restarted(manager, site, running):
    """SIGSTOP freezes every thread (the tick loop too): no WATCHDOG=1, systemd kills and restarts."""
    pid = running["MainPID"]
    os.kill(int(pid), signal.SIGSTOP)
    seen_results = set()

    def restarted(s):
        seen_results.add(s["Result"])
        return int(s["NRestarts"]) > int(running["NRestarts"]) and s["ActiveState"] == "active" \
            and s["MainPID"] not in ("0", pid)

    after = manager.wait_show(UNIT, PROPS, restarted, WATCHDOG_S + 90, "a watchdog restart")
    lines = log_lines(manager, UNIT)
    assert any(f"Watchdog timeout (limit {WATCHDOG_S}s)!" in ln for ln in lines), _diag(manager, site)
    assert any("Failed with result 'watchdog'" in ln for ln in lines), _diag(manager, site)
    assert "watchdog" in seen_results, seen_results
    assert not Path(f"/proc/{pid}").exists(), "the frozen process is still there"
    assert after["StatusText"] == f"terminal {TERMINAL}"


def test_sigkill_is_restarted(manager, site, running):
    pid = running["MainPID"]
    os.kill(int(pid), signal.SIGKILL)
    after = wait_active(manager, UNIT, not_pid=pid)
    assert int(after["NRestarts"]) == int(running["NRestarts"]) + 1, after
    assert any("Main process exited, code=killed, status=9/KILL" in ln for ln in log_lines(manager, UNIT))


def test_an_uncaught_exception_is_restarted(manager, site, running):
    """A Python exception escaping the main thread ends the process (status 1); systemd restarts it."""
    pid = running["MainPID"]
    os.kill(int(pid), signal.SIGUSR1)  # tests/deploy/inject: raise InjectedFailure in the main thread
    after = wait_active(manager, UNIT, not_pid=pid)
    assert int(after["NRestarts"]) == int(running["NRestarts"]) + 1, after
    assert "InjectedFailure: injected by tests/deploy (SIGUSR1)" in site.log_text()
    assert any("Main process exited, code=exited, status=1/FAILURE" in ln for ln in log_lines(manager, UNIT))


def test_limits_and_sandbox_reach_the_process(manager, site, running):
    """LimitCORE=0, NoNewPrivileges, the seccomp filter, no capabilities, UMask=0077, StateDirectory=."""
    pid = running["MainPID"]
    limits = Path(f"/proc/{pid}/limits").read_text()
    core = next(ln for ln in limits.splitlines() if ln.startswith("Max core file size"))
    assert core.split()[4:6] == ["0", "0"], core
    # The runtime also sets RLIMIT_CORE itself (kiosk.trust.policy); systemd's own view of the unit:
    assert manager.show(UNIT, "LimitCORE", "LimitCORESoft") == {"LimitCORE": "0", "LimitCORESoft": "0"}
    status = dict(ln.split(":", 1) for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in ln)
    assert status["NoNewPrivs"].strip() == "1"
    assert status["Seccomp"].strip() == "2"          # SystemCallFilter=@system-service
    assert int(status["CapBnd"], 16) == 0            # CapabilityBoundingSet= (empty)
    groups = set(status["Groups"].split())
    assert {"20", "44", "46"} <= groups, groups      # SupplementaryGroups=dialout video plugdev
    # The serial devices (the simulators' ptys) open through the sandbox.
    wait_for(lambda: sum(_fd_targets(pid).count(t) for t in _pty_targets(site)) == 2, 30,
             "the ID-card reader's and the scanner's ptys open in the kiosk")
    # The state lives in StateDirectory=, writable under ProtectSystem=strict, files 0600 (UMask=0077).
    outbox = site.state_dir / "outbox.sqlite3"
    assert outbox.exists(), sorted(p.name for p in site.state_dir.iterdir())
    assert outbox.stat().st_mode & 0o077 == 0, oct(outbox.stat().st_mode)
    # ProtectSystem=strict: the rest of the file system is read-only for the kiosk.
    mounts = Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
    root = next(ln for ln in mounts if ln.split()[4] == "/")
    assert " ro," in f" {root.split()[5]}," or root.split()[5].startswith("ro"), root


def _fd_targets(pid: str) -> list[str]:
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return out


def _pty_targets(site) -> list[str]:
    return [os.path.realpath(site.dir / f"{role}.pty") for role in ("idcard", "scanner")]


def test_stop_is_clean_and_not_restarted(manager, site, running):
    """`systemctl stop`: SIGTERM, the runtime stops cleanly within TimeoutStopSec, no restart."""
    manager.systemctl("stop", UNIT, timeout_s=60)
    after = manager.show(UNIT, *PROPS, "ExecMainCode", "ExecMainStatus")
    assert after["ActiveState"] == "inactive" and after["SubState"] == "dead", after
    # Result=success: no timeout (that would be Result=timeout and a SIGKILL).
    assert after["Result"] == "success" and after["ExecMainStatus"] == "0", after
    assert '"msg": "runtime stopped"' in site.log_text().rsplit('"msg": "runtime started"', 1)[-1]
    # Stays stopped: Restart=always does not apply to a requested stop.
    time.sleep(2 + 1)  # longer than the unit's RestartSec=2: a restart would have begun
    state = manager.show(UNIT, *PROPS)
    assert state["ActiveState"] == "inactive" and state["NRestarts"] == after["NRestarts"], state


def _verify(units_dir: Path, names: list[str]) -> subprocess.CompletedProcess:
    """`systemd-analyze verify` in a private mount namespace where /opt holds a fake kiosk binary."""
    script = ("set -e; mount -t tmpfs tmpfs /opt; mkdir -p /opt/hall-kiosk/.venv/bin /opt/hall-kiosk/deploy/session;"
              " printf '#!/bin/sh\\n' > /opt/hall-kiosk/.venv/bin/kiosk; chmod +x /opt/hall-kiosk/.venv/bin/kiosk;"
              " printf '#!/bin/sh\\n' > /opt/hall-kiosk/deploy/session/kiosk-stop;"
              " chmod +x /opt/hall-kiosk/deploy/session/kiosk-stop;"
              ' exec systemd-analyze verify "$@"')
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "verify",
                           *[str(units_dir / n) for n in names]],
                          capture_output=True, text=True, timeout=60)


def test_systemd_analyze_verify(tmp_path):
    """Both shipped units pass `systemd-analyze verify` with no message at all.

    Why a private namespace: the check also insists that ExecStart's binary exists and is
    executable; /opt/hall-kiosk does not exist on a test machine, so a tmpfs over /opt (in this
    process's own mount namespace only) holds an empty stand-in. /usr/bin/cage is the real one.
    """
    if os.geteuid() != 0:
        pytest.skip("needs root for the mount namespace")
    for sub, name in (("systemd", "hall-kiosk.service"), ("session", "hall-kiosk-session.service")):
        r = _verify(ROOT / "deploy" / sub, [name])
        assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr
    # The check is not vacuous: an unknown directive and a bad value are reported.
    (tmp_path / "hall-kiosk.service").write_text((ROOT / "deploy/systemd/hall-kiosk.service").read_text().replace(
        "[Service]\n", "[Service]\nWatchdogSecs=30\nLimitCORE=zero\n", 1))
    r = _verify(tmp_path, ["hall-kiosk.service"])
    out = r.stdout + r.stderr
    assert "Unknown key 'WatchdogSecs'" in out and "Failed to parse resource value, ignoring: zero" in out, out
