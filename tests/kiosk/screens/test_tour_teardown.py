"""A tour's processes never outlive its test (tests/kiosk/screens/conftest.py: finish_tour,
stop_tour): the stack's broker and central service start in sessions of their own, so when
pytest-timeout stopped test_tour_full they kept running. Here a stand-in tour (a child that starts
a grandchild in its own session, as hall_demo.demo.Stack does) is ended the two ways a test ends
early: an exception raised while waiting for it (what pytest-timeout's signal method does), and
the conftest's own hang bound."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from tests.kiosk.screens.conftest import RUNNING, finish_tour

#: The stand-in tour: a grandchild in a session of its own (like the broker and the central
#: service), its pid written to a file, then both wait far longer than any test.
TOUR = """
import subprocess, sys, time
g = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
open(sys.argv[1], "w").write(str(g.pid))
time.sleep(600)
"""


class Interrupted(Exception):
    """Stands for pytest-timeout's exception, raised from a signal handler in the main thread."""


def _start(tmp_path: Path) -> tuple[subprocess.Popen, int]:
    pid_file = tmp_path / "grandchild.pid"
    proc = subprocess.Popen([sys.executable, "-c", TOUR, str(pid_file)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    RUNNING.add(proc)
    done = threading.Event()
    # Why poll: the file appears when the child has started its grandchild (bound: 30 s, a loaded machine).
    for _ in range(300):
        if pid_file.exists() and pid_file.read_text():
            break
        done.wait(0.1)
    assert pid_file.exists(), "the stand-in tour did not start its grandchild"
    return proc, int(pid_file.read_text())


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_an_exception_while_waiting_stops_the_tour_and_what_it_started(tmp_path):
    proc, grandchild = _start(tmp_path)

    def raise_interrupted(signum, frame):
        raise Interrupted()
    old = signal.signal(signal.SIGUSR1, raise_interrupted)   # not SIGALRM: pytest-timeout's own
    timer = threading.Timer(0.5, lambda: psutil.Process().send_signal(signal.SIGUSR1))
    try:
        timer.start()
        with pytest.raises(Interrupted):
            finish_tour(proc, tmp_path, timeout_s=120)
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, old)
    assert proc.poll() is not None
    assert _gone(grandchild), "the tour's grandchild (its own session) outlived the test"
    assert proc not in RUNNING


def test_a_hung_tour_is_stopped_with_what_it_started(tmp_path):
    proc, grandchild = _start(tmp_path)
    with pytest.raises(pytest.fail.Exception, match="did not finish"):
        finish_tour(proc, tmp_path, timeout_s=0.5)
    assert proc.poll() is not None
    assert _gone(grandchild), "the hung tour's grandchild outlived the test"
    assert proc not in RUNNING
