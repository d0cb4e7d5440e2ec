"""deploy/session/hall-kiosk-session.service under a real systemd: cage + the kiosk UI.

The shipped unit is installed unchanged in a private systemd user manager (hall_demo.sdman); cage
runs on wlroots' headless backend with the software renderer, the kiosk's Kivy window reaches it
through cage's Xwayland (deploy/session/kiosk-ui). The tests check what a citizen would see (a
screenshot through the compositor, taken with grim), what the X server says about the window
(xwininfo, xprop), and systemd's view: notify from the child, watchdog fed, a hung UI and a
crashed UI restarted, a clean stop.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.deploy.conftest import (
    ROOT,
    TERMINAL,
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

UNIT = "hall-kiosk-session.service"
PROPS = ("ActiveState", "SubState", "MainPID", "NRestarts", "Result", "StatusText")
#: wlroots' headless backend makes one 1280x720 output; the kiosk's config asks for another size
#: on purpose, so a window of the output's size shows that cage made it full screen.
OUTPUT = (1280, 720)
ASKED = {"width": 1280, "height": 720, "fullscreen": True}

SESSION_OVERRIDES = """\
# cage refuses to run as root (it checks that root cannot be regained) and there is no `kiosk`
# user here: `unshare --user` makes it uid 1000 in a user namespace, which is root outside, so this
# checkout and the test's files stay readable. A terminal runs it with User=kiosk.
# No tty and no login session in a private user manager (a terminal: tty1, PAM "login").
PAMName=
TTYPath=
StandardInput=null
UtmpIdentifier=
# No GPU and no input devices on a test machine: wlroots' headless backend, software renderer.
Environment=WLR_BACKENDS=headless WLR_LIBINPUT_NO_DEVICES=1 WLR_RENDERER=pixman
# kiosk-ui's paths: this checkout and the test's config instead of /opt/hall-kiosk and /etc.
Environment=HALL_KIOSK_HOME={root} KIOSK_CONFIG={config}
ExecStop=
ExecStop={root}/deploy/session/kiosk-stop
"""


def _require(*exes: str) -> None:
    missing = [e for e in exes if not any(os.access(os.path.join(d, e), os.X_OK)
                                          for d in os.environ.get("PATH", "/usr/bin").split(":") + ["/usr/bin"])]
    if missing:
        pytest.fail(f"missing {missing}: run `make setup` (Debian packages cage, xwayland, grim, x11-utils)")


@pytest.fixture(scope="module")
def site(manager, tmp_path_factory):
    _require("cage", "Xwayland", "grim", "xwininfo", "xprop")
    s = make_site(tmp_path_factory.mktemp("session"), manager, ui=ASKED)
    manager.install(ROOT / "deploy/session/hall-kiosk-session.service")
    exec_start = f"/usr/bin/unshare --user --map-user=1000 --map-group=1000 /usr/bin/cage -d -- " \
                 f"{ROOT}/deploy/session/kiosk-ui"
    manager.write_unit(f"{UNIT}.d/test.conf",
                       dropin_text(s, exec_start, SESSION_OVERRIDES.format(root=ROOT, config=s.config)))
    manager.systemctl("daemon-reload")
    try:
        yield s
    finally:
        manager.systemctl("stop", UNIT, check=False, timeout_s=120)
        stop_site(s)


def _diag(manager, site) -> str:
    return diagnosis(manager, site, UNIT)


def _kiosk_pid(manager) -> int:
    """The kiosk runtime's PID (cage's child), once it runs."""
    def find():
        for pid in manager.unit_pids(UNIT):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(part.endswith(b"/kiosk") for part in cmd) and b"run" in cmd:
                return pid
        return None
    return wait_for(find, 90, "the kiosk process under cage")


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _x(pid: int, *cmd: str) -> str:
    """Run an X client against the kiosk's X server, inside the service's mount namespace
    (PrivateTmp=: the X socket is in the service's own /tmp)."""
    env = {"PATH": "/usr/bin:/bin", "DISPLAY": _environ(pid)["DISPLAY"]}
    r = subprocess.run(["nsenter", "-t", str(pid), "-m", "--", *cmd], env=env, capture_output=True, text=True,
                       timeout=30)
    return r.stdout + r.stderr


def _kiosk_window(pid: int) -> str | None:
    """The id of the kiosk's top-level X window (title "Kiosk"), once mapped."""
    m = re.search(r'^\s+(0x[0-9a-f]+) "Kiosk":', _x(pid, "xwininfo", "-root", "-tree"), re.M)
    return m.group(1) if m else None


@pytest.fixture
def running(manager, site) -> dict:
    """The session, active, with the kiosk's window mapped; started if a previous test stopped it."""
    state = ensure_active(manager, UNIT, PROPS)
    pid = _kiosk_pid(manager)
    wait_for(lambda: _kiosk_window(pid), 90, "the kiosk's window")
    return dict(state, kiosk=pid)


def test_ready_comes_from_the_kiosk_under_cage(manager, site):
    """Type=notify, NotifyAccess=all: cage never notifies; the runtime (cage's child) sends READY=1."""
    manager.systemctl("stop", UNIT, timeout_s=120)
    manager.systemctl("start", UNIT, timeout_s=120)  # returns once READY=1 arrived
    state = manager.show(UNIT, *PROPS)
    assert state["ActiveState"] == "active", _diag(manager, site)
    assert state["StatusText"] == f"terminal {TERMINAL}", state
    main = int(state["MainPID"])
    assert Path(f"/proc/{main}/exe").resolve() == Path("/usr/bin/cage")
    assert _kiosk_pid(manager) != main


def test_full_screen_without_decorations(manager, site, running):
    """The window covers the output exactly, has no frame, and the screenshot is the kiosk's screen."""
    pid = running["kiosk"]
    win = _kiosk_window(pid)
    info = _x(pid, "xwininfo", "-id", win)
    geometry = re.search(r"-geometry (\d+)x(\d+)\+(-?\d+)\+(-?\d+)", info)
    assert geometry and tuple(map(int, geometry.groups())) == (*OUTPUT, 0, 0), info
    # No window manager frame around it: its parent is the root window (cage draws no decorations).
    tree = _x(pid, "xwininfo", "-tree", "-id", win)
    parent = re.search(r"Parent window id: (.*)", tree)
    assert parent and "(the root window)" in parent.group(1), tree
    extents = _x(pid, "xprop", "-id", win, "_NET_FRAME_EXTENTS")
    assert "not found" in extents or re.search(r"= 0, 0, 0, 0", extents), extents
    # What a citizen sees, through the compositor. SIGWINCH: fresh frames (see inject/sitecustomize).
    from PIL import Image
    shot = site.dir / "cage-screenshot.png"
    env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": manager.env()["XDG_RUNTIME_DIR"],
           "WAYLAND_DISPLAY": _environ(pid)["WAYLAND_DISPLAY"]}

    # No pause after the signal: a grab taken before the fresh frames is too dark and the poll
    # takes another (each signal redraws for 3 s, longer than the poll's interval).
    def screenshot():
        os.kill(pid, signal.SIGWINCH)
        subprocess.run([*manager.nsenter(), "grim", str(shot)], env=env, check=True, timeout=30)
        with Image.open(shot) as img:
            rgb = img.convert("RGB")
            colours = rgb.getcolors(maxcolors=1 << 20)
            return rgb if colours is None or len(colours) > 50 else None

    img = wait_for(screenshot, 60, "a screenshot with the kiosk's screen", interval_s=0.5)
    assert img.size == OUTPUT
    # The kiosk's own pixels reach every edge: its top bar at the top-left corner, its light
    # background at the bottom-right one; nothing black (no desktop, no border) around it.
    top_left, bottom_right = img.getpixel((2, 2)), img.getpixel((OUTPUT[0] - 3, OUTPUT[1] - 3))
    assert sum(top_left) > 60 and sum(bottom_right) > 600, (top_left, bottom_right, str(shot))


