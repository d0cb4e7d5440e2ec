"""A serial QR scanner on a pseudo-terminal: the driver under test opens ``.port`` like a real one.

``ScannerSimulator`` owns a pty pair (``os.openpty``, raw mode so CR is not turned into LF) and
writes what a scanner configured with the same prefix/suffix/terminator/encoding would send,
through :func:`firmware_bridge.scanner.codec.encode_scan`, so driver and simulator cannot
disagree about the wire. Faults are in-band: :meth:`noise` writes arbitrary bytes, ``chunks``
splits a scan into pieces, :meth:`unplug` closes the pty (the reader sees the same EIO a pulled
USB cable gives) and removes the symlink; :meth:`replug` makes a new pty, which gets a *new*
name as real USB devices do, and re-points the symlink (why drivers use stable by-id links).
"""
from __future__ import annotations

import os
import random
import threading
import time
import tty

from firmware_bridge.scanner.codec import encode_scan


class ScannerSimulator:
    """A pty that behaves like a serial scanner; use as a context manager."""

    def __init__(self, *, prefix: bytes = b"", suffix: bytes = b"", terminator: str = "CR",
                 encoding: str = "utf-8", link: str | None = None, seed: int = 0) -> None:
        self.prefix, self.suffix = prefix, suffix
        self.terminator, self.encoding = terminator, encoding
        self.link = link
        self.rng = random.Random(seed)
        self._lock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None
        self.port = ""
        self._open()

    # -- lifecycle -------------------------------------------------------------------------------
    def _open(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # raw: no echo, no CR->LF translation, no line buffering
        self._master, self._slave = master, slave
        self.port = os.ttyname(slave)
        if self.link:
            tmp = self.link + ".tmp"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(self.port, tmp)
            os.replace(tmp, self.link)  # atomic: a reader never sees a missing link mid-switch

    def unplug(self) -> None:
        """Pull the cable: close the pty and remove the symlink."""
        with self._lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None
            if self.link and os.path.lexists(self.link):
                os.unlink(self.link)

    def replug(self) -> None:
        """Plug back in: a new pty (new name) and the symlink pointing at it."""
        with self._lock:
            if self._master is None:
                self._open()

    @property
    def plugged(self) -> bool:
        """Whether the simulated cable is in."""
        return self._master is not None

    def close(self) -> None:
        """Remove the pty and the symlink."""
        self.unplug()

    def __enter__(self) -> ScannerSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the scanner sends -----------------------------------------------------------------
    def frame(self, text: str) -> bytes:
        """The bytes one scan of ``text`` puts on the wire."""
        return encode_scan(text, prefix=self.prefix, suffix=self.suffix,
                           terminator=self.terminator, encoding=self.encoding)

    def scan(self, text: str, *, chunks: int = 1, delay_s: float = 0.0) -> bytes:
        """Send one scan, optionally split at random points into ``chunks`` writes with
        ``delay_s`` between them (a slow UART); returns the bytes sent."""
        data = self.frame(text)
        self.write(data, chunks=chunks, delay_s=delay_s)
        return data

    def noise(self, data: bytes) -> None:
        """Send raw bytes (line noise, a glitching cable)."""
        self.write(data)

    def write(self, data: bytes, *, chunks: int = 1, delay_s: float = 0.0) -> None:
        """Write bytes to the line, split into ``chunks`` pieces at random cut points."""
        cuts = sorted(self.rng.sample(range(1, len(data)), min(max(chunks, 1) - 1, max(len(data) - 1, 0))))
        pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
        for i, piece in enumerate(pieces):
            with self._lock:
                if self._master is None:
                    raise OSError("scanner simulator is unplugged")
                view = memoryview(piece)
                while view:
                    view = view[os.write(self._master, view):]
            if delay_s and i < len(pieces) - 1:
                time.sleep(delay_s)  # pacing of a slow device, not a test wait
