"""Parsed operations of one job -> a picture of the printed ticket (PIL image, PNG).

Lays text out as a thermal printer does: font A cells of 12x24 dots, a double-byte (GB18030)
character takes a full 24x24 cell, GS ! / ESC ! multiply the cell, ESC a aligns each printed line,
a line wraps when it reaches the paper width. Glyphs come from Noto Sans CJK **SC** (the .ttc
opens on its Japanese face by default, whose forms differ for some Han characters: PITFALLS.md),
QR codes are re-drawn from the stored data with the ``qrcode`` library at the stored module size,
barcodes with zxing-cpp's writer, raster images bit for bit. Lets tests and staff see a ticket.
"""
from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import qrcode
import qrcode.exceptions
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from firmware_bridge.errors import CodecError
from firmware_bridge.escpos import parser as P
from firmware_bridge.escpos.document import PrinterProfile, get_profile

FONT_PATH = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FONT_FACE_NAME = "Noto Sans CJK SC"
#: Font A cell: 12x24 dots for a single-byte character, 24x24 for a double-byte one.
CELL_W, CELL_H = 12, 24
#: Default line spacing is 1/6 inch (30 dots at 180 dpi); 6 dots above the 24-dot cell.
LINE_GAP = 6
#: Blank margin at the top of a ticket and before the cut line (dots).
MARGIN = 8
WHITE, BLACK = 255, 0
_QR_EC = {48: qrcode.constants.ERROR_CORRECT_L, 49: qrcode.constants.ERROR_CORRECT_M,
          50: qrcode.constants.ERROR_CORRECT_Q, 51: qrcode.constants.ERROR_CORRECT_H}
#: GS k systems (function A and B numbers) -> zxing-cpp writer formats.
_BARCODES = {73: "Code128", 72: "Code93", 69: "Code39", 4: "Code39", 67: "EAN13", 2: "EAN13",
             68: "EAN8", 3: "EAN8", 70: "ITF", 5: "ITF", 65: "UPCA", 0: "UPCA", 66: "UPCE",
             1: "UPCE", 71: "Codabar", 6: "Codabar"}


class FontMissing(CodecError):
    """The CJK font is not installed: tickets cannot be drawn."""

    code = "printer.font"


@functools.lru_cache(maxsize=4)
def cjk_font(size_px: int = CELL_H) -> ImageFont.FreeTypeFont:
    """Noto Sans CJK SC at ``size_px``, found in the .ttc by its name, not by a guessed index."""
    try:
        for index in range(16):
            font = ImageFont.truetype(str(FONT_PATH), size_px, index=index)
            if font.getname()[0] == FONT_FACE_NAME:
                return font
    except OSError as e:
        raise FontMissing(f"cannot open {FONT_PATH}: {e}", action="apt-get install fonts-noto-cjk") from e
    raise FontMissing(f"{FONT_PATH} has no {FONT_FACE_NAME} face",
                      action="apt-get install fonts-noto-cjk")


