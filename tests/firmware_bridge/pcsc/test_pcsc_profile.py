"""Card profiles: loading, validation errors, field decoding, and reading a card model."""
import datetime as dt

import pytest

from firmware_bridge.errors import ProfileError as ConfigError
from firmware_bridge.pcsc import profile as P
from firmware_bridge.pcsc.vicc import CardModel, synthetic_citizen


def test_shipped_profiles_load():
    assert {"social-security", "staff"} <= set(P.available())
    ss = P.load_profile("social-security")
    assert ss.aid.decode("gbk") == "sx1.sh.社会保障"
    assert [f.fid.hex().upper() for f in ss.files.values()] == ["EF05", "EF06"]
    names = {f.name for f in ss.fields}
    assert {"card_number", "social_security_number", "name", "card_type", "version", "issue_date",
            "expiry_date"} <= names
    assert ss.field("social_security_number").privacy == "id"
    assert ss.field("name").encoding == "gbk" and ss.field("name").privacy == "name"
    staff = P.load_profile("staff")
    assert staff.files["EF01"].kind == "binary" and staff.field("staff_number").offset == 0


def test_unknown_profile_names_the_choices():
    with pytest.raises(ConfigError, match="social-security"):
        P.load_profile("bank-card")


BASE = {"name": "t", "aid": "A000000001", "files": [{"id": "F", "fid": "EF01", "kind": "record"}],
        "fields": [{"name": "x", "file": "F", "record": 1, "encoding": "ascii"}]}


def _with(**changes):
    raw = {**BASE, "files": [dict(BASE["files"][0])], "fields": [dict(BASE["fields"][0])]}
    for key, value in changes.items():
        where, _, k = key.partition("__")
        if where == "field":
            raw["fields"][0][k] = value
        elif where == "file":
            raw["files"][0][k] = value
        else:
            raw[key] = value
    return raw


@pytest.mark.parametrize("raw, key", [
    ({k: v for k, v in BASE.items() if k != "aid"}, "aid"),
    (_with(aid="A0"), "aid"),
    (_with(aid="zz"), "aid"),
    (_with(file__fid="EF"), "files[0].fid"),
    (_with(file__kind="tree"), "files[0].kind"),
    (_with(field__encoding="utf-7"), "fields[0].encoding"),
    (_with(field__type="float"), "fields[0].type"),
    (_with(field__privacy="secret"), "fields[0].privacy"),
    (_with(field__file="G"), "fields[0].file"),
    (_with(field__record=0), "fields[0].record"),
    (_with(field__colour="red"), "fields[0].colour"),
    (_with(field__length=300), "fields[0].length"),
])
def test_profile_mistakes_name_the_key(raw, key):
    with pytest.raises(ConfigError) as info:
        P.parse_profile(raw, "test.toml")
    assert info.value.key == key and info.value.file == "test.toml"


def test_duplicate_field_names_are_refused():
    raw = _with()
    raw["fields"].append(dict(raw["fields"][0]))
    with pytest.raises(ConfigError, match="unique"):
        P.parse_profile(raw)


def spec(**kw):
    return P.FieldSpec(**{"name": "f", "file": "F", "encoding": "ascii", **kw})


@pytest.mark.parametrize("s, raw, value", [
    (spec(), b"A12345678", "A12345678"),
    (spec(), b"A1234\x00\x00\x00", "A1234"),
    (spec(), b"A1234  \xff\xff", "A1234"),
    (spec(encoding="gbk"), "张三丰".encode("gbk") + bytes(24), "张三丰"),
    (spec(encoding="gb18030"), "㐀李".encode("gb18030"), "㐀李"),
    (spec(encoding="bcd"), bytes.fromhex("410122"), "410122"),
    (spec(encoding="bcd"), bytes.fromhex("12345F"), "12345"),
    (spec(encoding="bcd", type="date"), bytes.fromhex("20310601"), dt.date(2031, 6, 1)),
    (spec(encoding="hex"), b"\x0a\xbc", "0ABC"),
    (spec(encoding="uint", type="int"), b"\x01\x00", 256),
    (spec(codes={"1": "男", "2": "女"}), b"2", "女"),
    (spec(codes={"1": "男"}), b"7", "7"),
    (spec(), b"\x00\x00", None),
    (spec(encoding="bcd", type="date"), bytes(4), None),
])
def test_decode_value(s, raw, value):
    assert P.decode_value(s, raw) == value


@pytest.mark.parametrize("s, raw", [
    (spec(), "张".encode("gbk")),
    (spec(encoding="bcd"), bytes.fromhex("1A34")),
    (spec(encoding="bcd", type="date"), bytes.fromhex("20311341")),
    (spec(encoding="gbk"), b"\x81"),
])
def test_undecodable_bytes_are_a_typed_error(s, raw):
    with pytest.raises(P.FieldDecodeError):
        P.decode_value(s, raw)


def test_tlv_parsing():
    assert P.parse_tlv(bytes.fromhex("0703414243")) == {7: b"ABC"}
    assert P.parse_tlv(bytes.fromhex("5F2001AA0181020102FFFF")) == {0x5F20: b"\xaa", 1: b"\x01\x02"}
    assert P.parse_tlv(b"\x07\x00\x00\x00") == {7: b""}
    for bad in ("0705414243", "07", "5F", "0783000000"):
        with pytest.raises(P.FieldDecodeError):
            P.parse_tlv(bytes.fromhex(bad))


def test_extract_missing_tag_is_typed():
    with pytest.raises(P.FieldDecodeError, match="tag 08"):
        P.extract(spec(tag=8), bytes.fromhex("0703414243"))


@pytest.mark.parametrize("t0", [False, True])
def test_read_social_security_card_model(t0):
    prof = P.load_profile("social-security")
    citizen = synthetic_citizen()
    card = CardModel(prof, citizen, t0=t0)
    data = P.read_card(prof, card.process)
    assert dict(data) == citizen


def test_read_staff_card_with_read_binary():
    prof = P.load_profile("staff")
    values = {"staff_number": "ZZ2024000123", "name": "欧阳娜娜", "valid_until": dt.date(2027, 12, 31)}
    sent = []
    card = CardModel(prof, values)

    def tx(raw):
        sent.append(raw[:2].hex().upper())
        return card.process(raw)
    assert dict(P.read_card(prof, tx)) == values
    assert "00B0" in sent and "00B2" not in sent


def test_wrong_card_is_typed():
    staff_card = CardModel(P.load_profile("staff"), {"staff_number": "1", "name": "王五"})
    with pytest.raises(P.WrongCard) as info:
        P.read_card(P.load_profile("social-security"), staff_card.process)
    assert info.value.sw == 0x6A82 and "社会保障卡" in info.value.action


def test_card_data_never_shows_citizen_values_in_repr():
    prof = P.load_profile("social-security")
    data = P.read_card(prof, CardModel(prof, synthetic_citizen()).process)
    shown = repr(data) + str(data) + f"{data}" + str([data])
    for secret in ("410122199001011234", "张三丰", "1990-01-01", "datetime.date(1990"):
        assert secret not in shown
    masked = data.masked()
    assert masked["social_security_number"] == "410***********1234"
    assert masked["name"] == "张*丰"
    assert data["name"] == "张三丰"  # the service still gets the real value, in memory
