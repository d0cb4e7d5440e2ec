"""The ticket model validates at build time and the profiles carry the paper geometry."""
import pytest

from firmware_bridge.escpos.document import (
    PROFILES,
    QR,
    Barcode,
    Cut,
    Feed,
    Rule,
    Text,
    TicketDoc,
    TicketError,
    get_profile,
)
from kiosk.errors import KioskError


def test_builder_keeps_order_and_defaults():
    doc = TicketDoc().text("排队号", size=2, bold=True, align="center").qr("https://x.cn").barcode("A1") \
        .feed(2).rule().cut(partial=True)
    assert [type(e) for e in doc.elements] == [Text, QR, Barcode, Feed, Rule, Cut]
    assert doc.elements[0].size == (2, 2)
    assert doc.elements[1].ec == "M" and doc.elements[1].align == "center"
    assert doc.elements[5].partial is True
    assert doc.plain_text() == "排队号"


@pytest.mark.parametrize("build", [
    lambda: Text("x", size=(0, 1)),
    lambda: Text("x", size=(9, 1)),
    lambda: Text("x", align="middle"),
    lambda: Text(123),  # type: ignore[arg-type]  # a wrong type on purpose: refused at run time
    lambda: QR(""),
    lambda: QR("x", size=17),
    lambda: QR("x", ec="X"),
    lambda: QR("x" * 3000),
    lambda: Barcode("中文"),
    lambda: Barcode("1", kind="PDF417"),
    lambda: Barcode("1", height_dots=0),
    lambda: Feed(256),
    lambda: TicketDoc().add("not an element"),  # type: ignore[arg-type]  # on purpose, as above
])
def test_bad_elements_raise_typed_errors(build):
    with pytest.raises(TicketError) as info:
        build()
    assert info.value.reason and info.value.action


def test_profiles_geometry():
    assert get_profile("default-80mm").width_dots == 576
    assert get_profile("default-58mm").width_dots == 384
    assert get_profile("default-58mm").chars_per_line == 32
    assert get_profile("raster-qr-80mm").native_qr is False
    assert all(p.chinese for p in PROFILES.values())
    with pytest.raises(KioskError, match="unknown printer profile"):
        get_profile("tm-unknown")
