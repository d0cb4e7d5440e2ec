"""A private Xvfb virtual display for the headless demo and the UI tests.

``with Xvfb(1280, 800) as x: os.environ["DISPLAY"] == x.display``. It picks a free display
number (the lock files in /tmp), starts Xvfb with 24-bit colour and GLX (Mesa's software GL
renders Kivy), waits until the X socket exists, and restores DISPLAY when it stops.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from hall_common.procs import stop_process


def _free_display() -> int:
    for n in range(99, 400):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number between :99 and :399")


class Xvfb:
    """A child Xvfb process; sets ``DISPLAY`` while it runs."""

    def __init__(self, width: int = 1280, height: int = 800, depth: int = 24) -> None:
        self.width, self.height, self.depth = width, height, depth
        self.proc: subprocess.Popen | None = None
        self.number: int | None = None
        self._old_display: str | None = None

    @property
    def display(self) -> str:
        """``:N``."""
        return f":{self.number}"

    def start(self, timeout_s: float = 10.0) -> "Xvfb":
        """Start Xvfb and wait for its socket."""
        exe = shutil.which("Xvfb")
        if not exe:
            raise FileNotFoundError("Xvfb not found: run `make setup` (Debian package xvfb)")
        for _ in range(5):  # a race with another Xvfb taking the same number: try the next one
            self.number = _free_display()
            self.proc = subprocess.Popen(
                [exe, self.display, "-screen", "0", f"{self.width}x{self.height}x{self.depth}",
                 "-nolisten", "tcp", "+extension", "GLX", "-noreset"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            sock = Path(f"/tmp/.X11-unix/X{self.number}")
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and self.proc.poll() is None and not sock.exists():
                time.sleep(0.02)
            if sock.exists() and self.proc.poll() is None:
                self._old_display = os.environ.get("DISPLAY")
                os.environ["DISPLAY"] = self.display
                return self
            self.stop()
        raise RuntimeError("Xvfb did not start")

    def stop(self) -> None:
        """Stop Xvfb and restore DISPLAY."""
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
            if self._old_display is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = self._old_display

    def __enter__(self) -> "Xvfb":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
