"""The card's 256-byte UCS-2LE text block <-> a typed, validated :class:`Identity` (pure, in memory).

Three layouts share the block, told apart by the card-type marker at character 124 (byte 248):
a space for the resident ID card, ``I`` for the Foreigner's Permanent Residence ID card and ``J``
for the residence permit of Hong Kong, Macao and Taiwan residents. Layouts are data
(field, start, length in characters). Validation: GB 11643 MOD 11-2 check digit, the ID's birth
date and sex digits against the card's fields, real calendar dates, known codes. Nothing here
writes anywhere; ``repr``/``str`` of an identity show only masked values.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from firmware_bridge.idcard.codes import NATIONS, SEXES
from firmware_bridge.idcard.errors import IdentityError
from hall_common import privacy

TEXT_CHARS = 128
TYPE_MARKER_AT = 124  # character index of the card-type marker (byte 248)
LONG_TERM = "长期"  # valid_to of a long-term (no expiry) card

#: (field, start, length) in characters. ``reserved`` areas are listed so encode pads them.
RESIDENT_LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("name", 0, 15), ("sex", 15, 1), ("nation", 16, 2), ("birth_date", 18, 8),
    ("address", 26, 35), ("id_number", 61, 18), ("authority", 79, 15),
    ("valid_from", 94, 8), ("valid_to", 102, 8), ("reserved", 110, 18),
)
FOREIGN_LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("english_name", 0, 60), ("sex", 60, 1), ("id_number", 61, 15), ("nationality", 76, 3),
    ("name", 79, 15), ("valid_from", 94, 8), ("valid_to", 102, 8), ("birth_date", 110, 8),
    ("version", 118, 2), ("authority", 120, 4), ("card_type_marker", 124, 1), ("reserved", 125, 3),
)
PERMIT_LAYOUT: tuple[tuple[str, int, int], ...] = RESIDENT_LAYOUT[:-1] + (
    ("pass_number", 110, 9), ("issue_count", 119, 2), ("reserved", 121, 3),
    ("card_type_marker", 124, 1), ("reserved2", 125, 3),
)
LAYOUTS = {"resident": RESIDENT_LAYOUT, "foreign_permanent": FOREIGN_LAYOUT, "hkmotw_permit": PERMIT_LAYOUT}
MARKERS = {"I": "foreign_permanent", "J": "hkmotw_permit"}
_MARKER_OF = {v: k for k, v in MARKERS.items()}

#: GB 11643 MOD 11-2 weights of the first 17 digits, and the check character by remainder.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The GB 11643 MOD 11-2 check character ("0"-"9" or "X") of 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise IdentityError("an ID number needs 17 digits before its check character", field="id_number")
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


@dataclass(frozen=True, repr=False)
class Identity:
    """One card holder, validated; lives in memory for one citizen session only."""

    card_type: str
    name: str
    sex: str
    birth_date: dt.date
    id_number: str
    valid_from: dt.date
    valid_to: dt.date | None  # None: 长期 (long-term)
    english_name: str = ""
    nation: str = ""
    address: str = ""
    authority: str = ""
    pass_number: str = ""
    issue_count: str = ""
    nationality: str = ""  # ISO 3166 alpha-3 (foreign permanent residents)
    photo: bytes = b""  # the card's compressed WLT image, raw
    fingerprint: bytes = b""
    additional_address: str = ""

    def age(self, on: dt.date) -> int:
        """Full years of age on ``on``."""
        years = on.year - self.birth_date.year
        return years - ((on.month, on.day) < (self.birth_date.month, self.birth_date.day))

    def masked(self) -> dict[str, Any]:
        """What a screen or a ticket may show (hall_common.privacy rules); no birth date, no photo."""
        return {
            "card_type": self.card_type,
            "name": privacy.mask_name(self.name),
            "english_name": privacy.mask_name(self.english_name),
            "sex": self.sex,
            "nation": self.nation,
            "nationality": self.nationality,
            "id_number": privacy.mask_id(self.id_number),
            "address": privacy.mask_address(self.address),
            "authority": self.authority,
            "pass_number": privacy.mask_id(self.pass_number),
            "valid_to": self.valid_to.isoformat() if self.valid_to else LONG_TERM,
            "photo_bytes": len(self.photo),
        }

    def __repr__(self) -> str:
        m = self.masked()
        return f"Identity({m['card_type']}, {m['name'] or m['english_name']}, {m['id_number']})"

    __str__ = __repr__


# -- decoding -----------------------------------------------------------------------------------

def decode_ucs2(block: bytes, what: str = "text") -> str:
    """Decode UCS-2LE strictly; raise :class:`IdentityError` on odd length or a lone surrogate."""
    if len(block) % 2:
        raise IdentityError(f"{what} block has an odd length ({len(block)} bytes)", field=what)
    try:
        text = bytes(block).decode("utf-16-le", errors="strict")
    except UnicodeDecodeError as e:
        raise IdentityError(f"{what} block is not valid UCS-2 at byte {e.start}", field=what) from None
    if any(0xD800 <= ord(c) <= 0xDFFF or ord(c) > 0xFFFF for c in text):
        # UCS-2 has no surrogate pairs; a decoded pair means the block is not from a card.
        raise IdentityError(f"{what} block holds a surrogate pair (not UCS-2)", field=what)
    return text


def _date(value: str, name: str) -> dt.date:
    if len(value) != 8 or not value.isascii() or not value.isdigit():
        raise IdentityError(f"{name} is not a YYYYMMDD date", field=name)
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise IdentityError(f"{name} is not a real calendar date", field=name) from None


def _fields(text: str, layout: tuple[tuple[str, int, int], ...]) -> dict[str, str]:
    return {name: text[start:start + n].strip(" \x00") for name, start, n in layout}


def _validate_id18(id_number: str, birth: dt.date, sex_code: str) -> None:
    if len(id_number) != 18 or not id_number.isascii():
        raise IdentityError("the ID number is not 18 characters", field="id_number")
    if not id_number[:17].isdigit() or id_number[17] not in "0123456789X":
        raise IdentityError("the ID number has characters other than digits and a final X", field="id_number")
    if id_check_digit(id_number[:17]) != id_number[17]:
        raise IdentityError("the ID number's check digit is wrong (GB 11643 MOD 11-2)", field="id_number",
                            action="verify the card by hand: it may be forged or misread")
    if id_number[6:14] != birth.strftime("%Y%m%d"):
        raise IdentityError("the ID number's birth date differs from the card's birth date", field="id_number")
    if sex_code in ("1", "2") and (int(id_number[16]) % 2 == 1) != (sex_code == "1"):
        raise IdentityError("the ID number's sex digit differs from the card's sex", field="id_number")


def _sex(code: str) -> str:
    if code not in SEXES:
        raise IdentityError("unknown sex code", field="sex")
    return SEXES[code]


def parse_text(block: bytes, photo: bytes = b"", fingerprint: bytes = b"") -> Identity:
    """Parse and validate a 256-byte text block (plus the raw photo/fingerprint) into an Identity."""
    text = decode_ucs2(block)
    if len(text) != TEXT_CHARS:
        raise IdentityError(f"text block has {len(text)} characters, expected {TEXT_CHARS}", field="text")
    marker = text[TYPE_MARKER_AT]
    card_type = MARKERS.get(marker, "resident")
    if card_type == "resident" and marker not in " \x00":
        raise IdentityError("unknown card-type marker", field="card_type",
                            action="this card type is not supported yet; serve the citizen at the counter")
    f = _fields(text, LAYOUTS[card_type])
    birth = _date(f["birth_date"], "birth_date")
    valid_from = _date(f["valid_from"], "valid_from")
    valid_to = None if f["valid_to"] == LONG_TERM else _date(f["valid_to"], "valid_to")
    if valid_to is not None and valid_to < valid_from:
        raise IdentityError("valid_to is before valid_from", field="valid_to")
    if birth > valid_from:
        raise IdentityError("the birth date is after the issue date", field="birth_date")
    sex = _sex(f["sex"])
    if not f["name"] and not f.get("english_name"):
        raise IdentityError("the card carries no name", field="name")
    common: dict[str, Any] = dict(card_type=card_type, name=f["name"], sex=sex, birth_date=birth,
                                  valid_from=valid_from, valid_to=valid_to, authority=f["authority"],
                                  photo=bytes(photo), fingerprint=bytes(fingerprint))
    if card_type == "foreign_permanent":
        number, nationality = f["id_number"], f["nationality"]
        if len(number) != 15 or not number.isascii() or not number.isalnum():
            raise IdentityError("the permanent residence number is not 15 letters/digits", field="id_number")
        if len(nationality) != 3 or not nationality.isascii() or not nationality.isalpha():
            raise IdentityError("the nationality is not a 3-letter code", field="nationality")
        return Identity(english_name=f["english_name"], id_number=number, nationality=nationality, **common)
    _validate_id18(f["id_number"], birth, f["sex"])
    if card_type == "resident":
        if f["nation"] not in NATIONS:
            raise IdentityError("unknown GB 3304 nation code", field="nation")
        return Identity(id_number=f["id_number"], nation=NATIONS[f["nation"]], address=f["address"], **common)
    if f["id_number"][:2] not in ("81", "82", "83"):
        raise IdentityError("a Hong Kong/Macao/Taiwan permit number starts with 81, 82 or 83", field="id_number")
    if f["issue_count"] and not f["issue_count"].isdigit():
        raise IdentityError("the issue count is not a number", field="issue_count")
    nation = NATIONS.get(f["nation"], "")  # why: permits leave the nation field blank
    return Identity(id_number=f["id_number"], nation=nation, address=f["address"],
                    pass_number=f["pass_number"], issue_count=f["issue_count"], **common)


def parse_additional_address(data: bytes) -> str:
    """The additional (changed) address of a 30 03 answer."""
    return decode_ucs2(data, "additional_address").strip(" \x00")


# -- encoding (for the simulator and tests) ----------------------------------------------------

_NATION_CODE = {v: k for k, v in NATIONS.items()}
_SEX_CODE = {v: k for k, v in SEXES.items()}


def encode_text(identity: Identity) -> bytes:
    """The card's 256-byte UCS-2LE text block for ``identity`` (space padded, fixed width)."""
    values = {
        "name": identity.name, "english_name": identity.english_name,
        "sex": _SEX_CODE.get(identity.sex, identity.sex),
        "nation": _NATION_CODE.get(identity.nation, identity.nation),
        "birth_date": identity.birth_date.strftime("%Y%m%d"), "address": identity.address,
        "id_number": identity.id_number, "authority": identity.authority,
        "valid_from": identity.valid_from.strftime("%Y%m%d"),
        "valid_to": identity.valid_to.strftime("%Y%m%d") if identity.valid_to else LONG_TERM,
        "nationality": identity.nationality, "pass_number": identity.pass_number,
        "issue_count": identity.issue_count, "version": "01" if identity.card_type == "foreign_permanent" else "",
        "card_type_marker": _MARKER_OF.get(identity.card_type, " "),
    }
    if identity.card_type not in LAYOUTS:
        raise IdentityError(f"unknown card type {identity.card_type!r}", field="card_type")
    chars = [" "] * TEXT_CHARS
    for name, start, n in LAYOUTS[identity.card_type]:
        value = values.get(name, "") or ""
        if len(value) > n:
            raise IdentityError(f"{name} is longer than its {n}-character field", field=name)
        chars[start:start + len(value)] = list(value)
    return "".join(chars).encode("utf-16-le")


def replace(identity: Identity, **changes: Any) -> Identity:
    """A copy of ``identity`` with fields changed (dataclasses.replace, kept here for callers)."""
    known = {f.name for f in fields(Identity)}
    bad = set(changes) - known
    if bad:
        raise TypeError(f"unknown Identity fields: {sorted(bad)}")
    return Identity(**{**{f.name: getattr(identity, f.name) for f in fields(Identity)}, **changes})
