"""Renderer: CJK face, real glyphs (not tofu), QR and barcode readable by zxing-cpp, layout."""
import io

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from firmware_bridge.escpos import parser as P
from firmware_bridge.escpos.document import TicketDoc
from firmware_bridge.escpos.encoder import encode
from firmware_bridge.escpos.render import CELL_H, LINE_GAP, MARGIN, Renderer, cjk_font, glyph_image, render, to_png


def rendered(doc: TicketDoc, profile: str = "default-80mm") -> Renderer:
    r = Renderer(profile)
    r.feed(P.Parser().feed(encode(doc, profile)))
    return r


def ink_columns(img: Image.Image) -> tuple[int, int]:
    cols = np.where((np.asarray(img) < 128).any(axis=0))[0]
    return int(cols.min()), int(cols.max())


def test_font_is_the_simplified_chinese_face():
    assert cjk_font().getname() == ("Noto Sans CJK SC", "Regular")


def test_chinese_glyphs_are_drawn_not_tofu():
    zhong = np.asarray(glyph_image("中", wide=True))
    tofu = np.asarray(glyph_image("\U000E0100", wide=True))  # a code point the font has no glyph for
    assert (zhong < 128).sum() > 30
    assert not np.array_equal(zhong, tofu)
    # "中" is symmetric around a vertical stroke: most ink sits in the middle columns
    assert (zhong[:, 10:14] < 128).sum() > (zhong[:, :4] < 128).sum()
    # the ticket's first cell is exactly that glyph
    r = rendered(TicketDoc().text("中"))
    top = MARGIN + LINE_GAP
    cell = np.asarray(r.image())[top:top + CELL_H, 0:24]
    assert np.array_equal(cell, zhong)


def test_qr_is_readable_with_zxing_and_text_lines_are_kept():
    url = "https://zwfw.zhengzhou.gov.cn/q?t=A012&h=HALL-0001"
    r = rendered(TicketDoc().text("排队号：A012", size=2, align="center").qr(url, size=6).cut())
    codes = zxingcpp.read_barcodes(r.image())
    assert [(c.format, c.text) for c in codes] == [(zxingcpp.BarcodeFormat.QRCode, url)]
    assert r.text.splitlines()[0] == "排队号：A012"
    assert r.qr_printed == [url]


def test_qr_module_size_is_honoured():
    small = render(P.Parser().feed(encode(TicketDoc().qr("abc", size=3))))
    big = render(P.Parser().feed(encode(TicketDoc().qr("abc", size=8))))
    s0, s1 = ink_columns(small)
    b0, b1 = ink_columns(big)
    assert (b1 - b0 + 1) * 3 == (s1 - s0 + 1) * 8


def test_raster_fallback_qr_is_readable():
    r = rendered(TicketDoc().qr("https://x.cn/raster", size=5), "raster-qr-58mm")
    assert r.image().width == 384
    assert [c.text for c in zxingcpp.read_barcodes(r.image())] == ["https://x.cn/raster"]


def test_barcode_is_readable():
    r = rendered(TicketDoc().barcode("A012B"))
    codes = zxingcpp.read_barcodes(r.image(), formats=zxingcpp.BarcodeFormat.Code128)
    assert [c.text for c in codes] == ["A012B"]


@pytest.mark.parametrize("align", ["left", "center", "right"])
def test_alignment(align):
    img = rendered(TicketDoc().text("中文", align=align)).image()
    left, right = ink_columns(img)
    if align == "left":
        assert left < 10
    elif align == "right":
        assert right > 576 - 10
    else:
        assert abs((left + right) / 2 - 288) < 12


def test_size_multiplier_and_wrapping():
    one = rendered(TicketDoc().text("中"))
    two = rendered(TicketDoc().text("中", size=(2, 3)))
    assert two.image().height - one.image().height == 2 * CELL_H
    l1, r1 = ink_columns(one.image())
    l2, r2 = ink_columns(two.image())
    assert (r2 - l2) > 1.7 * (r1 - l1)
    wrapped = rendered(TicketDoc().text("中" * 30), "default-58mm")  # 16 wide chars per 58 mm line
    assert wrapped.text.splitlines() == ["中" * 16, "中" * 14]


def test_bold_draws_more_ink():
    plain = np.asarray(rendered(TicketDoc().text("政务服务")).image())
    bold = np.asarray(rendered(TicketDoc().text("政务服务", bold=True)).image())
    assert (bold < 128).sum() > (plain < 128).sum() * 1.2


def test_png_round_trip():
    img = rendered(TicketDoc().text("中").cut()).image()
    back = Image.open(io.BytesIO(to_png(img)))
    assert back.size == img.size and back.format == "PNG"
