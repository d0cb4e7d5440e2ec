"""Real-time status: DLE EOT n requests and their one-byte answers, both directions.

ESC/POS gives no delivery confirmation, so the driver asks before and after a job (PITFALLS.md).
``DLE EOT n`` (10 04 n) is executed by the printer as soon as it is received, even while offline
or out of paper, and answers one byte. Bit layout from the Epson ESC/POS reference ("DLE EOT"),
the same on the Chinese clones used in service halls (Xprinter, Sprt, Hprt):

- every answer byte has bit 0 = 0, bit 1 = 1, bit 4 = 1, bit 7 = 0; that fixed pattern
  (mask 0x93 == 0x12) is how the host tells a status byte from stray data, so we check it;
- n=1 printer status: bit 2 drawer-kick pin 3 level, bit 3 offline;
- n=2 offline cause: bit 2 cover open, bit 3 paper being fed by the FEED button,
  bit 5 printing stopped by paper end, bit 6 an error occurred;
- n=3 error cause: bit 2 mechanism position error (clones), bit 3 auto-cutter error,
  bit 5 unrecoverable error, bit 6 auto-recoverable error (e.g. head too hot);
- n=4 roll paper sensor: bits 2-3 near-end sensor (both set: paper near its end),
  bits 5-6 end sensor (both set: no paper).

The simulator builds its answers with :func:`encode_status`, the driver reads them with
:func:`decode_status`, so both sides share one table.
"""
from __future__ import annotations

from dataclasses import dataclass

from firmware_bridge.errors import CodecError

DLE, EOT = 0x10, 0x04
#: The status kinds, in the order the driver asks for them.
PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER_SENSOR = 1, 2, 3, 4
KINDS = (PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER_SENSOR)

#: Bits 1 and 4 are always 1, bits 0 and 7 always 0 in a status byte.
FIXED_MASK, FIXED_BITS = 0x93, 0x12

# n=1
BIT_DRAWER_PIN3 = 0x04   # level of the cash-drawer connector pin 3 (unused on kiosks)
BIT_OFFLINE = 0x08       # the printer is offline (cover, paper end, error or feeding)
# n=2
BIT_COVER_OPEN = 0x04    # the roll cover is open
BIT_FEED_BUTTON = 0x08   # paper is being fed with the FEED button (prints nothing meanwhile)
BIT_PAPER_STOP = 0x20    # printing stopped because the paper ran out
BIT_ERROR = 0x40         # an error occurred (details in n=3)
# n=3
BIT_MECHANISM_ERR = 0x04  # print-head or mechanism position error (clones)
BIT_CUTTER_ERR = 0x08     # auto-cutter jammed or failed
BIT_UNRECOVERABLE = 0x20  # needs power cycle / service
BIT_AUTO_RECOVER = 0x40   # recovers by itself (head temperature, voltage)
# n=4: each sensor reports on two bits (a relic of printers with two sensors per roll)
BITS_NEAR_END = 0x0C     # roll paper near-end sensor: paper is running low
BITS_PAPER_END = 0x60    # roll paper end sensor: no paper


class StatusError(CodecError):
    """A status answer is missing or is not a status byte (noise, wrong device, wrong baud rate)."""

    code = "printer.status"
    citizen_message = "打印机暂时不可用，请联系工作人员。"


def status_request(n: int) -> bytes:
    """The DLE EOT n request bytes (n = 1..4)."""
    if n not in KINDS:
        raise StatusError(f"DLE EOT n must be 1..4, got {n!r}", action="fix the caller")
    return bytes((DLE, EOT, n))


#: All four requests in one write: the printer answers four bytes in the same order.
FULL_REQUEST = b"".join(status_request(n) for n in KINDS)


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer says about itself, decoded from the four DLE EOT answers."""

    online: bool = True
    cover_open: bool = False
    paper_near_end: bool = False
    paper_out: bool = False
    error: bool = False
    cutter_error: bool = False
    unrecoverable: bool = False

    @property
    def can_print(self) -> bool:
        """True when a job sent now would be printed."""
        return self.online and not (self.cover_open or self.paper_out or self.error)

    def to_dict(self) -> dict[str, bool]:
        """JSON-friendly form (events, telemetry, `kiosk doctor`)."""
        return {"online": self.online, "cover_open": self.cover_open,
                "paper_near_end": self.paper_near_end, "paper_out": self.paper_out,
                "error": self.error, "cutter_error": self.cutter_error,
                "unrecoverable": self.unrecoverable}


def encode_status(n: int, status: PrinterStatus) -> int:
    """The answer byte a printer in ``status`` gives to DLE EOT n (the simulator's side)."""
    b = FIXED_BITS
    if n == PRINTER:
        if not status.online:
            b |= BIT_OFFLINE
    elif n == OFFLINE_CAUSE:
        b |= BIT_COVER_OPEN if status.cover_open else 0
        b |= BIT_PAPER_STOP if status.paper_out else 0
        b |= BIT_ERROR if status.error else 0
    elif n == ERROR_CAUSE:
        b |= BIT_CUTTER_ERR if status.cutter_error else 0
        b |= BIT_UNRECOVERABLE if status.unrecoverable else 0
        if status.error and not (status.cutter_error or status.unrecoverable):
            b |= BIT_AUTO_RECOVER
    elif n == PAPER_SENSOR:
        b |= BITS_NEAR_END if status.paper_near_end else 0
        b |= BITS_PAPER_END if status.paper_out else 0
    else:
        raise StatusError(f"DLE EOT n must be 1..4, got {n!r}", action="fix the caller")
    return b


def check_status_byte(n: int, value: int) -> int:
    """Return ``value`` if it has the fixed status pattern, else raise :class:`StatusError`."""
    if not 0 <= value <= 0xFF or value & FIXED_MASK != FIXED_BITS:
        raise StatusError(f"answer 0x{value:02X} to DLE EOT {n} is not a status byte",
                          action="check that the URL points at an ESC/POS printer and the baud rate")
    return value


def decode_status(answers: bytes) -> PrinterStatus:
    """Decode the four answer bytes to :data:`FULL_REQUEST` (n = 1, 2, 3, 4 in order)."""
    if len(answers) != len(KINDS):
        raise StatusError(f"expected {len(KINDS)} status bytes, got {len(answers)}",
                          action="check the cable; a one-way link needs check_status = false")
    b1, b2, b3, b4 = (check_status_byte(n, v) for n, v in zip(KINDS, answers))
    # A sensor reports on two bits; either one set counts (clones set only one of the pair).
    paper_out = bool(b2 & BIT_PAPER_STOP or b4 & BITS_PAPER_END)
    return PrinterStatus(
        online=not b1 & BIT_OFFLINE,
        cover_open=bool(b2 & BIT_COVER_OPEN),
        paper_near_end=bool(b4 & BITS_NEAR_END),
        paper_out=paper_out,
        error=bool(b2 & BIT_ERROR or b3 & (BIT_MECHANISM_ERR | BIT_CUTTER_ERR | BIT_UNRECOVERABLE
                                            | BIT_AUTO_RECOVER)),
        cutter_error=bool(b3 & BIT_CUTTER_ERR),
        unrecoverable=bool(b3 & BIT_UNRECOVERABLE),
    )
