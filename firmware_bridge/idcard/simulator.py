"""A SAM/GB ID-card reader on a real pty, speaking :mod:`.codec`: for tests, the demo and benchmarks.

The driver opens ``sim.port`` (or the ``link`` symlink, like ``/dev/serial/by-id/...``) exactly as
it would open a USB-CDC reader. The simulator answers commands in its own thread, keeps the
placed card's data in memory only, and offers fault injection: unplug/replug (the pty vanishes
and comes back under a new name), a failed read, a card pulled mid-read (a partial answer, then
silence), a failing SAM. ``trace`` records every byte in and out (the recorded traces in
``tests/traces/idcard/`` come from it). Behaviour of a card that stays on the reader after a
read: like most readers it answers "find failed" (0x80) to 20 01 while "select" (20 02) still
succeeds; ``halt_after_read=False`` models readers that keep finding it.
"""
from __future__ import annotations

import json
import os
import select
import struct
import threading
import time
import tty
from dataclasses import dataclass, field
from typing import Any

from firmware_bridge.idcard import codec, status
from firmware_bridge.idcard.errors import FrameChecksumError, FrameLengthError, ProtocolError
from firmware_bridge.idcard.identity import Identity, encode_text

TRACE_LABEL = "from the simulator"
#: The simulated SAM's id (16 bytes: two version words, then three numbers; not personal data).
SAM_ID = struct.pack("<HHIII", 5, 1, 20240101, 123456, 987654321)


@dataclass
class Trace:
    """Every byte in and out, with offsets in seconds from the first record."""

    records: list[dict[str, Any]] = field(default_factory=list)
    _t0: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, direction: str, data: bytes) -> None:
        """Append one chunk; ``direction`` is "host->reader" or "reader->host"."""
        with self._lock:
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            self.records.append({"t": round(now - self._t0, 6), "dir": direction, "hex": data.hex()})

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self.records.clear()
            self._t0 = None

    def bytes_of(self, direction: str) -> bytes:
        """All bytes in one direction, concatenated."""
        with self._lock:
            return b"".join(bytes.fromhex(r["hex"]) for r in self.records if r["dir"] == direction)

    def to_jsonl(self, **meta: Any) -> str:
        """JSON lines: a header (label, meta) then one record per line."""
        with self._lock:
            lines = [json.dumps({"label": TRACE_LABEL, **meta}, ensure_ascii=False)]
            lines += [json.dumps(r) for r in self.records]
        return "\n".join(lines) + "\n"


@dataclass
class _Card:
    text: bytes
    photo: bytes
    fingerprint: bytes
    additional_address: bytes
    serial: bytes
    halted: bool = False
    selected: bool = False


