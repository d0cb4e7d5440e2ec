"""A private Xvfb virtual display for the headless demo and the UI tests.

``with Xvfb(1280, 800) as x: os.environ["DISPLAY"] == x.display``. Xvfb picks the display number
itself (``-displayfd``: it binds the first free one and writes its number to a pipe once it
accepts connections), with 24-bit colour and GLX (Mesa's software GL renders Kivy); DISPLAY is
restored when it stops.

Why ``-displayfd`` and not "look for a free number, then start Xvfb on it": between the look and
the start another process (a parallel test, another engineer's demo) can take the same number;
then one server exits at once while the socket of the other one exists, and the loser talked to
a display of the wrong size that vanished when its owner stopped. The server's own bind is the
only atomic test of a free display.
"""
from __future__ import annotations

import os
import select
import shutil
import subprocess
import time

from hall_common.procs import stop_process


class Xvfb:
    """A child Xvfb process; sets ``DISPLAY`` while it runs."""

    def __init__(self, width: int = 1280, height: int = 800, depth: int = 24) -> None:
        self.width, self.height, self.depth = width, height, depth
        self.proc: subprocess.Popen | None = None
        self.number: int | None = None
        self._old_display: str | None = None
        self._set_display = False   # start() pointed DISPLAY here (launch() does not)

    @property
    def display(self) -> str:
        """``:N``."""
        return f":{self.number}"

    def start(self, timeout_s: float = 30.0) -> Xvfb:
        """Start Xvfb (:meth:`launch`) and point ``DISPLAY`` at it."""
        self.launch(timeout_s)
        self._old_display = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = self.display
        self._set_display = True
        return self

    def launch(self, timeout_s: float = 30.0) -> int:
        """Start Xvfb and wait until it says which display it serves; returns the number and
        leaves ``DISPLAY`` alone (``timeout_s``: a hang guard; a loaded machine takes seconds)."""
        exe = shutil.which("Xvfb")
        if not exe:
            raise FileNotFoundError("Xvfb not found: run `make setup` (Debian package xvfb)")
        read_fd, write_fd = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [exe, "-displayfd", str(write_fd), "-screen", "0", f"{self.width}x{self.height}x{self.depth}",
                 "-nolisten", "tcp", "+extension", "GLX", "-noreset"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                pass_fds=(write_fd,))
            os.close(write_fd)
            write_fd = -1
            number = self._read_display(read_fd, timeout_s)
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        if number is None:
            code = self.proc.poll()
            self.stop()
            raise RuntimeError(f"Xvfb did not start within {timeout_s:.0f} s"
                               + (f" (exit code {code})" if code is not None else ""))
        self.number = number
        return number

    def _read_display(self, fd: int, timeout_s: float) -> int | None:
        """The number Xvfb writes to ``fd`` ("N\\n") once it accepts connections; None if it
        exits or says nothing within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        data = b""
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 64)
            if not chunk:   # Xvfb exited (its end of the pipe closed) before it was ready
                return None
            data += chunk
        try:
            return int(data.strip())
        except ValueError:
            return None

    def stop(self) -> None:
        """Stop Xvfb and restore DISPLAY."""
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
            if self._set_display:
                if self._old_display is None:
                    os.environ.pop("DISPLAY", None)
                else:
                    os.environ["DISPLAY"] = self._old_display
                self._set_display = False
            self.number = None

    def __enter__(self) -> Xvfb:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
