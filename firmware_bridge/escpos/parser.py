"""Incremental parser of an ESC/POS byte stream into operations (the printer's side of the wire).

``Parser.feed(data)`` accepts any slice of the stream and returns the operations it completed;
a command cut in the middle waits for the rest (pyserial and TCP deliver arbitrary pieces), text
is decoded as GB18030 while the printer is in Chinese mode (FS &) and as code page 437/1252
otherwise. Unknown commands are skipped and counted (``unknown_count``, one warning each);
commands whose arguments exceed what a printer accepts become :class:`Malformed` operations.
Nothing in the input can make ``feed`` raise or wait for more than one bounded command.

Commands understood: ESC @, ESC !, ESC E, ESC a, ESC d, ESC t, GS !, GS V, GS h/w/H/f, GS k (A/B),
GS ( k (QR model/size/ec/store/print), GS v 0 (raster), FS &, FS ., DLE EOT, LF, CR, HT; and a
table of commands that are parsed but do not change what the renderer draws.
"""
from __future__ import annotations

import codecs
import logging
from dataclasses import dataclass

log = logging.getLogger("kiosk.firmware.escpos.parser")

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT = 0x0A, 0x0D, 0x09
#: Largest raster image we accept (bytes of pixel data). Why: GS v 0 can announce 4 GB; a real
#: 80 mm printer buffers a few hundred KB. Bigger is treated as garbage and skipped.
MAX_RASTER_BYTES = 1 << 20
#: ESC t n code pages we decode; others fall back to 437 (the power-on default).
_CODE_PAGES = {0: "cp437", 16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858"}


# --- operations -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Op:
    """Base of every parsed operation."""


@dataclass(frozen=True)
class Init(Op):
    """ESC @: reset modes."""


@dataclass(frozen=True)
class TextOp(Op):
    """Printable text (already decoded)."""

    text: str


@dataclass(frozen=True)
class LineFeed(Op):
    """LF: print the line buffer and advance one line."""


@dataclass(frozen=True)
class FeedLines(Op):
    """ESC d n: print and feed n lines."""

    lines: int


@dataclass(frozen=True)
class PrintMode(Op):
    """ESC ! n: font B (bit 0), bold (bit 3), double height (bit 4), double width (bit 5)."""

    mode: int


@dataclass(frozen=True)
class Bold(Op):
    """ESC E n."""

    on: bool


@dataclass(frozen=True)
class Align(Op):
    """ESC a n: 0 left, 1 center, 2 right."""

    align: str


@dataclass(frozen=True)
class CharSize(Op):
    """GS ! n: width multiplier (high nibble + 1), height multiplier (low nibble + 1)."""

    width: int
    height: int


@dataclass(frozen=True)
class ChineseMode(Op):
    """FS & (on) / FS . (off)."""

    on: bool


@dataclass(frozen=True)
class CodePage(Op):
    """ESC t n."""

    page: int


@dataclass(frozen=True)
class QrSetting(Op):
    """GS ( k QR settings: name is "model", "size" or "ec"; value the argument byte."""

    name: str
    value: int


@dataclass(frozen=True)
class QrStore(Op):
    """GS ( k fn 80: store QR data in the symbol buffer."""

    data: bytes


@dataclass(frozen=True)
class QrPrint(Op):
    """GS ( k fn 81: print the stored QR symbol."""


@dataclass(frozen=True)
class BarcodeSetting(Op):
    """GS h (height), GS w (module width), GS H (HRI position), GS f (HRI font)."""

    name: str
    value: int


@dataclass(frozen=True)
class BarcodeOp(Op):
    """GS k m: print a barcode of system m with ``data``."""

    system: int
    data: bytes


@dataclass(frozen=True)
class Raster(Op):
    """GS v 0 m: a raster bit image, ``width_bytes`` x ``height`` dots, MSB first, 1 = black."""

    mode: int
    width_bytes: int
    height: int
    data: bytes


@dataclass(frozen=True)
class CutOp(Op):
    """GS V: cut the paper (ends a job)."""

    partial: bool
    feed: int = 0


@dataclass(frozen=True)
class StatusRequest(Op):
    """DLE EOT n: answer a status byte now."""

    n: int


@dataclass(frozen=True)
class Ignored(Op):
    """A known command that changes nothing the renderer draws (kept for traces)."""

    command: bytes


@dataclass(frozen=True)
class Unknown(Op):
    """Bytes skipped because no known command starts with them."""

    data: bytes


@dataclass(frozen=True)
class Malformed(Op):
    """A known command with arguments outside what a printer accepts; its header was skipped."""

    reason: str
    data: bytes


# --- command tables ----------------------------------------------------------------------------
#: Fixed-length commands that do not affect rendering: (prefix, second byte) -> argument bytes.
_IGNORED_FIXED = {
    (ESC, ord("-")): 1, (ESC, ord("2")): 0, (ESC, ord("3")): 1, (ESC, ord("G")): 1,
    (ESC, ord("M")): 1, (ESC, ord("V")): 1, (ESC, ord("{")): 1, (ESC, ord("p")): 3,
    (ESC, ord("J")): 1, (ESC, ord("c")): 2, (ESC, ord(" ")): 1, (ESC, ord("=")): 1,
    (ESC, ord("U")): 1, (ESC, ord("B")): 2, (ESC, ord("r")): 1, (ESC, ord("$")): 2,
    (GS, ord("B")): 1, (GS, ord("L")): 2, (GS, ord("W")): 2, (GS, ord("b")): 1,
    (GS, ord("a")): 1, (GS, ord("P")): 2, (GS, ord("I")): 1, (GS, ord("r")): 1,
    (FS, ord("!")): 1, (FS, ord("-")): 1, (FS, ord("S")): 2, (FS, ord("W")): 1,
    (FS, ord("C")): 1, (FS, ord("p")): 2,
    (DLE, 0x05): 1, (DLE, 0x14): 3,
}
_BARCODE_SETTINGS = {ord("h"): "height", ord("w"): "width", ord("H"): "hri", ord("f"): "hri_font"}
_QR_SETTINGS = {65: "model", 67: "size", 69: "ec"}
_ALIGNS = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}
#: GS k function A systems (0..6) end their data with NUL; function B (65..78) has a length byte.
_BARCODE_A, _BARCODE_B = range(0, 7), range(65, 79)