@functools.lru_cache(maxsize=4096)
def glyph_image(char: str, wide: bool, bold: bool = False) -> Image.Image:
    """One character drawn in its 1x cell (24x24 if ``wide`` else 12x24), black on white."""
    cell_w = CELL_W * (2 if wide else 1)
    font = cjk_font(CELL_H if wide else CELL_H - 2)
    stroke = 1 if bold else 0
    left, top, right, bottom = (int(v) for v in font.getbbox(char, anchor="ls", stroke_width=stroke))
    gw, gh = max(1, right - left), max(1, bottom - top)
    glyph = Image.new("L", (gw, gh), WHITE)
    ImageDraw.Draw(glyph).text((-left, -top), char, font=font, fill=BLACK, anchor="ls",
                               stroke_width=stroke, stroke_fill=BLACK)
    if gw > cell_w:  # proportional Latin glyphs (W, M) are squeezed into the fixed cell
        glyph = glyph.resize((cell_w, gh), Image.Resampling.LANCZOS)
        gw = cell_w
    cell = Image.new("L", (cell_w, CELL_H), WHITE)
    baseline = 20  # dots from the top of the cell; leaves room for descenders
    cell.paste(glyph, ((cell_w - gw) // 2, max(0, baseline + top)))
    return cell


class Renderer:
    """Feeds operations in order and builds the ticket image strip by strip."""

    def __init__(self, profile: str | PrinterProfile = "default-80mm") -> None:
        self.profile = get_profile(profile)
        self.width = self.profile.width_dots
        self.strips: list[Image.Image] = [Image.new("L", (self.width, MARGIN), WHITE)]
        self.line: list[tuple[str, bool, int, int, bool]] = []  # char, wide, w, h, bold
        self.line_w = 0
        self.chinese = False
        self._reset_styles()
        self.qr_data = b""
        self.qr_size, self.qr_ec = 3, 48
        self.bc = {"height": 162, "width": 3, "hri": 0, "hri_font": 0}
        self.text_lines: list[str] = []
        self.qr_printed: list[str] = []
        self.problems: list[str] = []

    def _reset_styles(self) -> None:
        self.align, self.bold, self.mode, self.size = "left", False, 0, (1, 1)

    # -- feeding --------------------------------------------------------------------------------
    def feed(self, ops: list[P.Op]) -> None:
        """Apply operations in order."""
        for op in ops:
            self.apply(op)

    def apply(self, op: P.Op) -> None:
        """Apply one operation."""
        if isinstance(op, P.TextOp):
            for ch in op.text:
                self._add_char(ch)
        elif isinstance(op, P.LineFeed):
            self._print_line(blank_ok=True)
        elif isinstance(op, P.FeedLines):
            if self.line:
                self._print_line()
                n = max(0, op.lines - 1)
            else:
                n = op.lines
            self._blank((CELL_H + LINE_GAP) * n)
        elif isinstance(op, P.Init):
            self._reset_styles()
        elif isinstance(op, P.Align):
            self.align = op.align
        elif isinstance(op, P.Bold):
            self.bold = op.on
        elif isinstance(op, P.PrintMode):
            self.mode = op.mode
        elif isinstance(op, P.CharSize):
            self.size = (op.width, op.height)
        elif isinstance(op, P.ChineseMode):
            self.chinese = op.on
        elif isinstance(op, P.QrSetting):
            if op.name == "size":
                self.qr_size = min(16, max(1, op.value))
            elif op.name == "ec":
                self.qr_ec = op.value
        elif isinstance(op, P.QrStore):
            self.qr_data = op.data
        elif isinstance(op, P.QrPrint):
            self._qr()
        elif isinstance(op, P.BarcodeSetting):
            self.bc[op.name] = op.value
        elif isinstance(op, P.BarcodeOp):
            self._barcode(op)
        elif isinstance(op, P.Raster):
            self._raster(op)
        elif isinstance(op, P.CutOp):
            self._print_line()
            self._blank((CELL_H + LINE_GAP) * op.feed)
            self._cut_line()

    # -- text -----------------------------------------------------------------------------------
    def _style(self) -> tuple[int, int, bool]:
        w, h = self.size
        if self.mode & 0x20:
            w = max(w, 2)
        if self.mode & 0x10:
            h = max(h, 2)
        return w, h, self.bold or bool(self.mode & 0x08)

    def _is_wide(self, ch: str) -> bool:
        # In Chinese mode every double-byte GB18030 character is printed full width.
        if not self.chinese or ord(ch) < 0x80:
            return False
        return len(ch.encode("gb18030", errors="replace")) >= 2

    def _add_char(self, ch: str) -> None:
        w, h, bold = self._style()
        wide = self._is_wide(ch)
        cw = CELL_W * (2 if wide else 1) * w
        if self.line and self.line_w + cw > self.width:
            self._print_line()  # the printer wraps at the paper edge
        self.line.append((ch, wide, w, h, bold))
        self.line_w += cw

    def _print_line(self, blank_ok: bool = False) -> None:
        if not self.line:
            if blank_ok:
                self._blank(CELL_H + LINE_GAP)
            return
        height = max(CELL_H * h for _, _, _, h, _ in self.line)
        strip = Image.new("L", (self.width, height + LINE_GAP), WHITE)
        x = self._x_for(self.line_w)
        for ch, wide, w, h, bold in self.line:
            cell = glyph_image(ch, wide, bold)
            if (w, h) != (1, 1):
                cell = cell.resize((cell.width * w, cell.height * h), Image.Resampling.NEAREST)
            strip.paste(cell, (x, LINE_GAP + height - cell.height))
            x += cell.width
        self.strips.append(strip)
        self.text_lines.append("".join(c for c, *_ in self.line))
        self.line, self.line_w = [], 0

    def _x_for(self, width: int) -> int:
        if self.align == "center":
            return max(0, (self.width - width) // 2)
        if self.align == "right":
            return max(0, self.width - width)
        return 0

    def _blank(self, height: int) -> None:
        if height > 0:
            self.strips.append(Image.new("L", (self.width, height), WHITE))

    def _place(self, img: Image.Image, pad: int = 0) -> None:
        """Add an image as its own strip, aligned like text, with ``pad`` dots above and below."""
        if img.width > self.width:
            img = img.crop((0, 0, self.width, img.height))  # the printer clips at the paper edge
        strip = Image.new("L", (self.width, img.height + 2 * pad), WHITE)
        strip.paste(img, (self._x_for(img.width), pad))
        self.strips.append(strip)

    # -- graphics -------------------------------------------------------------------------------
    def _qr(self) -> None:
        self._print_line()
        if not self.qr_data:
            self.problems.append("QR print without stored data")
            return
        try:
            qr = qrcode.QRCode(version=None, box_size=self.qr_size, border=0,
                               error_correction=_QR_EC.get(self.qr_ec, qrcode.constants.ERROR_CORRECT_M))
            qr.add_data(self.qr_data)
            qr.make(fit=True)
            img = qr.make_image().get_image().convert("L")
        except (ValueError, qrcode.exceptions.DataOverflowError) as e:
            self.problems.append(f"QR not drawable: {e}")
            return
        # Quiet zone of 4 modules above and below (left and right are blank paper anyway).
        self._place(img, pad=4 * self.qr_size)
        self.qr_printed.append(self.qr_data.decode("utf-8", errors="replace"))

    def _barcode(self, op: P.BarcodeOp) -> None:
        self._print_line()
        text = op.data.decode("ascii", errors="replace")
        if op.system == 73 and text[:2] in ("{A", "{B", "{C"):
            text = text[2:]  # the code-set selector is not part of the content
        fmt = _BARCODES.get(op.system)
        try:
            if fmt is None:
                raise ValueError(f"barcode system {op.system} not drawn")
            code = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt))
            row = np.asarray(code.to_image(scale=1, add_hrt=False, add_quiet_zones=False))[0]
        except (ValueError, RuntimeError) as e:  # zxing-cpp raises ValueError on bad content
            self.problems.append(f"barcode not drawable: {e}")
            return
        module = min(6, max(1, self.bc["width"]))
        height = max(1, self.bc["height"])
        bars = Image.fromarray(np.repeat(row, module)[None, :].repeat(height, axis=0).astype(np.uint8), "L")
        self._place(bars, pad=4)
        if self.bc["hri"] in (2, 3, 50, 51):  # HRI characters below the bars
            saved = (self.align, self.size, self.mode, self.bold)
            self.size, self.mode, self.bold = (1, 1), 0, False
            for ch in text:
                self._add_char(ch)
            self._print_line()
            self.align, self.size, self.mode, self.bold = saved
        self.text_lines.append(f"[{fmt}:{text}]")

    def _raster(self, op: P.Raster) -> None:
        self._print_line()
        if op.width_bytes == 0 or op.height == 0:
            return
        img = Image.frombytes("1", (op.width_bytes * 8, op.height), op.data)
        img = img.convert("L").point(lambda v: WHITE - v)  # ESC/POS: 1 = black; PIL "1": 1 = white
        if op.mode in (1, 3):
            img = img.resize((img.width * 2, img.height), Image.Resampling.NEAREST)
        if op.mode in (2, 3):
            img = img.resize((img.width, img.height * 2), Image.Resampling.NEAREST)
        self._place(img)

    def _cut_line(self) -> None:
        strip = Image.new("L", (self.width, MARGIN * 2 + 1), WHITE)
        draw = ImageDraw.Draw(strip)
        for x in range(0, self.width, 16):  # a dashed line where the cutter went
            draw.line([(x, MARGIN), (x + 8, MARGIN)], fill=128)
        self.strips.append(strip)

    # -- output ---------------------------------------------------------------------------------
    def image(self) -> Image.Image:
        """The ticket so far (lines still in the buffer are not printed yet, as on paper)."""
        height = sum(s.height for s in self.strips)
        out = Image.new("L", (self.width, height), WHITE)
        y = 0
        for s in self.strips:
            out.paste(s, (0, y))
            y += s.height
        return out

    @property
    def text(self) -> str:
        """The printed text, one line per printed line."""
        return "\n".join(self.text_lines)


def render(ops: list[P.Op], profile: str | PrinterProfile = "default-80mm") -> Image.Image:
    """Draw one job's operations as a ticket image."""
    r = Renderer(profile)
    r.feed(ops)
    return r.image()


def to_png(image: Image.Image) -> bytes:
    """PNG bytes of a rendered ticket."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
