"""Frames of the SAM/GB ID-card reader protocol: encoding, the incremental decoder, read payloads.

Wire format (both directions)::

    AA AA AA 96 69 | LEN_hi LEN_lo | body ... | XOR

- to the reader:   body = command, parameter, [data]
- from the reader: body = SW1, SW2, SW3, [data]

LEN counts every byte after the two length bytes, checksum included. The checksum is the XOR of
every byte after the preamble (the two length bytes and the body). Pure and stdlib only: no I/O,
so the driver, the simulator, the trace replays and the fuzzer share exactly this code.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import reduce
from operator import xor

from firmware_bridge.idcard.errors import (
    FrameChecksumError,
    FrameLengthError,
    FrameTruncated,
    PayloadError,
    ProtocolError,
    StatusError,
)
from firmware_bridge.idcard.status import StatusInfo, status_info

PREAMBLE = b"\xAA\xAA\xAA\x96\x69"
#: Largest legitimate frame: 3 status + 3 length words + 256 text + 1024 photo + 1024 fingerprint
#: + checksum = 2314 bytes. Why a cap at all: a corrupted length byte must not make the decoder
#: wait for up to 64 KiB that will never come; with the cap it resynchronises at once.
MAX_LEN = 2400
#: Smallest bodies: a command is cmd + param + checksum, a response SW1..SW3 + checksum.
MIN_COMMAND_LEN = 3
MIN_RESPONSE_LEN = 4

# Commands (command byte, parameter byte).
RESET_SAM = (0x10, 0xFF)
SAM_STATUS = (0x11, 0xFF)
READ_SAM_ID = (0x12, 0xFF)
FIND_CARD = (0x20, 0x01)
SELECT_CARD = (0x20, 0x02)
READ_BASE = (0x30, 0x01)              # text + photo
READ_BASE_FINGERPRINT = (0x30, 0x10)  # text + photo + fingerprint
READ_ADDITIONAL_ADDRESS = (0x30, 0x03)

TEXT_LEN = 256
PHOTO_LEN = 1024
FINGERPRINT_LEN = 1024
ADDITIONAL_ADDRESS_LEN = 70  # 35 UCS-2 characters
SAM_ID_LEN = 16


def checksum(data: bytes) -> int:
    """XOR of every byte of ``data`` (the length bytes and the body)."""
    return reduce(xor, data, 0)


def _frame(body: bytes) -> bytes:
    length = len(body) + 1
    if length > MAX_LEN:
        raise FrameLengthError(f"frame body of {len(body)} bytes exceeds the cap of {MAX_LEN}",
                               action="report a driver bug")
    head = struct.pack(">H", length)
    return PREAMBLE + head + body + bytes([checksum(head + body)])


def encode_command(cmd: int, param: int, data: bytes = b"") -> bytes:
    """A complete command frame to the reader."""
    return _frame(bytes([cmd & 0xFF, param & 0xFF]) + bytes(data))


def encode_response(sw1: int, sw2: int, sw3: int, data: bytes = b"") -> bytes:
    """A complete response frame from the reader."""
    return _frame(bytes([sw1 & 0xFF, sw2 & 0xFF, sw3 & 0xFF]) + bytes(data))


@dataclass(frozen=True)
class Command:
    """A decoded frame to the reader."""

    cmd: int
    param: int
    data: bytes = b""

    @property
    def key(self) -> tuple[int, int]:
        """``(cmd, param)``, comparable with the command constants above."""
        return (self.cmd, self.param)

    def __repr__(self) -> str:  # data may hold nothing personal, but keep reprs short
        return f"Command({self.cmd:02X} {self.param:02X}, {len(self.data)} data bytes)"


@dataclass(frozen=True)
class Response:
    """A decoded frame from the reader; ``data`` may hold citizen data, so the repr hides it."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    @property
    def status(self) -> StatusInfo:
        """The SW3 status entry."""
        return status_info(self.sw3)

    @property
    def ok(self) -> bool:
        """True for the success statuses (0x90, 0x9F)."""
        return self.status.ok

    def raise_for_status(self) -> Response:
        """Return self if successful, else raise :class:`StatusError`."""
        if not self.ok:
            raise StatusError(self.status)
        return self

    def __repr__(self) -> str:
        return f"Response(SW {self.sw1:02X} {self.sw2:02X} {self.sw3:02X}, {len(self.data)} data bytes)"


Frame = Command | Response


