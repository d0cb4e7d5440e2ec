"""UI test helpers: one private Xvfb per test session; each tour runs in a child process on the
real stack (hall_demo.demo.Stack: Mosquitto, the reference central service, the device simulators)
with its own temporary run directory. Kivy creates its window once per process, hence children.

Whatever ends a test (its tour done, hung, pytest-timeout's exception, Ctrl-C), the tour's child and
every process it started are stopped (:func:`stop_tour`): the broker and the central service run
in sessions of their own, so killing the child alone left them running, holding ports and pcscd.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Tours started and not finished yet: the session's teardown stops any left (:func:`_no_tour_left`).
RUNNING: set[subprocess.Popen] = set()
#: How long a tour's processes get to stop on SIGTERM before SIGKILL (s).
STOP_GRACE_S = 5.0

ROOT = Path(__file__).resolve().parents[3]
#: The panel DPI the touch targets are checked at (a 10.1" 1280x800 panel is ~150 dpi).
PANEL_DPI = 150


@pytest.fixture(scope="session")
def display():
    """A private Xvfb display (:N) for the whole test session."""
    from hall_demo.xvfb import Xvfb
    x = Xvfb(1920, 1080).start()
    try:
        yield x.display
    finally:
        x.stop()


def start_tour(display: str, base: Path, tour: str = "foundation", langs: str = "zh_CN",
               size: str = "1280x800", dpi: float | None = None, config: Path | None = None) -> subprocess.Popen:
    """Start one tour in a child process (output in base/out, the stack's files in base/run)."""
    env = dict(os.environ, DISPLAY=display)
    cmd = [sys.executable, "-m", "hall_demo.testrun", "--tour", tour, "--out", str(base / "out"),
           "--run-dir", str(base / "run"), "--langs", langs, "--size", size]
    if config:
        cmd += ["--config", str(config)]
    if dpi:
        cmd += ["--dpi", str(dpi)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    RUNNING.add(proc)
    return proc


def stop_tour(proc: subprocess.Popen) -> str:
    """Stop a tour's child and every process below it (SIGTERM, then SIGKILL after STOP_GRACE_S);
    returns what it printed. The family is listed before anything is signalled: once the child is
    gone its children belong to init and nothing links them to this tour any more."""
    import psutil
    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for p in family:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(family, timeout=STOP_GRACE_S)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=STOP_GRACE_S)
    RUNNING.discard(proc)
    try:
        output, _ = proc.communicate(timeout=STOP_GRACE_S)
    except (subprocess.TimeoutExpired, ValueError):
        output = ""
    return output or ""


@pytest.fixture(scope="session", autouse=True)
def _no_tour_left():
    """A tour started and never finished (its test ended between start and finish) is stopped
    with the session at the latest."""
    yield
    for proc in list(RUNNING):
        stop_tour(proc)


#: A guard against a hung tour, not a speed check: the full tour (about 230 steps) takes about 1.5
#: minutes on a quiet 2-core machine and several when other test suites keep both cores busy.
TOUR_HANG_S = 600


def finish_tour(proc: subprocess.Popen, base: Path, timeout_s: float = TOUR_HANG_S) -> tuple[int, dict, str]:
    """Wait for a tour; (exit code, result.json, output). Kills it (and fails) when it hangs."""
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        output = stop_tour(proc)
        pytest.fail(f"tour did not finish within {timeout_s} s:\n{output[-4000:]}")
    except BaseException:
        # pytest-timeout's exception (raised here, in the wait), Ctrl-C: nothing the tour started
        # may outlive the test (the next tour would meet its broker, central service and pcscd).
        stop_tour(proc)
        raise
    RUNNING.discard(proc)
    result_file = base / "out" / "result.json"
    result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.exists() else {}
    return proc.returncode, result, output


@pytest.fixture(scope="session")
def tours(display, tmp_path_factory):
    """Both tours, one after the other: the full one (both languages, 1280x800, panel DPI) and
    the check-in tour at 1920x1080. {name: (exit code, result, output, out dir)}.

    Why not at the same time: each stack starts a private pcscd for its smart-card reader, and
    pcscd insists on one pid file (/run/pcscd/pcscd.pid): a second one started beside the first
    refuses to run, and that tour's smart-card step then waits for a reader that never comes."""
    bases = {"full": tmp_path_factory.mktemp("full"), "large": tmp_path_factory.mktemp("large")}
    results = {}
    for name, args in (("full", dict(tour="full", langs="zh_CN,en", dpi=PANEL_DPI)),
                       ("large", dict(tour="foundation", langs="zh_CN", size="1920x1080"))):
        proc = start_tour(display, bases[name], **args)
        results[name] = (*finish_tour(proc, bases[name]), bases[name] / "out")
    return results


def assert_real_png(path: str, size: tuple[int, int]) -> None:
    """The file is a PNG of the window's size with real content (not one flat colour)."""
    from PIL import Image
    with Image.open(path) as img:
        assert img.format == "PNG", path
        assert img.size == size, (path, img.size)
        colours = img.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is None or len(colours) > 50, f"{path}: almost blank ({len(colours)} colours)"


def play_without_cards_and_camera(display: str, base: Path, tour: str) -> tuple[int, dict, str]:
    """Play ``tour`` on the demo config without the smart card and the camera (tours that use neither)."""
    from kiosk import config
    data = config.load(ROOT / "config" / "demo.toml").data
    for role in ("smartcard", "camera"):
        data["devices"].pop(role, None)
    path = base / "kiosk.toml"
    path.write_text(config.dump_toml(data), encoding="utf-8")
    return finish_tour(start_tour(display, base / "run", tour=tour, config=path), base / "run")


def step_passed(tour: tuple[int, dict, str], step: str) -> None:
    """Assert that the played tour reached ``step`` and that it passed."""
    rc, result, output = tour
    steps = {s["name"]: s for s in result.get("steps", [])}
    assert step in steps, f"step {step!r} not reached: {result.get('error') or output[-3000:]}"
    assert steps[step]["passed"], steps[step]["message"]


@pytest.fixture(scope="session")
def font_cache(tmp_path_factory):
    """Where the screen probes (tests/kiosk/screens/screen_probe.py) keep the prepared Chinese
    faces: extracted by the first probe of the session (about 3 s), reused by the others."""
    return tmp_path_factory.mktemp("fonts")
