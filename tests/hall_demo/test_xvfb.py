"""hall_demo.xvfb: private displays started side by side never share a number (Xvfb -displayfd)."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading

import pytest

from hall_demo.xvfb import Xvfb

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None or shutil.which("xdpyinfo") is None,
                                reason="needs Xvfb and xdpyinfo (Debian xvfb, x11-utils)")


def _size(display: str) -> str:
    out = subprocess.run(["xdpyinfo", "-display", display], capture_output=True, text=True, timeout=30).stdout
    return next(line.split()[1] for line in out.splitlines() if "dimensions:" in line)


def test_displays_started_at_once_are_distinct_and_each_is_its_own(monkeypatch):
    """Six starts at the same moment (as parallel tests and demos do): six servers, six numbers,
    each answering with the size it was asked for. Picking a number by looking at lock files
    before starting gave two of them the same number: one server exited, its caller used the
    other's display."""
    monkeypatch.setenv("DISPLAY", ":outer")
    sizes = [(320 + 16 * i, 200 + 8 * i) for i in range(6)]
    xs = [Xvfb(w, h) for w, h in sizes]
    go = threading.Barrier(len(xs))
    errors: list[BaseException] = []

    def start(x: Xvfb) -> None:
        go.wait()
        try:
            x.launch()
        except BaseException as e:  # reported below
            errors.append(e)
    # launch(): start() would also set DISPLAY, one process-wide variable; the race is in the
    # choice of the number.
    threads = [threading.Thread(target=start, args=(x,)) for x in xs]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        numbers = [x.number for x in xs]
        assert len(set(numbers)) == len(numbers), numbers
        for x, (w, h) in zip(xs, sizes):
            assert x.proc is not None and x.proc.poll() is None
            assert _size(x.display) == f"{w}x{h}"
    finally:
        for x in xs:
            x.stop()
    assert os.environ["DISPLAY"] == ":outer"


def test_display_is_set_while_running_and_restored():
    old = os.environ.get("DISPLAY")
    with Xvfb(320, 240) as x:
        assert os.environ["DISPLAY"] == x.display
        assert _size(x.display) == "320x240"
    assert os.environ.get("DISPLAY") == old
