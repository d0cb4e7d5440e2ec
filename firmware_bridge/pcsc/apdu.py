"""ISO 7816-4 short APDUs: build commands, parse responses, and run one command to completion.

Pure codec (no I/O): :class:`Command` encodes ``CLA INS P1 P2 [Lc data] [Le]`` and parses it back
(the virtual card uses the same class, so card and terminal never disagree about the wire).
:class:`Response` splits ``data + SW1 SW2``. :func:`transceive` takes any ``transmit(bytes) ->
bytes`` callable and handles the protocol answers: 61xx (T=0 "more data": GET RESPONSE
``00 C0 00 00 xx``) and 6Cxx (wrong Le: resend with Le = xx), then raises the typed error of
:mod:`firmware_bridge.pcsc.sw` if the final status word fails. Extended APDUs are not used by the
cards we read and are refused explicitly.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from firmware_bridge.pcsc import sw as swtable
from firmware_bridge.pcsc.sw import CardError

Transmit = Callable[[bytes], bytes]

#: Why a bound: a broken card answering 61xx forever must not hang the kiosk.
MAX_GET_RESPONSE_ROUNDS = 64
#: Short APDUs carry at most 255 data bytes and ask for at most 256 (Le byte 00).
MAX_LC = 255
MAX_LE = 256


class ApduError(CardError):
    """A malformed command (terminal side) or response (card side)."""

    code = "smartcard.apdu"


@dataclass(frozen=True)
class Command:
    """A short command APDU; ``le`` is Ne (1..256, 256 encodes as 00) or None for no Le."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def to_bytes(self) -> bytes:
        """Encode (cases 1-4, short form)."""
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise ApduError(f"APDU {name.upper()}={value} is not a byte", action="fix the caller")
        if len(self.data) > MAX_LC:
            raise ApduError(f"{len(self.data)} data bytes need an extended APDU (not supported)",
                            action="split the data or use a smaller profile field")
        out = bytes((self.cla, self.ins, self.p1, self.p2))
        if self.data:
            out += bytes((len(self.data),)) + self.data
        if self.le is not None:
            if not 0 <= self.le <= MAX_LE:
                raise ApduError(f"Le={self.le} is outside 0..256", action="fix the caller")
            out += bytes((self.le % 256,))  # 256 -> 00 means "as much as there is"
        return out

    @classmethod
    def parse(cls, raw: bytes) -> Command:
        """Decode a short command APDU (the card side uses this)."""
        raw = bytes(raw)
        if len(raw) < 4:
            raise ApduError(f"command of {len(raw)} bytes is shorter than a header", action="")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:  # case 2: Le only
            return cls(cla, ins, p1, p2, le=body[0] or 256)
        if body[0] == 0:
            raise ApduError("extended-length APDU (not supported)", action="")
        lc = body[0]
        if len(body) == 1 + lc:  # case 3
            return cls(cla, ins, p1, p2, body[1:])
        if len(body) == 2 + lc:  # case 4
            return cls(cla, ins, p1, p2, body[1:1 + lc], le=body[-1] or 256)
        raise ApduError(f"Lc={lc} does not match {len(body) - 1} body bytes", action="")

    def with_le(self, le: int) -> Command:
        """The same command asking for ``le`` bytes (used on 6Cxx)."""
        return replace(self, le=le)

    def __str__(self) -> str:
        # Header only: the data field may hold citizen data (a PIN, a name) and must not be logged.
        return f"{self.cla:02X} {self.ins:02X} {self.p1:02X} {self.p2:02X} (+{len(self.data)}B, Le={self.le})"


@dataclass(frozen=True)
class Response:
    """A response APDU: ``data`` then ``sw1 sw2``."""

    data: bytes
    sw1: int
    sw2: int

    @property
    def sw(self) -> int:
        """SW1SW2 as one integer (0x9000)."""
        return (self.sw1 << 8) | self.sw2

    @property
    def ok(self) -> bool:
        """True when the status word means success (9000 or a usable warning)."""
        return swtable.is_ok(self.sw)

    def to_bytes(self) -> bytes:
        """Encode (the card side uses this)."""
        return bytes(self.data) + bytes((self.sw1, self.sw2))

    @classmethod
    def parse(cls, raw: bytes) -> Response:
        """Split a card answer; fewer than 2 bytes is a typed error, never an IndexError."""
        raw = bytes(raw)
        if len(raw) < 2:
            raise ApduError(f"card answered {len(raw)} bytes, no status word",
                            action="re-insert the card; replace the reader if it persists")
        return cls(raw[:-2], raw[-2], raw[-1])

    @classmethod
    def status(cls, sw: int, data: bytes = b"") -> Response:
        """A response with ``data`` and status word ``sw``."""
        return cls(bytes(data), sw >> 8, sw & 0xFF)


# -- the commands we send ----------------------------------------------------------------------
def select_aid(aid: bytes) -> Command:
    """SELECT by DF name (AID), first occurrence, no FCI wanted (00 A4 04 0C)."""
    return Command(0x00, 0xA4, 0x04, 0x0C, bytes(aid))


def select_fid(fid: bytes) -> Command:
    """SELECT an EF by its 2-byte file id under the current DF (00 A4 02 0C)."""
    if len(fid) != 2:
        raise ApduError(f"file id must be 2 bytes, got {len(fid)}", action="fix the card profile")
    return Command(0x00, 0xA4, 0x02, 0x0C, bytes(fid))


def read_record(number: int, le: int = MAX_LE) -> Command:
    """READ RECORD ``number`` of the current EF (P2=04: record number in P1)."""
    return Command(0x00, 0xB2, number, 0x04, le=le)


def read_binary(offset: int, le: int = MAX_LE) -> Command:
    """READ BINARY ``le`` bytes at ``offset`` (15-bit offset in P1P2) of the current EF."""
    if not 0 <= offset <= 0x7FFF:
        raise ApduError(f"offset {offset} outside 0..32767", action="fix the card profile")
    return Command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=le)


def get_response(le: int) -> Command:
    """GET RESPONSE (00 C0 00 00 xx): fetch what a T=0 card announced with 61xx."""
    return Command(0x00, 0xC0, 0x00, 0x00, le=le or MAX_LE)


def get_uid() -> Command:
    """The PC/SC part 3 pseudo-APDU for the card's UID (FF CA 00 00 00)."""
    return Command(0xFF, 0xCA, 0x00, 0x00, le=MAX_LE)


def transceive(transmit: Transmit, command: Command, context: str = "") -> Response:
    """Send ``command``, follow 61xx/6Cxx, raise the typed error on failure, return data + final SW."""
    what = context or str(command)
    resp = Response.parse(transmit(command.to_bytes()))
    if resp.sw1 == 0x6C:
        # Wrong Le: the card says how many bytes it has. Resend once; a second 6C is a card fault.
        resp = Response.parse(transmit(command.with_le(resp.sw2 or MAX_LE).to_bytes()))
    data = bytearray()
    rounds = 0
    while resp.sw1 == 0x61:
        data += resp.data
        rounds += 1
        if rounds > MAX_GET_RESPONSE_ROUNDS:
            raise ApduError(f"{what}: card kept answering 61xx after {rounds} GET RESPONSE",
                            action="replace the card; report the card type")
        resp = Response.parse(transmit(get_response(resp.sw2).to_bytes()))
    data += resp.data
    swtable.check(resp.sw, what)
    return Response(bytes(data), resp.sw1, resp.sw2)
