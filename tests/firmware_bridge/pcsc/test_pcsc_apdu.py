"""APDU encoding/decoding and transceive's 61xx/6Cxx handling, against scripted card answers."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.pcsc import apdu, sw
from firmware_bridge.pcsc.apdu import ApduError, Command, Response


@pytest.mark.parametrize("cmd, wire", [
    (Command(0x00, 0xA4, 0x04, 0x0C, bytes.fromhex("A000000003")), "00A4040C05A000000003"),  # case 3
    (apdu.read_record(7), "00B2070400"),                                                    # case 2, Le=256
    (apdu.read_record(7, 9), "00B2070409"),
    (apdu.read_binary(0x0123, 0x10), "00B0012310"),
    (apdu.get_response(0x12), "00C0000012"),
    (apdu.get_uid(), "FFCA000000"),
    (Command(0x80, 0x10, 1, 2), "80100102"),                                                # case 1
    (Command(0x00, 0x88, 0, 0, b"\x01\x02", le=0x10), "0088000002010210"),                  # case 4
    (apdu.select_fid(bytes.fromhex("EF05")), "00A4020C02EF05"),
])
def test_encode(cmd, wire):
    assert cmd.to_bytes().hex().upper() == wire
    assert Command.parse(bytes.fromhex(wire)) == cmd


@given(cla=st.integers(0, 255), ins=st.integers(0, 255), p1=st.integers(0, 255), p2=st.integers(0, 255),
       data=st.binary(max_size=255), le=st.one_of(st.none(), st.integers(1, 256)))
def test_roundtrip(cla, ins, p1, p2, data, le):
    cmd = Command(cla, ins, p1, p2, data, le)
    assert Command.parse(cmd.to_bytes()) == cmd


@pytest.mark.parametrize("bad", [
    Command(0x100, 0, 0, 0), Command(0, 0, 0, 0, bytes(256)), Command(0, 0, 0, 0, le=257),
])
def test_encode_refuses_what_short_apdus_cannot_carry(bad):
    with pytest.raises(ApduError):
        bad.to_bytes()


@pytest.mark.parametrize("raw", ["00A4", "00A4040C05A0", "00A4040C0000000000", "00A4040C02AABBCCDD"])
def test_parse_rejects_malformed(raw):
    with pytest.raises(ApduError):
        Command.parse(bytes.fromhex(raw))


def test_response_parse_and_short_answer():
    r = Response.parse(bytes.fromhex("01029000"))
    assert (r.data, r.sw, r.ok) == (b"\x01\x02", 0x9000, True)
    for raw in (b"", b"\x90"):
        with pytest.raises(ApduError):
            Response.parse(raw)


def test_str_never_shows_the_data_field():
    assert "31323334" not in str(Command(0, 0x20, 0, 0, b"1234")) and "1234" not in str(Command(0, 0x20, 0, 0, b"1234"))


class Script:
    """A card that answers from a list and records what it was sent."""

    def __init__(self, *answers: str) -> None:
        self.answers = [bytes.fromhex(a) for a in answers]
        self.sent: list[str] = []

    def __call__(self, raw: bytes) -> bytes:
        self.sent.append(raw.hex().upper())
        return self.answers.pop(0)


def test_transceive_follows_61xx_with_get_response():
    card = Script("6104", "AABB6102", "CCDD9000")
    r = apdu.transceive(card, apdu.read_record(1))
    assert r.data == bytes.fromhex("AABBCCDD") and r.sw == 0x9000
    assert card.sent == ["00B2010400", "00C0000004", "00C0000002"]


def test_transceive_resends_with_le_from_6cxx():
    card = Script("6C09", "3132333435363738399000")
    r = apdu.transceive(card, apdu.read_record(7, 4))
    assert r.data == b"123456789"
    assert card.sent == ["00B2070404", "00B2070409"]


def test_transceive_raises_the_typed_error():
    with pytest.raises(sw.FileNotFound):
        apdu.transceive(Script("6A82"), apdu.select_fid(b"\xef\x07"))
    with pytest.raises(sw.SecurityNotSatisfied):
        apdu.transceive(Script("6104", "6982"), apdu.read_record(1))


def test_transceive_bounds_an_endless_61xx_card():
    def forever(raw: bytes) -> bytes:
        return bytes.fromhex("00016101")
    with pytest.raises(ApduError, match="GET RESPONSE"):
        apdu.transceive(forever, apdu.read_record(1))


def test_transceive_typed_error_on_empty_answer():
    with pytest.raises(ApduError):
        apdu.transceive(lambda raw: b"", apdu.read_record(1))
