"""The ticket document model and the printer profiles: pure data, no I/O, no ESC/POS bytes.

Services describe *what* goes on a ticket with a :class:`TicketDoc` (text lines, a QR code, a
barcode, feeds, a dashed rule, the cut); the encoder turns it into bytes for one
:class:`PrinterProfile`. Keeping the model free of bytes means a service never learns which printer
stands in the hall, and the same document can be encoded for a 58 mm or an 80 mm printer.

Validation happens when an element is built, so a bad ticket fails in the service that made it
(:class:`TicketError`), not half-way through a print job.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from firmware_bridge.errors import CodecError

ALIGNS = ("left", "center", "right")
#: QR error-correction levels, weakest first (L 7 %, M 15 %, Q 25 %, H 30 % of codewords).
QR_EC_LEVELS = ("L", "M", "Q", "H")
#: Barcode kinds the encoder sends natively (ESC/POS GS k function B names).
BARCODE_KINDS = ("CODE128", "CODE39", "EAN13", "EAN8", "ITF", "CODE93")


class TicketError(CodecError):
    """A ticket element is malformed (a service bug, not a printer fault)."""

    code = "printer.ticket"
    citizen_message = "凭条生成失败，请联系工作人员。"

    def __init__(self, reason: str) -> None:
        super().__init__(reason, action="fix the service that builds this ticket")


@dataclass(frozen=True)
class Text:
    """One line of text; ``size`` is the (width, height) multiplier, each 1..8 (GS !)."""

    text: str
    size: tuple[int, int] = (1, 1)
    bold: bool = False
    align: str = "left"

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TicketError(f"text must be a string, got {type(self.text).__name__}")
        if isinstance(self.size, int):  # Text("x", size=2) means double width and height
            object.__setattr__(self, "size", (self.size, self.size))
        if (not isinstance(self.size, tuple) or len(self.size) != 2
                or not all(isinstance(v, int) and 1 <= v <= 8 for v in self.size)):
            raise TicketError(f"text size must be (w, h) with each 1..8, got {self.size!r}")
        _check_align(self.align)


@dataclass(frozen=True)
class QR:
    """A QR code of ``data``; ``size`` is the module size in dots (1..16), ``ec`` L/M/Q/H."""

    data: str
    size: int = 6
    ec: str = "M"
    align: str = "center"

    def __post_init__(self) -> None:
        if not isinstance(self.data, str) or not self.data:
            raise TicketError("QR data must be a non-empty string")
        # Why 2953: the most bytes a QR code holds (version 40, level L); printers refuse more.
        if len(self.data.encode("utf-8")) > 2953:
            raise TicketError("QR data longer than a QR code can hold (2953 bytes)")
        if not isinstance(self.size, int) or not 1 <= self.size <= 16:
            raise TicketError(f"QR module size must be 1..16 dots, got {self.size!r}")
        if self.ec not in QR_EC_LEVELS:
            raise TicketError(f"QR error correction must be one of {QR_EC_LEVELS}, got {self.ec!r}")
        _check_align(self.align)


@dataclass(frozen=True)
class Barcode:
    """A one-dimensional barcode (CODE128 by default) printed by the printer itself."""

    data: str
    kind: str = "CODE128"
    height_dots: int = 64
    align: str = "center"

    def __post_init__(self) -> None:
        if self.kind not in BARCODE_KINDS:
            raise TicketError(f"barcode kind must be one of {BARCODE_KINDS}, got {self.kind!r}")
        if not isinstance(self.data, str) or not self.data or not self.data.isascii():
            raise TicketError("barcode data must be a non-empty ASCII string")
        # Why 250: GS k function B carries the length in one byte (and "{B" takes two).
        if len(self.data) > 250:
            raise TicketError("barcode data longer than 250 characters")
        if not isinstance(self.height_dots, int) or not 1 <= self.height_dots <= 255:
            raise TicketError(f"barcode height must be 1..255 dots, got {self.height_dots!r}")
        _check_align(self.align)


@dataclass(frozen=True)
class Feed:
    """Feed ``lines`` blank lines (ESC d n, 0..255)."""

    lines: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.lines, int) or not 0 <= self.lines <= 255:
            raise TicketError(f"feed must be 0..255 lines, got {self.lines!r}")


@dataclass(frozen=True)
class Rule:
    """A dashed line across the paper."""


@dataclass(frozen=True)
class Cut:
    """Feed past the cutter and cut; ``partial`` leaves a small bridge of paper."""

    partial: bool = False


Element = Text | QR | Barcode | Feed | Rule | Cut


def _check_align(align: str) -> None:
    if align not in ALIGNS:
        raise TicketError(f"align must be one of {ALIGNS}, got {align!r}")


@dataclass
class TicketDoc:
    """A ticket: an ordered list of elements, built with the chainable helpers."""

    elements: list[Element] = field(default_factory=list)

    def add(self, element: Element) -> TicketDoc:
        """Append one element."""
        if not isinstance(element, (Text, QR, Barcode, Feed, Rule, Cut)):
            raise TicketError(f"not a ticket element: {type(element).__name__}")
        self.elements.append(element)
        return self

    def text(self, text: str, size: tuple[int, int] | int = (1, 1), bold: bool = False,
             align: str = "left") -> TicketDoc:
        """Append a line of text."""
        return self.add(Text(text, (size, size) if isinstance(size, int) else size, bold, align))

    def qr(self, data: str, size: int = 6, ec: str = "M", align: str = "center") -> TicketDoc:
        """Append a QR code."""
        return self.add(QR(data, size, ec, align))

    def barcode(self, data: str, kind: str = "CODE128", height_dots: int = 64,
                align: str = "center") -> TicketDoc:
        """Append a barcode."""
        return self.add(Barcode(data, kind, height_dots, align))

    def feed(self, lines: int = 1) -> TicketDoc:
        """Append blank lines."""
        return self.add(Feed(lines))

    def rule(self) -> TicketDoc:
        """Append a dashed line."""
        return self.add(Rule())

    def cut(self, partial: bool = False) -> TicketDoc:
        """Append the cut that ends the ticket."""
        return self.add(Cut(partial))

    def plain_text(self) -> str:
        """The ticket's text lines joined by newlines (for logs in tests and a screen preview)."""
        return "\n".join(e.text for e in self.elements if isinstance(e, Text))