class Decoder:
    """Incremental decoder: ``feed(bytes)`` returns the frames and typed errors completed so far.

    It accumulates partial reads, skips garbage up to the next preamble, reports a bad length or
    checksum as a :class:`ProtocolError` and resynchronises just after the bad frame's preamble
    (so a valid frame hidden behind a corrupted length is still found). Every call consumes
    input or waits for more, so it can never loop forever.
    """

    def __init__(self, direction: str = "response") -> None:
        if direction not in ("response", "command"):
            raise ValueError("direction must be 'response' or 'command'")
        self.direction = direction
        self._min_len = MIN_RESPONSE_LEN if direction == "response" else MIN_COMMAND_LEN
        self._buf = bytearray()
        #: Bytes dropped while hunting for a preamble (diagnostics for a noisy line).
        self.skipped_bytes = 0

    @property
    def pending(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buf)

    def in_frame(self) -> bool:
        """True if the held bytes start with a preamble (a frame has begun)."""
        return self._buf.startswith(PREAMBLE)

    def feed(self, data: bytes) -> list[Frame | ProtocolError]:
        """Add received bytes; return every complete frame or typed error, in wire order."""
        self._buf += data
        out: list[Frame | ProtocolError] = []
        while True:
            consumed, item = decode(self._buf, self.direction)
            if consumed:
                if item is None:
                    self.skipped_bytes += consumed
                del self._buf[:consumed]
            if item is not None:
                out.append(item)
            elif not consumed:
                return out

    def flush(self) -> list[ProtocolError]:
        """Give up on held bytes (the read timed out): a started frame is reported truncated."""
        started = self.in_frame()
        held = len(self._buf)
        self._buf.clear()
        if started:
            return [FrameTruncated(f"frame truncated after {held} bytes",
                                   action="check the cable; ask the citizen to keep the card still")]
        self.skipped_bytes += held
        return []

    def reset(self) -> None:
        """Drop everything held (after reopening the port)."""
        self._buf.clear()


def decode(buffer: bytes | bytearray, direction: str = "response") -> tuple[int, Frame | ProtocolError | None]:
    """One decoding step: ``(consumed, item)``; ``item`` None with ``consumed`` > 0 means garbage
    was skipped, ``(0, None)`` means more bytes are needed."""
    start = buffer.find(PREAMBLE)
    if start < 0:
        # Keep a tail that could be the start of a preamble split across reads.
        keep = 0
        for k in range(min(len(PREAMBLE) - 1, len(buffer)), 0, -1):
            if buffer.endswith(PREAMBLE[:k]):
                keep = k
                break
        return len(buffer) - keep, None
    if start > 0:
        return start, None
    header = len(PREAMBLE) + 2
    if len(buffer) < header:
        return 0, None
    length = (buffer[5] << 8) | buffer[6]
    min_len = MIN_RESPONSE_LEN if direction == "response" else MIN_COMMAND_LEN
    if length < min_len or length > MAX_LEN:
        # Skip only the preamble: whatever follows is searched again for a real frame.
        return len(PREAMBLE), FrameLengthError(
            f"length field {length} outside {min_len}..{MAX_LEN}",
            action="check the cable and the baud rate")
    total = header + length
    if len(buffer) < total:
        return 0, None
    frame = bytes(buffer[:total])
    expected = checksum(frame[5:-1])
    if frame[-1] != expected:
        return len(PREAMBLE), FrameChecksumError(
            f"checksum 0x{frame[-1]:02X}, expected 0x{expected:02X}",
            action="check the cable and the baud rate")
    body = frame[7:-1]
    if direction == "response":
        return total, Response(body[0], body[1], body[2], body[3:])
    return total, Command(body[0], body[1], body[2:])


# -- payloads of the read answers -------------------------------------------------------------

@dataclass(frozen=True)
class ReadPayload:
    """The blocks of a 30 01 / 30 10 answer: the raw text block, photo and fingerprint bytes."""

    text: bytes
    photo: bytes
    fingerprint: bytes = b""

    def __repr__(self) -> str:
        return (f"ReadPayload(text {len(self.text)} B, photo {len(self.photo)} B, "
                f"fingerprint {len(self.fingerprint)} B)")


def encode_read_data(text: bytes, photo: bytes, fingerprint: bytes | None = None) -> bytes:
    """The data of a read answer: lengths (2 bytes BE each) then the blocks."""
    lengths = struct.pack(">HH", len(text), len(photo))
    if fingerprint is None:
        return lengths + text + photo
    return lengths + struct.pack(">H", len(fingerprint)) + text + photo + fingerprint


def parse_read_data(data: bytes, fingerprint: bool = False) -> ReadPayload:
    """Split a read answer's data into its blocks; raise :class:`PayloadError` if lengths disagree."""
    n_len = 3 if fingerprint else 2
    if len(data) < 2 * n_len:
        raise PayloadError(f"read answer of {len(data)} bytes has no length words",
                           action="ask the citizen to present the card again")
    lens = struct.unpack(">" + "H" * n_len, data[:2 * n_len])
    if lens[0] != TEXT_LEN:
        raise PayloadError(f"text block of {lens[0]} bytes, expected {TEXT_LEN}",
                           action="check the reader model")
    if sum(lens) != len(data) - 2 * n_len:
        raise PayloadError(f"block lengths {list(lens)} do not add up to the {len(data) - 2 * n_len} "
                           "data bytes received", action="ask the citizen to present the card again")
    pos = 2 * n_len
    blocks = []
    for n in lens:
        blocks.append(bytes(data[pos:pos + n]))
        pos += n
    return ReadPayload(*blocks) if fingerprint else ReadPayload(blocks[0], blocks[1])


def format_sam_id(data: bytes) -> str:
    """The SAM module's id as printed on its label (``05.01-20231231-0000123456-0012345678``)."""
    if len(data) != SAM_ID_LEN:
        raise PayloadError(f"SAM id of {len(data)} bytes, expected {SAM_ID_LEN}", action="check the reader model")
    a, b, c, d, e = struct.unpack("<HHIII", data)
    return f"{a:02d}.{b:02d}-{c:08d}-{d:010d}-{e:010d}"