def test_limit_core_reaches_cage(manager, site, running):
    """LimitCORE=0 from the unit: cage never sets rlimits itself, so this is systemd's doing."""
    limits = Path(f"/proc/{running['MainPID']}/limits").read_text()
    core = next(ln for ln in limits.splitlines() if ln.startswith("Max core file size"))
    assert core.split()[4:6] == ["0", "0"], core


def test_the_kiosk_feeds_the_watchdog_for_cage(manager, site, running):
    """WATCHDOG=1 comes from the runtime although the watchdog belongs to cage (the main PID)."""
    wait_fed(manager, UNIT, pings=2)
    after = manager.show(UNIT, *PROPS)
    assert after["MainPID"] == running["MainPID"] and after["NRestarts"] == running["NRestarts"], \
        _diag(manager, site)


def test_hung_ui_is_killed_by_the_watchdog_and_restarted(manager, site, running):
    """Kivy's main thread blocks; the core ticks on but stops feeding (UI_HANG_S); systemd restarts."""
    from kiosk.runtime import UI_HANG_S
    os.kill(running["kiosk"], signal.SIGUSR2)  # tests/deploy/inject: block the main thread for good
    after = manager.wait_show(
        UNIT, PROPS, lambda s: int(s["NRestarts"]) > int(running["NRestarts"]) and s["ActiveState"] == "active",
        UI_HANG_S + WATCHDOG_S + 120, "a watchdog restart")
    assert after["MainPID"] != running["MainPID"]
    lines = log_lines(manager, UNIT)
    assert any(f"Watchdog timeout (limit {WATCHDOG_S}s)!" in ln for ln in lines), _diag(manager, site)
    assert any("Failed with result 'watchdog'" in ln for ln in lines), _diag(manager, site)
    assert not Path(f"/proc/{running['kiosk']}").exists()
    new = _kiosk_pid(manager)
    wait_for(lambda: _kiosk_window(new), 90, "the kiosk's window after the restart")