@dataclass(frozen=True)
class PrinterProfile:
    """What the encoder and the renderer must know about one printer model."""

    name: str
    paper_mm: int
    #: Printable width in dots at 203 dpi (8 dots/mm): 576 on 80 mm paper, 384 on 58 mm.
    width_dots: int
    #: Font A (12x24 dots) characters per line; a CJK character takes two.
    chars_per_line: int
    #: True: the printer draws QR codes itself (GS ( k, ~60 bytes); False: send a raster image.
    native_qr: bool = True
    #: "GB18030" puts the printer in Chinese mode (FS &); anything else is a single-byte code page.
    code_page: str = "GB18030"
    #: python-escpos capability profile used for commands it builds (barcode, cut, QR).
    escpos_profile: str = "default"

    @property
    def chinese(self) -> bool:
        """True when text goes out as GB18030 in the printer's Chinese mode."""
        return self.code_page.upper() in ("GB18030", "GBK", "GB2312")


PROFILES: dict[str, PrinterProfile] = {
    "default-80mm": PrinterProfile("default-80mm", 80, 576, 48),
    "default-58mm": PrinterProfile("default-58mm", 58, 384, 32),
    # Older or cheaper mechanisms without a QR engine: the QR goes out as a raster image (~18 KB).
    "raster-qr-80mm": PrinterProfile("raster-qr-80mm", 80, 576, 48, native_qr=False),
    "raster-qr-58mm": PrinterProfile("raster-qr-58mm", 58, 384, 32, native_qr=False),
}


def get_profile(name: str | PrinterProfile) -> PrinterProfile:
    """The profile called ``name`` (or the profile itself); a typed error names the known ones."""
    if isinstance(name, PrinterProfile):
        return name
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        raise CodecError(f"unknown printer profile {name!r}",
                         action="use one of " + ", ".join(sorted(PROFILES)),
                         code="printer.profile") from None
