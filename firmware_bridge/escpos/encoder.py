"""TicketDoc -> ESC/POS bytes for one printer profile.

python-escpos builds the commands (its ``Dummy`` printer accumulates bytes in ``.output``); this
module adds what it lacks (PITFALLS.md):

- Chinese mode: python-escpos writes Han characters as GB18030 but never sends FS & (1C 26), so
  a printer in its default single-byte mode prints mojibake. We send FS & after ESC @ and FS .
  (1C 2E) before the cut, and encode every text line as GB18030 ourselves (python-escpos only
  switches to GB18030 for U+4E00..U+9FA5, so full-width punctuation alone would come out as "?").
- Native QR with ``center=True`` raises NotImplementedError: we centre with ESC a 1 ourselves.
- Byte budget: native QR (GS ( k) and native text keep a ticket near 350 bytes; the raster image
  fallback (~18 KB) is used only where the profile says the printer has no QR engine.
"""
from __future__ import annotations

import copy

import escpos.exceptions
from escpos.constants import QR_ECLEVEL_H, QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q
from escpos.printer import Dummy

from firmware_bridge.escpos.document import (
    QR,
    Barcode,
    Cut,
    Feed,
    PrinterProfile,
    Rule,
    Text,
    TicketDoc,
    TicketError,
    get_profile,
)

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
#: FS & / FS . : enter / leave Chinese (double-byte) character mode.
CHINESE_ON, CHINESE_OFF = FS + b"&", FS + b"."
_ALIGN_BYTE = {"left": 0, "center": 1, "right": 2}
_QR_EC = {"L": QR_ECLEVEL_L, "M": QR_ECLEVEL_M, "Q": QR_ECLEVEL_Q, "H": QR_ECLEVEL_H}
#: Module width of 1-D barcodes in dots (GS w 2..6); 2 keeps a 20-character CODE128 on 58 mm paper.
BARCODE_MODULE_DOTS = 2


def _printable(line: str) -> str:
    """Replace control characters by spaces.

    Why: ticket text often comes from a citizen or the central side; an ESC or GS inside it would
    become a printer command (cut, raster, code page switch...).
    """
    return "".join(" " if (ord(c) < 0x20 or ord(c) == 0x7F) else c for c in line)


class _Writer:
    """Tracks the printer's text state so that each style command is sent only when it changes."""

    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self.p = Dummy(profile=profile.escpos_profile)
        # Tell python-escpos the paper width (its generic profiles say "Unknown" and then print a
        # warning to stdout on every image). Deep copy: the capability data may be shared.
        data = copy.deepcopy(self.p.profile.profile_data)
        data.setdefault("media", {}).setdefault("width", {})["pixels"] = profile.width_dots
        self.p.profile.profile_data = data
        self.align, self.bold, self.size = "left", False, (1, 1)

    def raw(self, data: bytes) -> None:
        self.p._raw(data)

    def set_align(self, align: str) -> None:
        if align != self.align:
            self.raw(ESC + b"a" + bytes([_ALIGN_BYTE[align]]))
            self.align = align

    def set_style(self, bold: bool, size: tuple[int, int]) -> None:
        if bold != self.bold:
            self.p.set(bold=bold)  # ESC E n
            self.bold = bold
        if size != self.size:
            self.p.set(custom_size=True, width=size[0], height=size[1])  # GS ! n
            self.size = size

    def line(self, text: str) -> None:
        text = _printable(text)
        if self.profile.chinese:
            # GB18030 covers all of Unicode, so "replace" only ever touches lone surrogates.
            self.raw(text.encode("gb18030", errors="replace") + b"\n")
        else:
            self.p.textln(text)


def encode(doc: TicketDoc, profile: str | PrinterProfile = "default-80mm") -> bytes:
    """The bytes of one print job: ESC @, Chinese mode, the elements, and a cut at the end."""
    if not isinstance(doc, TicketDoc):
        raise TicketError(f"expected a TicketDoc, got {type(doc).__name__}")
    prof = get_profile(profile)
    w = _Writer(prof)
    w.p.hw("INIT")  # ESC @: a job never inherits the previous job's styles
    if prof.chinese:
        w.raw(CHINESE_ON)
    elements = list(doc.elements)
    # Why always end with a cut: the cut delimits a job for the citizen (they take the ticket)
    # and for the simulator (one ticket per cut).
    if not elements or not isinstance(elements[-1], Cut):
        elements.append(Cut())
    for i, el in enumerate(elements):
        try:
            _encode_element(w, el)
        except (escpos.exceptions.Error, ValueError) as e:
            raise TicketError(f"cannot encode {type(el).__name__}: {e}") from e
        if isinstance(el, Cut) and i + 1 < len(elements) and prof.chinese:
            w.raw(CHINESE_ON)  # a second ticket in the same job starts in Chinese mode again
    out: bytes = w.p.output  # python-escpos is untyped
    return out


def _encode_element(w: _Writer, el: object) -> None:
    prof = w.profile
    if isinstance(el, Text):
        w.set_align(el.align)
        w.set_style(el.bold, el.size)
        for line in el.text.split("\n"):
            w.line(line)
    elif isinstance(el, QR):
        w.set_align(el.align)
        if prof.native_qr:
            # center=False: python-escpos cannot centre a native QR; ESC a above does it.
            w.p.qr(el.data, ec=_QR_EC[el.ec], size=el.size, native=True, center=False)
        else:
            w.p.qr(el.data, ec=_QR_EC[el.ec], size=el.size, native=False,
                   image_arguments={"impl": "bitImageRaster", "center": False})
    elif isinstance(el, Barcode):
        w.set_align(el.align)
        data = el.data
        if el.kind == "CODE128" and not data.startswith("{"):
            data = "{B" + data  # GS k 73 needs a code set; B covers printable ASCII
        # _hw_barcode, not barcode(): the public method prints "Using hardware..." to stdout.
        w.p._hw_barcode(data, el.kind, height=el.height_dots, width=BARCODE_MODULE_DOTS,
                        pos="BELOW", font="A", align_ct=False, function_type="B", check=True)
    elif isinstance(el, Feed):
        w.p.print_and_feed(el.lines)  # ESC d n
    elif isinstance(el, Rule):
        w.set_style(False, (1, 1))
        w.line("-" * prof.chars_per_line)
    elif isinstance(el, Cut):
        if prof.chinese:
            w.raw(CHINESE_OFF)  # leave the printer in its default mode for whoever prints next
        w.p.cut(mode="PART" if el.partial else "FULL")
    else:  # pragma: no cover - TicketDoc.add() already refuses other types
        raise TicketError(f"not a ticket element: {type(el).__name__}")
