"""A virtual smart card: an in-memory ISO 7816-4 card that plugs into pcscd through vsmartcard's vpcd.

Two parts:
- :class:`CardModel` answers APDUs from files built out of a profile (the same
  :mod:`firmware_bridge.pcsc.profile` the driver reads with), with optional T=0 behaviour (data
  announced with 61xx and fetched with GET RESPONSE) and the PC/SC UID pseudo-APDU.
- :class:`VirtualCard` connects to vpcd's TCP port and speaks its protocol, written here from the
  vsmartcard documentation: every message is a 2-byte big-endian length then a payload; a 1-byte
  payload is a control (00 power off, 01 power on, 02 reset, 04 get ATR, answered with the ATR);
  a longer payload is a command APDU, answered with the response APDU. Connected means
  "inserted"; :meth:`VirtualCard.remove` and :meth:`VirtualCard.pull_after` model a citizen
  taking the card out (the latter in the middle of a read, without answering).

Only synthetic citizens live here; this module is for tests and the demo.
"""
from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Mapping
from typing import Any

from firmware_bridge.pcsc.apdu import ApduError, Command, Response
from firmware_bridge.pcsc.profile import Profile, encode_record, encode_value

log = logging.getLogger("kiosk.sim.vicc")

# vpcd control bytes (a 1-byte payload).
POWER_OFF, POWER_ON, RESET, GET_ATR = 0x00, 0x01, 0x02, 0x04
#: How often a card that lost its reader (pcscd restarting) tries to connect again (s).
RECONNECT_INTERVAL_S = 0.05


def make_atr(t0: bool, historical: bytes = b"KIOSK-SIM") -> bytes:
    """A minimal valid ATR: T=0 (no interface bytes) or T=1 (TD1=01 and the TCK checksum)."""
    hist = historical[:15]
    if t0:
        return bytes((0x3B, len(hist))) + hist
    body = bytes((0x80 | len(hist), 0x01)) + hist
    tck = 0
    for b in body:  # TCK: XOR of T0..last historical byte, required when T!=0 is offered
        tck ^= b
    return b"\x3B" + body + bytes((tck,))


def synthetic_citizen() -> dict[str, Any]:
    """A made-up social-security cardholder (checksum-valid looking, not a real person)."""
    import datetime as dt
    return {
        "card_id": "4101000000D15600000500A1B2C3D4E5", "card_type": "社会保障卡", "version": "3.00",
        "issuer": "410100000000D15600000001", "issue_date": dt.date(2021, 6, 1),
        "expiry_date": dt.date(2031, 6, 1), "card_number": "A12345678",
        "social_security_number": "410122199001011234", "name": "张三丰", "gender": "男",
        "nation": "01", "birthplace": "410122", "birth_date": dt.date(1990, 1, 1),
    }


class CardModel:
    """An ISO 7816-4 card holding one application built from a profile and field values."""

    def __init__(self, profile: Profile, values: Mapping[str, Any], *, t0: bool = False,
                 uid: bytes | None = b"\x04\xa2\x3b\x1c", atr: bytes | None = None) -> None:
        self.profile = profile
        self.t0 = t0
        self.uid = uid
        self.atr = atr or make_atr(t0)
        # files: fid -> {record number: bytes} for record files, or bytes for binary files
        self.files: dict[bytes, Any] = {}
        for fspec in profile.files.values():
            if fspec.kind == "record":
                self.files[fspec.fid] = {}
            else:
                self.files[fspec.fid] = bytearray(fspec.size or 0)
        for f in profile.fields:
            if f.name not in values:
                continue
            content = self.files[profile.files[f.file].fid]
            if isinstance(content, dict):
                content[f.record] = encode_record(f, values[f.name])
            else:
                raw = encode_value(f, values[f.name])
                end = f.offset + len(raw)
                if len(content) < end:
                    content.extend(bytes(end - len(content)))
                content[f.offset:end] = raw
        self.reset()

    def reset(self) -> None:
        """Power cycle: nothing selected, nothing pending."""
        self.app_selected = False
        self.current: bytes | None = None
        self.pending = b""

    def process(self, raw: bytes) -> bytes:
        """Answer one command APDU (never raises: a malformed command gets a status word)."""
        try:
            cmd = Command.parse(raw)
        except ApduError:
            return Response.status(0x6700).to_bytes()
        if cmd.cla == 0xFF:
            if cmd.ins == 0xCA and cmd.p1 == 0 and self.uid:
                return Response.status(0x9000, self.uid).to_bytes()
            return Response.status(0x6A81).to_bytes()
        if cmd.cla & 0xF0 not in (0x00, 0x80):
            return Response.status(0x6E00).to_bytes()
        if cmd.ins == 0xC0:
            return self._get_response(cmd).to_bytes()
        handler = {0xA4: self._select, 0xB2: self._read_record, 0xB0: self._read_binary}.get(cmd.ins)
        if handler is None:
            return Response.status(0x6D00).to_bytes()
        self.pending = b""
        resp = handler(cmd)
        return self._deliver(cmd, resp).to_bytes()

    def _deliver(self, cmd: Command, resp: Response) -> Response:
        if resp.sw != 0x9000 or not resp.data:
            return resp
        if cmd.le is not None and cmd.le != 256 and cmd.le != len(resp.data):
            return Response.status(0x6C00 | len(resp.data))  # wrong Le: tell the exact length
        if self.t0:
            # Why: a T=0 card cannot send data in the same exchange as a case-4 command; it
            # announces the length and waits for GET RESPONSE.
            self.pending = resp.data
            return Response.status(0x6100 | (len(resp.data) & 0xFF))
        return resp

    def _get_response(self, cmd: Command) -> Response:
        if not self.pending:
            return Response.status(0x6985)
        n = min(cmd.le or 256, len(self.pending))
        chunk, self.pending = self.pending[:n], self.pending[n:]
        if self.pending:
            return Response.status(0x6100 | min(len(self.pending), 255), chunk)
        return Response.status(0x9000, chunk)

    def _select(self, cmd: Command) -> Response:
        if cmd.p1 == 0x04:
            if cmd.data == self.profile.aid:
                self.app_selected, self.current = True, None
                return Response.status(0x9000)
            return Response.status(0x6A82)
        if cmd.p1 in (0x00, 0x02):
            if len(cmd.data) != 2:
                return Response.status(0x6700)
            if not self.app_selected or cmd.data not in self.files:
                return Response.status(0x6A82)
            self.current = cmd.data
            return Response.status(0x9000)
        return Response.status(0x6A86)

    def _read_record(self, cmd: Command) -> Response:
        if cmd.p2 & 0x07 != 0x04 or cmd.p1 == 0:
            return Response.status(0x6A86)
        fid = self.current if cmd.p2 >> 3 == 0 else None
        content = self.files.get(fid) if fid else None
        if content is None:
            return Response.status(0x6986)
        if not isinstance(content, dict):
            return Response.status(0x6981)
        if cmd.p1 not in content:
            return Response.status(0x6A83)
        return Response.status(0x9000, content[cmd.p1])

    def _read_binary(self, cmd: Command) -> Response:
        content = self.files.get(self.current) if self.current else None
        if content is None:
            return Response.status(0x6986)
        if isinstance(content, dict):
            return Response.status(0x6981)
        offset = (cmd.p1 << 8) | cmd.p2
        if cmd.p1 & 0x80 or offset > len(content):
            return Response.status(0x6B00)
        want = cmd.le or 256
        data = bytes(content[offset:offset + want])
        if len(data) < want and cmd.le != 256:
            return Response.status(0x6282, data)
        return Response.status(0x9000, data)