class Parser:
    """Incremental ESC/POS parser: ``feed(bytes) -> list[Op]``; keeps partial commands."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.chinese = False
        self.code_page = 0
        self._decoder = self._new_decoder()
        #: Count of skipped bytes/commands that no table knows (each logged once as a warning).
        self.unknown_count = 0
        self.malformed_count = 0

    def _new_decoder(self) -> codecs.IncrementalDecoder:
        enc = "gb18030" if self.chinese else _CODE_PAGES.get(self.code_page, "cp437")
        return codecs.getincrementaldecoder(enc)(errors="replace")

    def feed(self, data: bytes) -> list[Op]:
        """Parse as much of the stream as is complete; return the operations in order."""
        self._buf += bytes(data)
        ops: list[Op] = []
        buf, pos, n = self._buf, 0, len(self._buf)
        while pos < n:
            b = buf[pos]
            if b >= 0x20 or b == HT:
                end = pos
                while end < n and (buf[end] >= 0x20 or buf[end] == HT):
                    end += 1
                text = self._decoder.decode(bytes(buf[pos:end]).replace(b"\t", b" "))
                if text:
                    _append_text(ops, text)
                pos = end
                continue
            self._flush_text(ops)
            result = self._command(buf, pos, n)
            if result is None:
                break  # truncated: wait for more bytes
            used, op = result
            pos += used
            if op is not None:
                ops.append(op)
                self._apply(op)
        del self._buf[:pos]
        return ops

    def flush(self) -> list[Op]:
        """End of stream: the text still held back (a dangling multi-byte character)."""
        ops: list[Op] = []
        self._flush_text(ops)
        return ops

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a command."""
        return len(self._buf)

    # -- internals ----------------------------------------------------------------------------
    def _flush_text(self, ops: list[Op]) -> None:
        tail = self._decoder.decode(b"", final=True)
        if tail:
            _append_text(ops, tail)
        self._decoder.reset()

    def _apply(self, op: Op) -> None:
        """Track the modes the parser itself needs (text decoding)."""
        if isinstance(op, ChineseMode) and op.on != self.chinese:
            self.chinese = op.on
            self._decoder = self._new_decoder()
        elif isinstance(op, CodePage):
            self.code_page = op.page
            self._decoder = self._new_decoder()
        elif isinstance(op, Init):
            # ESC @ resets the code page; Chinese mode survives it on most clones (and the encoder
            # sends FS & right after ESC @ anyway).
            self.code_page = 0
            self._decoder = self._new_decoder()
        elif isinstance(op, Unknown):
            self.unknown_count += 1
            if _worth_logging(self.unknown_count):
                log.warning("unknown ESC/POS command skipped",
                            extra={"bytes": op.data.hex(" "), "count": self.unknown_count})
        elif isinstance(op, Malformed):
            self.malformed_count += 1
            if _worth_logging(self.malformed_count):
                log.warning("malformed ESC/POS command skipped",
                            extra={"reason": op.reason, "count": self.malformed_count})

    def _command(self, buf: bytearray, pos: int, n: int) -> tuple[int, Op | None] | None:
        """Parse one command at ``pos``: (bytes used, op) or None when more bytes are needed."""
        b = buf[pos]
        if b == LF:
            return 1, LineFeed()
        if b == CR:
            return 1, None  # CR alone prints nothing on printers set to LF-only (the default)
        if b not in (ESC, GS, FS, DLE):
            return 1, Unknown(bytes([b]))
        if pos + 1 >= n:
            return None
        c = buf[pos + 1]
        avail = n - pos

        def need(k: int) -> bool:
            return avail >= k

        if b == ESC:
            if c == ord("@"):
                return 2, Init()
            if c in (ord("!"), ord("E"), ord("a"), ord("d"), ord("t")):
                if not need(3):
                    return None
                arg = buf[pos + 2]
                if c == ord("!"):
                    return 3, PrintMode(arg)
                if c == ord("E"):
                    return 3, Bold(bool(arg & 1))
                if c == ord("a"):
                    return 3, Align(_ALIGNS.get(arg, "left"))
                if c == ord("d"):
                    return 3, FeedLines(arg)
                return 3, CodePage(arg)
        elif b == GS:
            if c == ord("!"):
                if not need(3):
                    return None
                arg = buf[pos + 2]
                w, h = (arg >> 4) + 1, (arg & 0x0F) + 1
                if w > 8 or h > 8:
                    return 3, Malformed(f"GS ! size {w}x{h} beyond 8x8", bytes(buf[pos:pos + 3]))
                return 3, CharSize(w, h)
            if c in _BARCODE_SETTINGS:
                if not need(3):
                    return None
                return 3, BarcodeSetting(_BARCODE_SETTINGS[c], buf[pos + 2])
            if c == ord("V"):
                return self._cut(buf, pos, avail)
            if c == ord("k"):
                return self._barcode(buf, pos, n)
            if c == ord("("):
                return self._gs_paren(buf, pos, avail)
            if c == ord("v"):
                return self._raster(buf, pos, avail)
        elif b == FS:
            if c == ord("&"):
                return 2, ChineseMode(True)
            if c == ord("."):
                return 2, ChineseMode(False)
        elif b == DLE and c == 0x04:
            if not need(3):
                return None
            arg = buf[pos + 2]
            if 1 <= arg <= 4:
                return 3, StatusRequest(arg)
            return 3, Malformed(f"DLE EOT {arg} is not 1..4", bytes(buf[pos:pos + 3]))
        fixed = _IGNORED_FIXED.get((b, c))
        if fixed is not None:
            if not need(2 + fixed):
                return None
            return 2 + fixed, Ignored(bytes(buf[pos:pos + 2 + fixed]))
        if c < 0x20:
            # The prefix is followed by another control byte: skip the prefix alone so that the
            # next command (often a resend after a glitch) is not swallowed.
            return 1, Unknown(bytes([b]))
        # Unknown: skip the prefix and the command byte (every ESC/GS/FS command has at least one).
        return 2, Unknown(bytes(buf[pos:pos + 2]))

    @staticmethod
    def _cut(buf: bytearray, pos: int, avail: int) -> tuple[int, Op | None] | None:
        if avail < 3:
            return None
        m = buf[pos + 2]
        if m in (0, 1, 48, 49):
            return 3, CutOp(partial=m in (1, 49))
        if m in (65, 66, 97, 98, 103, 104):  # function B/C/D: feed n then cut
            if avail < 4:
                return None
            return 4, CutOp(partial=m in (66, 98, 104), feed=buf[pos + 3])
        return 3, Malformed(f"GS V {m} is not a cut mode", bytes(buf[pos:pos + 3]))

    @staticmethod
    def _barcode(buf: bytearray, pos: int, n: int) -> tuple[int, Op | None] | None:
        if n - pos < 3:
            return None
        m = buf[pos + 2]
        if m in _BARCODE_B:
            if n - pos < 4:
                return None
            length = buf[pos + 3]
            if n - pos < 4 + length:
                return None
            return 4 + length, BarcodeOp(m, bytes(buf[pos + 4:pos + 4 + length]))
        if m in _BARCODE_A:
            # Data ends at NUL; why 255: no function-A symbology carries more, so a missing NUL
            # cannot make us buffer the rest of the stream.
            end = buf.find(0, pos + 3, min(n, pos + 3 + 256))
            if end < 0:
                if n - pos - 3 < 256:
                    return None
                return 3, Malformed("GS k function A data without NUL", bytes(buf[pos:pos + 3]))
            return end + 1 - pos, BarcodeOp(m, bytes(buf[pos + 3:end]))
        return 3, Malformed(f"GS k {m} is not a barcode system", bytes(buf[pos:pos + 3]))

    @staticmethod
    def _gs_paren(buf: bytearray, pos: int, avail: int) -> tuple[int, Op | None] | None:
        # GS ( fn pL pH <p bytes>: every GS ( command carries its own length.
        if avail < 5:
            return None
        fn = buf[pos + 2]
        length = buf[pos + 3] | buf[pos + 4] << 8
        if avail < 5 + length:
            return None
        body = bytes(buf[pos + 5:pos + 5 + length])
        total = 5 + length
        if fn != ord("k"):
            return total, Ignored(bytes(buf[pos:pos + 3]))
        if len(body) < 2 or body[0] != 49:  # cn 49 = QR; PDF417 (48) and others are not drawn
            return total, Ignored(bytes(buf[pos:pos + 3]) + body[:2])
        qfn, args = body[1], body[2:]
        if qfn in _QR_SETTINGS:
            if not args:
                return total, Malformed("GS ( k QR setting without a value", body)
            # model is "model, 0" (2 bytes): the model is the first argument.
            return total, QrSetting(_QR_SETTINGS[qfn], args[0])
        if qfn == 80:
            return total, QrStore(args[1:])  # args[0] is m = 48
        if qfn == 81:
            return total, QrPrint()
        return total, Ignored(bytes(buf[pos:pos + 3]) + body[:2])

    @staticmethod
    def _raster(buf: bytearray, pos: int, avail: int) -> tuple[int, Op | None] | None:
        # GS v 0 m xL xH yL yH d1..dk, k = x * y
        if avail < 3:
            return None
        if buf[pos + 2] != ord("0"):
            return 3, Malformed("GS v without 0", bytes(buf[pos:pos + 3]))
        if avail < 8:
            return None
        m = buf[pos + 3]
        x = buf[pos + 4] | buf[pos + 5] << 8
        y = buf[pos + 6] | buf[pos + 7] << 8
        size = x * y
        if size > MAX_RASTER_BYTES or m not in (0, 1, 2, 3, 48, 49, 50, 51):
            return 8, Malformed(f"GS v 0 image {x}x{y} mode {m} refused", bytes(buf[pos:pos + 8]))
        if avail < 8 + size:
            return None
        return 8 + size, Raster(m & 3, x, y, bytes(buf[pos + 8:pos + 8 + size]))


def _worth_logging(count: int) -> bool:
    """Log the first few, then every 1000th: a garbage stream must not flood the log."""
    return count <= 10 or count % 1000 == 0


def _append_text(ops: list[Op], text: str) -> None:
    """Add text, merging with a text operation just before it."""
    if ops and isinstance(ops[-1], TextOp):
        ops[-1] = TextOp(ops[-1].text + text)
    else:
        ops.append(TextOp(text))


def merge_text(ops: list[Op]) -> list[Op]:
    """The same operations with adjacent text merged (to compare streams fed in pieces)."""
    out: list[Op] = []
    for op in ops:
        if isinstance(op, TextOp):
            _append_text(out, op.text)
        else:
            out.append(op)
    return out