class IdCardSimulator:
    """A reader on a pty pair; ``port`` is the slave path the driver opens."""

    def __init__(self, link: str | None = None, baudrate: int = 115200, throttle: bool = False,
                 halt_after_read: bool = True) -> None:
        self.link = link
        self.baudrate = baudrate
        #: Emulate the wire time at ``baudrate`` (10 bits per byte, 8N1) for benchmarks.
        self.throttle = throttle
        self.halt_after_read = halt_after_read
        self.trace = Trace()
        self.port: str | None = None
        self.commands_seen = 0
        self._lock = threading.RLock()
        self._commands_cond = threading.Condition(self._lock)
        self._master: int | None = None
        self._slave: int | None = None
        self._card: _Card | None = None
        self._serial_no = 0
        self._fail_next_read: int | None = None
        self._pull_mid_read = False
        self._silent = 0   # commands left unanswered (a reader or a host too busy to answer in time)
        self._sam_status = status.OK
        self._decoder = codec.Decoder("command")
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wake_r, self._wake_w = -1, -1

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> IdCardSimulator:
        """Open the pty (and link) and start answering."""
        with self._lock:
            self._wake_r, self._wake_w = os.pipe()
            self._open_pty()
            self._stopping = False
        self._thread = threading.Thread(target=self._run, name="idcard-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread, close the pty and remove the link."""
        with self._lock:
            self._stopping = True
            self._wake()
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            self._close_pty()
            for fd in (self._wake_r, self._wake_w):
                if fd >= 0:
                    os.close(fd)
            self._wake_r = self._wake_w = -1
            self._card = None

    def __enter__(self) -> IdCardSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the card -------------------------------------------------------------------------------
    def place(self, identity: Identity, additional_address: str = "") -> None:
        """Put a card on the reader (a new card serial each time)."""
        addr = additional_address.ljust(codec.ADDITIONAL_ADDRESS_LEN // 2).encode("utf-16-le") \
            if additional_address else b""
        with self._lock:
            self._serial_no += 1
            self._card = _Card(encode_text(identity), identity.photo.ljust(codec.PHOTO_LEN, b"\0"),
                               identity.fingerprint.ljust(codec.FINGERPRINT_LEN, b"\0"), addr,
                               struct.pack(">Q", self._serial_no))

    def remove(self) -> None:
        """Take the card away."""
        with self._lock:
            self._card = None

    def wait_commands(self, n: int, timeout_s: float = 10.0) -> bool:
        """Block until ``n`` commands have been answered in total (tests await polls this way)."""
        with self._commands_cond:
            return self._commands_cond.wait_for(lambda: self.commands_seen >= n, timeout=timeout_s)

    @property
    def has_card(self) -> bool:
        """True while a card lies on the reader."""
        return self._card is not None

    # -- faults ---------------------------------------------------------------------------------
    def unplug(self) -> None:
        """The reader vanishes: close the pty master (the driver's reads fail) and remove the link."""
        with self._lock:
            self._close_pty()
            self._wake()

    def replug(self) -> None:
        """The reader comes back on a new pty; the link is updated to point at it."""
        with self._lock:
            self._close_pty()
            self._open_pty()
            if self._card is not None:  # the reader lost power: its field reset wakes a halted card
                self._card.halted = self._card.selected = False
            self._wake()

    def fail_next_read(self, status_byte: int = status.READ_FAILED) -> None:
        """The next 30 01/30 10 answers ``status_byte`` instead of the card's data."""
        with self._lock:
            self._fail_next_read = status_byte

    def pull_mid_read(self) -> None:
        """The next read answers about half its frame, then the card is gone and the rest never comes."""
        with self._lock:
            self._pull_mid_read = True

    def stay_silent(self, commands: int) -> None:
        """The next ``commands`` commands get no answer at all (then the reader answers again)."""
        with self._lock:
            self._silent = commands

    def set_sam_status(self, status_byte: int) -> None:
        """What 11 FF (SAM status) answers, e.g. 0x60 for a SAM that failed its self-test."""
        with self._lock:
            self._sam_status = status_byte

    # -- internals ------------------------------------------------------------------------------
    def _wake(self) -> None:
        if self._wake_w >= 0:
            os.write(self._wake_w, b"x")

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # why: no echo, no line discipline; pyserial sets the same on open
        self._master, self._slave = master, slave
        self.port = os.ttyname(slave)
        self._decoder.reset()
        if self.link:
            tmp = f"{self.link}.tmp{os.getpid()}"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(self.port, tmp)
            os.replace(tmp, self.link)  # atomic: the driver never sees a half-made link

    def _close_pty(self) -> None:
        # Why we also hold the slave open while running: a pty master reads EIO while no slave
        # fd is open, which would make every driver reconnect look like an unplug.
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None
        if self.link and os.path.islink(self.link):
            os.unlink(self.link)

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                master = self._master
            fds = [self._wake_r] + ([master] if master is not None else [])
            try:
                readable, _, _ = select.select(fds, [], [])
            except (OSError, ValueError):  # the master was closed under us: re-read the state
                continue
            if self._wake_r in readable:
                os.read(self._wake_r, 4096)
            if master is None or master not in readable:
                continue
            with self._lock:
                if self._master != master:
                    continue
                try:
                    data = os.read(master, 4096)
                except OSError:
                    continue
                if data:
                    self.trace.record("host->reader", data)
                    for item in self._decoder.feed(data):
                        self._answer(item)

    def _send(self, frame: bytes) -> None:
        if self._master is None:
            return
        if self.throttle:
            time.sleep(len(frame) * 10 / self.baudrate)  # the wire time of the frame (8N1)
        self.trace.record("reader->host", frame)
        view = memoryview(frame)
        while view:
            try:
                n = os.write(self._master, view)
            except OSError:
                return
            view = view[n:]

    def _reply(self, sw3: int, data: bytes = b"") -> None:
        self._send(codec.encode_response(0, 0, sw3, data))

    def _answer(self, item: codec.Frame | ProtocolError) -> None:
        if isinstance(item, FrameChecksumError):
            return self._reply(0x10)
        if isinstance(item, FrameLengthError):
            return self._reply(0x11)
        if not isinstance(item, codec.Command):
            return None
        self.commands_seen += 1
        self._commands_cond.notify_all()
        if self._silent:
            self._silent -= 1
            return None
        key, card = item.key, self._card
        if key == codec.RESET_SAM:
            return self._reply(status.OK)
        if key == codec.SAM_STATUS:
            return self._reply(self._sam_status)
        if self._sam_status != status.OK:
            return self._reply(self._sam_status)
        if key == codec.READ_SAM_ID:
            return self._reply(status.OK, SAM_ID)
        if key == codec.FIND_CARD:
            found = card is not None and not card.halted
            return self._reply(status.CARD_FOUND, b"\0\0\0\0") if found else self._reply(status.FIND_FAILED)
        if key == codec.SELECT_CARD:
            if card is None:
                return self._reply(status.SELECT_FAILED)
            card.selected = True
            return self._reply(status.OK, card.serial)
        if key in (codec.READ_BASE, codec.READ_BASE_FINGERPRINT):
            return self._read(card, key == codec.READ_BASE_FINGERPRINT)
        if key == codec.READ_ADDITIONAL_ADDRESS:
            if card is None or not card.selected:
                return self._reply(status.READ_FAILED)
            return self._reply(status.OK, card.additional_address) if card.additional_address \
                else self._reply(status.NO_CONTENT)
        return self._reply(0x24)

    def _read(self, card: _Card | None, fingerprint: bool) -> None:
        if card is None or not card.selected:
            return self._reply(status.READ_FAILED)
        if self._fail_next_read is not None:
            sw3, self._fail_next_read = self._fail_next_read, None
            return self._reply(sw3)
        data = codec.encode_read_data(card.text, card.photo, card.fingerprint if fingerprint else None)
        frame = codec.encode_response(0, 0, status.OK, data)
        if self._pull_mid_read:
            self._pull_mid_read = False
            self._card = None  # the citizen took the card away while it was being read
            return self._send(frame[:len(frame) // 2])
        card.halted = self.halt_after_read
        card.selected = False
        return self._send(frame)