class VirtualCard:
    """A card in vpcd's slot at ``host:port``: :meth:`insert`, :meth:`remove`, :meth:`pull_after`."""

    def __init__(self, model: CardModel, port: int, host: str = "127.0.0.1") -> None:
        self.model = model
        self.host, self.port = host, port
        self.connected = threading.Event()
        self.apdu_count = 0
        self._out = threading.Event()  # set while the card is out of the reader
        self._out.set()
        self._pull_at: int | None = None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- the citizen's hand ------------------------------------------------------------------------
    def insert(self) -> None:
        """Put the card in the reader (connects to vpcd, and again whenever pcscd comes back)."""
        if self._thread and self._thread.is_alive():
            return
        self._out.clear()
        self._thread = threading.Thread(target=self._run, name=f"vicc:{self.port}", daemon=True)
        self._thread.start()

    def remove(self, timeout_s: float = 5.0) -> None:
        """Take the card out (closes the link; vpcd reports the card absent)."""
        self._out.set()
        self._drop()
        if self._thread:
            self._thread.join(timeout_s)
            self._thread = None

    def pull_after(self, n_apdus: int) -> None:
        """Pull the card out when the ``n_apdus``-th APDU from now arrives, without answering it."""
        with self._lock:
            self._pull_at = self.apdu_count + n_apdus

    close = remove

    # -- the link ------------------------------------------------------------------------------------
    def _drop(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self.connected.clear()

    def _run(self) -> None:
        while not self._out.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except OSError:  # pcscd not (yet) listening: the reader is away, keep the card in
                if self._out.wait(RECONNECT_INTERVAL_S):
                    return
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._out.is_set():  # removed while we were connecting
                    sock.close()
                    return
                self._sock = sock
            self.connected.set()
            self.model.reset()
            try:
                self._serve(sock)
            except OSError:
                pass
            finally:
                self._drop()
            if self._out.wait(RECONNECT_INTERVAL_S):
                return

    def _serve(self, sock: socket.socket) -> None:
        while True:
            header = _recv_exact(sock, 2)
            if header is None:
                return  # vpcd closed the link (pcscd stopped)
            (length,) = struct.unpack(">H", header)
            payload = _recv_exact(sock, length) if length else b""
            if payload is None:
                return
            if len(payload) == 1:
                answer = self._control(payload[0])
            else:
                with self._lock:
                    self.apdu_count += 1
                    pull = self._pull_at is not None and self.apdu_count >= self._pull_at
                if pull:
                    self._pull_at = None
                    self._out.set()  # the citizen has the card in hand now
                    return
                answer = self.model.process(payload)
            if answer is not None:
                sock.sendall(struct.pack(">H", len(answer)) + answer)

    def _control(self, code: int) -> bytes | None:
        if code == GET_ATR:
            return self.model.atr
        if code in (POWER_OFF, POWER_ON, RESET):
            self.model.reset()
            return None  # vpcd expects no answer to power controls
        log.warning("unknown vpcd control byte", extra={"control": code})
        return None


#: Why: vpcd writes the 2-byte length and the payload separately without TCP_NODELAY, so Nagle
#: holds the payload until our ACK, which Linux delays by up to 40 ms: every APDU would take ~40 ms.
#: QUICKACK (Linux only, cleared by the kernel after use) is re-armed before each read.
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        if _QUICKACK is not None:
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)

