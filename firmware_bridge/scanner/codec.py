"""The serial QR/barcode scanner's wire format: incremental bytes -> scanned texts (pure).

A serial scanner (USB-CDC or RS-232) sends each scan as ``prefix + text + suffix + terminator``;
prefix and suffix are whatever the hall's technician configured in the scanner (often empty,
sometimes STX/ETX), the terminator is CR (the factory default of most models), LF, CRLF, TAB or
nothing (then a pause in the byte stream ends the scan: the driver calls :meth:`ScanCodec.flush`
when a read timed out with no new bytes).

:meth:`ScanCodec.feed` accepts any chunking (``read(n)`` returns partial lines, PITFALLS.md) and
returns, in order, the texts and the typed errors found. Noise is survived: NULs are dropped
everywhere, bytes before the prefix or after the suffix are dropped and counted, a frame longer
than ``max_length`` is reported once and skipped up to the next terminator, and bytes that do not
decode in the configured encoding are an error for that frame only. Serial mode can carry
Chinese text: set the scanner and ``encoding`` to UTF-8 or GB18030 (the national standard
superset of GBK that Chinese scanners offer).
"""
from __future__ import annotations

import unicodedata

from firmware_bridge.errors import CodecError

#: Terminator names as they appear in config -> bytes. "NONE" means frames end on idle.
TERMINATORS: dict[str, bytes] = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t", "NONE": b""}
ENCODINGS = ("utf-8", "gb18030")
#: Default bound of one frame (bytes, prefix to suffix). A QR code holds at most ~2953 bytes;
#: anything longer is two scans run together or line noise.
MAX_LENGTH_BYTES = 4096
#: Control characters a real payload may contain (GS1 / ISO 15434 separators); any other C0
#: control inside a frame means line noise.
_ALLOWED_CONTROLS = {"\x1d", "\x1e", "\x04"}


class ScanCodecError(CodecError):
    """A frame from the scanner could not be used; the next scan is unaffected."""

    code = "scanner.frame"
    citizen_message = "扫码未成功，请重新扫码。"

    def __init__(self, reason: str, *, action: str = "scan the code again") -> None:
        super().__init__(reason, action=action)


class ScanTooLong(ScanCodecError):
    """More bytes than ``max_length`` arrived without a terminator."""

    code = "scanner.too_long"


class ScanEncodingError(ScanCodecError):
    """The frame's bytes are not valid text in the configured encoding, or contain line noise."""

    code = "scanner.encoding"


class ScanFramingError(ScanCodecError):
    """A frame started with the prefix but lost its suffix (truncated or two scans merged)."""

    code = "scanner.framing"


Result = str | ScanCodecError


def encode_scan(text: str, *, prefix: bytes = b"", suffix: bytes = b"", terminator: str = "CR",
                encoding: str = "utf-8") -> bytes:
    """The bytes a scanner configured this way sends for ``text`` (the simulator uses this)."""
    return prefix + text.encode(encoding) + suffix + TERMINATORS[terminator]


class ScanCodec:
    """Incremental decoder of one scanner's byte stream."""

    def __init__(self, *, prefix: bytes = b"", suffix: bytes = b"", terminator: str = "CR",
                 encoding: str = "utf-8", max_length: int = MAX_LENGTH_BYTES) -> None:
        if terminator not in TERMINATORS:
            raise ValueError(f"terminator must be one of {', '.join(TERMINATORS)}")
        "".encode(encoding)  # raises LookupError on an unknown codec name
        self.prefix, self.suffix = bytes(prefix), bytes(suffix)
        self.terminator = terminator
        self.encoding = encoding
        self.max_length = max_length
        # Why the end marker falls back to the suffix: with no terminator but a suffix, the
        # suffix is what ends a frame; with neither, only :meth:`flush` (idle) does.
        self._end = TERMINATORS[terminator] or self.suffix
        self._end_is_suffix = not TERMINATORS[terminator] and bool(self.suffix)
        self._buf = bytearray()
        self._skipping = False  # inside an over-long frame: drop up to the next end marker
        self.noise_bytes = 0  # bytes dropped as noise (for health and the technician)

    def feed(self, data: bytes) -> list[Result]:
        """Take the next bytes; return the completed scans (str) and errors, in order."""
        out: list[Result] = []
        self._buf += data.replace(b"\x00", b"")
        self.noise_bytes += len(data) - len(data.replace(b"\x00", b""))
        if not self._end:
            self._check_length(out)
            return out
        while True:
            idx = self._buf.find(self._end)
            if idx < 0:
                break
            frame = bytes(self._buf[:idx])
            del self._buf[:idx + len(self._end)]
            if self._skipping:
                self._skipping = False
                self.noise_bytes += len(frame)
                continue
            if self._end_is_suffix:  # suffix is the end marker: put it back for parsing
                frame += self.suffix
            self._parse(frame, out)
        self._check_length(out)
        return out

    def flush(self) -> list[Result]:
        """The line went idle: end the frame in progress (only when there is no end marker)."""
        out: list[Result] = []
        if self._end:
            return out
        frame = bytes(self._buf)
        self._buf.clear()
        if self._skipping:
            self._skipping = False
            self.noise_bytes += len(frame)
            return out
        if frame:
            self._parse(frame, out)
        return out

    def reset(self) -> None:
        """Forget any partial frame (after a reconnect)."""
        self._buf.clear()
        self._skipping = False

    # -- internals -------------------------------------------------------------------------------
    def _check_length(self, out: list[Result]) -> None:
        # Keep the tail that could be the start of a split end marker; the rest is over-long.
        limit = self.max_length + len(self.prefix) + len(self.suffix) + len(self._end)
        if len(self._buf) > limit:
            if not self._skipping:
                out.append(ScanTooLong(f"more than {self.max_length} bytes without a terminator",
                                       action="check the scanner's terminator setting; scan again"))
            self._skipping = True
            keep = len(self._end) - 1 if self._end else 0
            self.noise_bytes += len(self._buf) - keep
            del self._buf[:len(self._buf) - keep]

    def _parse(self, frame: bytes, out: list[Result]) -> None:
        body = frame
        if self.prefix:
            start = body.find(self.prefix)
            if start < 0:
                # No prefix: line noise between scans (or a scan whose start was lost). Dropped,
                # because without the prefix we cannot tell a scan from noise.
                self.noise_bytes += len(body)
                return
            self.noise_bytes += start
            body = body[start + len(self.prefix):]
        if self.suffix:
            end = body.rfind(self.suffix)
            if end < 0:
                out.append(ScanFramingError("frame without its suffix (truncated or merged scans)"))
                return
            self.noise_bytes += len(body) - end - len(self.suffix)
            body = body[:end]
        if not self.prefix:
            # Stray CR/LF (a scanner sending CRLF to a codec set to CR) is noise, not text.
            stripped = body.strip(b"\r\n")
            self.noise_bytes += len(body) - len(stripped)
            body = stripped
        if not body:
            return
        if len(body) > self.max_length:
            out.append(ScanTooLong(f"a frame of {len(body)} bytes exceeds {self.max_length}"))
            return
        try:
            text = body.decode(self.encoding)
        except UnicodeDecodeError:
            out.append(ScanEncodingError(f"bytes are not valid {self.encoding}",
                                         action=f"set the scanner's output encoding to {self.encoding}; scan again"))
            return
        if any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in text):
            out.append(ScanEncodingError("control characters inside a frame (line noise)",
                                         action="check the cable and the baud rate; scan again"))
            return
        out.append(text)
