"""Parser: table of commands, every split point, truncation, unknown/malformed input, Hypothesis."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.escpos import parser as P
from firmware_bridge.escpos.document import TicketDoc
from firmware_bridge.escpos.encoder import encode


def parse_all(data: bytes) -> list:
    p = P.Parser()
    return P.merge_text(p.feed(data) + p.flush())


def parse_split(data: bytes, cuts: list[int]) -> list:
    p, ops, last = P.Parser(), [], 0
    for c in sorted(set(cuts)) + [len(data)]:
        ops += p.feed(data[last:c])
        last = c
    return P.merge_text(ops + p.flush())


@pytest.mark.parametrize("data, ops", [
    (b"\x1b@", [P.Init()]),
    (b"\x1b!\x38", [P.PrintMode(0x38)]),
    (b"\x1bE\x01\x1bE\x00", [P.Bold(True), P.Bold(False)]),
    (b"\x1ba\x00\x1ba\x01\x1ba\x32", [P.Align("left"), P.Align("center"), P.Align("right")]),
    (b"\x1d!\x11", [P.CharSize(2, 2)]),
    (b"\x1d!\x70", [P.CharSize(8, 1)]),
    (b"\x1c&\x1c.", [P.ChineseMode(True), P.ChineseMode(False)]),
    (b"\x1bd\x03", [P.FeedLines(3)]),
    (b"abc\n", [P.TextOp("abc"), P.LineFeed()]),
    (b"a\tb\r\n", [P.TextOp("a b"), P.LineFeed()]),
    (b"\x1bt\x10\xe9\n", [P.CodePage(16), P.TextOp("é"), P.LineFeed()]),
    (b"\x1d(k\x04\x001A2\x00", [P.QrSetting("model", 50)]),
    (b"\x1d(k\x03\x001C\x06", [P.QrSetting("size", 6)]),
    (b"\x1d(k\x03\x001E1", [P.QrSetting("ec", 49)]),
    (b"\x1d(k\x06\x001P0abc", [P.QrStore(b"abc")]),
    (b"\x1d(k\x03\x001Q0", [P.QrPrint()]),
    (b"\x1dkI\x06{BA012", [P.BarcodeOp(73, b"{BA012")]),
    (b"\x1dk\x04ABC\x00", [P.BarcodeOp(4, b"ABC")]),
    (b"\x1dh\x40\x1dw\x02\x1dH\x02\x1df\x00",
     [P.BarcodeSetting("height", 64), P.BarcodeSetting("width", 2), P.BarcodeSetting("hri", 2),
      P.BarcodeSetting("hri_font", 0)]),
    (b"\x1dv0\x00\x01\x00\x02\x00\xff\x00", [P.Raster(0, 1, 2, b"\xff\x00")]),
    (b"\x1dV\x00", [P.CutOp(False)]),
    (b"\x1dV\x01", [P.CutOp(True)]),
    (b"\x1dVB\x05", [P.CutOp(True, 5)]),
    (b"\x10\x04\x01\x10\x04\x04", [P.StatusRequest(1), P.StatusRequest(4)]),
    (b"\x1b-\x01", [P.Ignored(b"\x1b-\x01")]),
    (b"\x1d(L\x02\x0000", [P.Ignored(b"\x1d(L")]),
])
def test_command_table(data, ops):
    assert parse_all(data) == ops


def test_gb18030_text_in_chinese_mode_only():
    text = "排队号：A012 𠀀"  # 𠀀 is a 4-byte GB18030 sequence
    data = b"\x1c&" + text.encode("gb18030") + b"\n\x1c." + "é".encode("cp437") + b"\n"
    ops = parse_all(data)
    assert ops == [P.ChineseMode(True), P.TextOp(text), P.LineFeed(), P.ChineseMode(False),
                   P.TextOp("é"), P.LineFeed()]


def test_every_split_point_of_a_real_ticket_gives_the_same_operations():
    doc = (TicketDoc().text("郑州市政务服务中心", size=2, bold=True, align="center")
           .text("排队号：A012 𠀀").rule().qr("https://x.cn/q?t=A012").barcode("A012").feed(1))
    data = encode(doc) + encode(doc, "raster-qr-58mm")[:2000]
    whole = parse_all(data)
    assert P.CutOp(False) in whole
    for cut in range(1, len(data)):
        assert parse_split(data, [cut]) == whole, cut


def test_byte_by_byte_feeding():
    data = encode(TicketDoc().text("中文 QR").qr("https://x.cn"))
    assert parse_split(data, list(range(len(data)))) == parse_all(data)


def test_truncated_command_waits_for_more_bytes():
    p = P.Parser()
    assert p.feed(b"\x1d(k\x06\x001P0ab") == []
    assert p.pending == 10
    assert p.feed(b"c") == [P.QrStore(b"abc")]
    assert p.pending == 0


def test_unknown_commands_are_skipped_and_counted():
    p = P.Parser()
    ops = p.feed(b"\x1b\x7fA\x1d\xf0\x00B\x1b\x1b@")
    assert [o for o in ops if not isinstance(o, P.Unknown)] == [P.TextOp("A"), P.TextOp("B"), P.Init()]
    assert p.unknown_count == 4  # ESC 7F, GS F0, NUL, lone ESC before ESC @


def test_impossible_arguments_are_malformed_not_buffered():
    p = P.Parser()
    # a raster image announcing 65535 x 65535 bytes must not make the parser wait for 4 GB
    ops = p.feed(b"\x1dv0\x00\xff\xff\xff\xffX\n")
    assert isinstance(ops[0], P.Malformed) and ops[1:] == [P.TextOp("X"), P.LineFeed()]
    assert p.malformed_count == 1 and p.pending == 0
    ops = p.feed(b"\x10\x04\x09\x1dV\x07")
    assert [type(o) for o in ops] == [P.Malformed, P.Malformed]


def test_function_a_barcode_without_nul_is_bounded():
    p = P.Parser()
    assert p.feed(b"\x1dk\x04" + b"1" * 100) == []
    ops = p.feed(b"1" * 200)
    assert isinstance(ops[0], P.Malformed)
    assert p.pending == 0


ops_types = tuple(cls for cls in vars(P).values() if isinstance(cls, type) and issubclass(cls, P.Op))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=6))
def test_random_bytes_give_only_operations_and_splits_do_not_matter(data, cuts):
    whole = parse_all(data)
    assert all(isinstance(o, ops_types) for o in whole)
    assert parse_split(data, [c for c in cuts if c <= len(data)]) == whole


command_starts = st.sampled_from([b"\x1b", b"\x1d", b"\x1c", b"\x10\x04", b"\x1d(k", b"\x1dv0",
                                  b"\x1dk", b"\x1dV", b"\n", "中".encode("gb18030"), b"\x1c&"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(command_starts, st.binary(max_size=8)), max_size=40),
       st.lists(st.integers(0, 400), max_size=6))
def test_command_fragments_never_raise_or_hang(parts, cuts):
    data = b"".join(parts)
    whole = parse_all(data)
    assert all(isinstance(o, ops_types) for o in whole)
    assert parse_split(data, [c for c in cuts if c <= len(data)]) == whole