def test_ui_crash_brings_the_app_back(manager, site, running):
    """The UI process dies: cage exits with it and Restart=always starts both again, never a desktop."""
    os.kill(running["kiosk"], signal.SIGKILL)
    after = wait_active(manager, UNIT, not_pid=running["MainPID"])
    assert int(after["NRestarts"]) == int(running["NRestarts"]) + 1, after
    new = _kiosk_pid(manager)
    assert new != running["kiosk"]
    wait_for(lambda: _kiosk_window(new), 90, "the kiosk's window after the crash")


def test_stop(manager, site, running):
    """`systemctl stop` ends cage, Xwayland and the kiosk within TimeoutStopSec; no restart.

    cage 0.1.4 itself ends with SIGABRT (see SuccessExitStatus= in the unit), so that is the exit
    status; the unit is inactive, not failed, and nothing of it is left."""
    before = len(site.log_text())
    manager.systemctl("stop", UNIT, timeout_s=120)
    after = manager.show(UNIT, *PROPS, "ExecMainCode", "ExecMainStatus")
    assert after["ActiveState"] == "inactive" and after["Result"] == "success", (after, _diag(manager, site))
    assert not manager.unit_pids(UNIT)
    # kiosk-stop (ExecStop=) stopped the kiosk before cage: its runtime closed everything in order.
    log = site.log_text()[before:]
    assert "stopping on a signal" in log and "runtime stopped" in log, _diag(manager, site)
    assert log.index("stopping on a signal") < log.index("runtime stopped")
    time.sleep(1 + 1)  # longer than the unit's RestartSec=1: a restart would have begun
    state = manager.show(UNIT, *PROPS)
    assert state["ActiveState"] == "inactive" and state["NRestarts"] == after["NRestarts"], state
