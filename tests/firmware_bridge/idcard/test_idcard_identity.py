"""The card's text block: layouts, GB 3304/GB 11643 validation, typed errors, masking."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.idcard.codes import NATIONS
from firmware_bridge.idcard.errors import IdentityError
from firmware_bridge.idcard.identity import (
    FOREIGN_LAYOUT,
    RESIDENT_LAYOUT,
    Identity,
    decode_ucs2,
    encode_text,
    id_check_digit,
    parse_additional_address,
    parse_text,
    replace,
)
from firmware_bridge.idcard.synthetic import synthetic_identity


def test_check_digit_known_value():
    # GB 11643's own worked example: 11010519491231002 -> X
    assert id_check_digit("11010519491231002") == "X"
    with pytest.raises(IdentityError):
        id_check_digit("1234")


def test_nation_table_is_complete():
    assert len(NATIONS) == 58
    assert NATIONS["01"] == "汉族" and NATIONS["56"] == "基诺族" and NATIONS["03"] == "回族"
    assert NATIONS["97"] == "其他" and NATIONS["98"] == "外国血统中国籍人士"


def test_layouts_cover_128_characters():
    for layout in (RESIDENT_LAYOUT, FOREIGN_LAYOUT):
        assert sum(n for _, _, n in layout) == 128
        assert [s for _, s, _ in layout] == sorted(s for _, s, _ in layout)


def _block(**fields: str) -> bytes:
    """A resident text block built by hand from the documented offsets."""
    values = {"name": "张三丰", "sex": "1", "nation": "01", "birth": "19900307",
              "address": "河南省郑州市金水区花园路1号", "id": "", "authority": "郑州市公安局金水分局",
              "from": "20100101", "to": "20300101", "marker": " "}
    values.update(fields)
    if not values["id"]:
        first17 = "410105" + values["birth"] + "013"
        values["id"] = first17 + id_check_digit(first17)
    text = (values["name"].ljust(15) + values["sex"] + values["nation"] + values["birth"]
            + values["address"].ljust(35) + values["id"] + values["authority"].ljust(15) + values["from"]
            + values["to"].ljust(8) + " " * 14 + values["marker"] + " " * 3)
    assert len(text) == 128
    return text.encode("utf-16-le")


def test_resident_block_built_by_hand():
    ident = parse_text(_block(), photo=b"W" * 1024)
    assert ident.card_type == "resident"
    assert (ident.name, ident.sex, ident.nation) == ("张三丰", "男", "汉族")
    assert ident.birth_date == dt.date(1990, 3, 7)
    assert ident.valid_from == dt.date(2010, 1, 1) and ident.valid_to == dt.date(2030, 1, 1)
    assert ident.address.startswith("河南省郑州市") and ident.photo == b"W" * 1024
    assert ident.age(dt.date(2020, 3, 6)) == 29 and ident.age(dt.date(2020, 3, 7)) == 30


def test_long_term_validity():
    assert parse_text(_block(to="长期")).valid_to is None


@pytest.mark.parametrize("fields,field", [
    ({"id": "410105199003070131"}, "id_number"),                   # wrong check digit (0 is right)
    ({"id": "41010519900308013" + id_check_digit("41010519900308013")}, "id_number"),  # birth differs
    ({"sex": "2"}, "id_number"),                                      # 17th digit odd = male
    ({"birth": "19900230", "id": "410105199002300131"}, "birth_date"),  # no 30 February
    ({"from": "2010AB01"}, "valid_from"),
    ({"to": "20000101"}, "valid_to"),                                 # before valid_from
    ({"nation": "77"}, "nation"),
    ({"sex": "5"}, "sex"),
    ({"marker": "Z"}, "card_type"),
])
def test_invalid_fields_are_typed_errors(fields, field):
    with pytest.raises(IdentityError) as exc:
        parse_text(_block(**fields))
    assert exc.value.field == field and exc.value.reason
    assert "410105" not in str(exc.value)  # no citizen data in the error text


@pytest.mark.parametrize("block", [
    b"\x41" * 255,                                   # odd length
    "A".encode("utf-16-le") + b"\x00\xD8" + "B".encode("utf-16-le") * 125,  # unpaired high surrogate
    b"\x00\xDC" * 128,                               # lone low surrogates
    "😀".encode("utf-16-le") * 64,                   # a valid pair is still not UCS-2
    "A".encode("utf-16-le") * 100,                   # too short
])
def test_invalid_ucs2_is_typed(block):
    with pytest.raises(IdentityError):
        parse_text(block)


def test_decode_ucs2_rejects_odd_length():
    with pytest.raises(IdentityError):
        decode_ucs2(b"abc")


@pytest.mark.parametrize("card_type", ["resident", "foreign_permanent", "hkmotw_permit"])
def test_synthetic_identities_roundtrip(card_type):
    rng = random.Random(7)
    for _ in range(200):
        ident = synthetic_identity(rng, card_type=card_type)
        assert parse_text(encode_text(ident), ident.photo) == ident
        if card_type != "foreign_permanent":
            assert ident.id_number[17] == id_check_digit(ident.id_number[:17])


def test_foreign_permanent_layout():
    ident = synthetic_identity(3, card_type="foreign_permanent")
    block = encode_text(ident)
    assert block[248:250].decode("utf-16-le") == "I"
    parsed = parse_text(block)
    assert parsed.card_type == "foreign_permanent" and parsed.english_name == ident.english_name
    assert len(parsed.id_number) == 15 and parsed.nationality == ident.nationality
    assert block[:120].decode("utf-16-le").rstrip() == ident.english_name


def test_hkmotw_permit_layout():
    ident = synthetic_identity(4, card_type="hkmotw_permit")
    block = encode_text(ident)
    text = block.decode("utf-16-le")
    assert text[124] == "J" and text[110:119].rstrip() == ident.pass_number and text[119:121] == ident.issue_count
    parsed = parse_text(block)
    assert parsed.card_type == "hkmotw_permit" and parsed.id_number[:2] in ("81", "82", "83")
    assert parsed.pass_number == ident.pass_number and parsed.nation == ""


def test_overrides_keep_the_id_number_consistent():
    ident = synthetic_identity(1, birth_date=dt.date(1955, 5, 5), sex="女")
    assert ident.id_number[6:14] == "19550505" and int(ident.id_number[16]) % 2 == 0
    assert parse_text(encode_text(ident)).birth_date == dt.date(1955, 5, 5)


def test_repr_str_and_masked_never_show_unmasked_data():
    ident = synthetic_identity(5)
    shown = repr(ident) + str(ident) + str(ident.masked()) + repr([ident])
    for secret in (ident.id_number, ident.name, ident.address, ident.birth_date.strftime("%Y%m%d")):
        assert secret not in shown
    m = ident.masked()
    assert m["id_number"] == ident.id_number[:3] + "*" * 11 + ident.id_number[-4:]
    assert m["name"][0] == ident.name[0] and "*" in m["name"]


def test_identity_is_frozen_and_replace_checks_names():
    ident = synthetic_identity(6)
    with pytest.raises(AttributeError):
        ident.name = "x"
    with pytest.raises(TypeError):
        replace(ident, shoe_size=42)


def test_additional_address():
    assert parse_additional_address("郑州市二七区".ljust(35).encode("utf-16-le")) == "郑州市二七区"
    with pytest.raises(IdentityError):
        parse_additional_address(b"\x00\xD8" * 35)


def test_encode_rejects_overlong_fields():
    ident = replace(synthetic_identity(8), name="名" * 16)
    with pytest.raises(IdentityError):
        encode_text(ident)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=300))
def test_parse_text_only_returns_identity_or_typed_error(block):
    try:
        assert isinstance(parse_text(block), Identity)
    except IdentityError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 10**6))
def test_single_byte_corruption_of_a_valid_block(pos, value, seed):
    block = bytearray(encode_text(synthetic_identity(seed)))
    block[pos] = value
    try:
        parse_text(bytes(block))
    except IdentityError:
        pass
