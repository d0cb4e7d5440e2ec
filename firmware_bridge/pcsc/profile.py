"""Card profiles as data: which application to select, which files to read, how to decode fields.

A profile (``profiles/<name>.toml``) names an application AID, its elementary files (record files
read with READ RECORD, transparent files read with READ BINARY) and its fields: where each lives
(record number and optional TLV tag, or offset and length) and how it is encoded (ascii, gbk,
gb18030, bcd, hex, uint) and typed (str, int, date; ``codes`` maps a code to its label).
:func:`read_card` runs a profile against any ``transmit`` callable; :func:`encode_field` is the
inverse used by the virtual card, so simulator and driver share one description of the card.

Citizens' data stays in memory: :class:`CardData` holds the values and its ``repr`` masks the
fields the profile marks as ``privacy`` (id, name, address) so an accidental log line leaks nothing.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware_bridge.errors import ProfileError
from firmware_bridge.pcsc import apdu
from firmware_bridge.pcsc.sw import CardError, FileNotFound
from hall_common import privacy

PROFILE_DIR = Path(__file__).with_name("profiles")
ENCODINGS = ("ascii", "gbk", "gb18030", "bcd", "hex", "uint")
TYPES = ("str", "int", "date")
PRIVACY = {"id": privacy.mask_id, "name": privacy.mask_name, "address": privacy.mask_address}
#: Padding seen on real cards (issuers differ): stripped from the end of text and BCD values.
_PAD_BYTES = b"\x00\x20\xff"
#: READ BINARY chunk: short APDUs return at most 256 bytes; 0xF0 keeps T=0 readers happy too.
_BINARY_CHUNK = 0xF0


class WrongCard(CardError):
    """The inserted card does not carry the profile's application (another card type)."""

    code = "smartcard.wrong_card"
    citizen_message = "此卡不是本机支持的卡片，请换一张卡。"


class FieldDecodeError(CardError):
    """A field's bytes do not fit its declared encoding (damaged card or wrong profile)."""

    code = "smartcard.field"


@dataclass(frozen=True)
class FileSpec:
    """One elementary file: ``kind`` is ``record`` or ``binary``; ``size`` bounds binary reads."""

    id: str
    fid: bytes
    kind: str
    size: int | None = None
    doc: str = ""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a profile: location, encoding, type, privacy class and code table."""

    name: str
    file: str
    encoding: str
    length: int | None = None
    record: int | None = None
    tag: int | None = None
    offset: int = 0
    type: str = "str"
    privacy: str | None = None
    label: str = ""
    codes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    """A card application: AID, files by id, fields in reading order."""

    name: str
    title: str
    aid: bytes
    files: Mapping[str, FileSpec]
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec:
        """The field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


class CardData(dict[str, Any]):
    """Decoded fields by name (in memory only); ``masked()`` is what screens and logs may show."""

    def __init__(self, profile: Profile, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.profile = profile

    def masked(self) -> dict[str, Any]:
        """Values with privacy-class fields masked (hall_common.privacy rules)."""
        out: dict[str, Any] = {}
        for name, value in self.items():
            spec = self.profile.field(name)
            if spec.privacy and value is not None:
                out[name] = "*" * 8 if spec.type == "date" else PRIVACY[spec.privacy](str(value))
            else:
                out[name] = value
        return out

    def __repr__(self) -> str:
        # Why: a stray log.info("%r", data) or a crash dump must never show citizen data.
        return f"CardData({self.profile.name}, {self.masked()!r})"

    __str__ = __repr__


# -- loading -------------------------------------------------------------------------------------
def available() -> list[str]:
    """Names of the profiles shipped with the runtime."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a shipped profile by name (``social-security``) or a profile file by path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = PROFILE_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise ProfileError(str(name_or_path), "profile", "one of " + ", ".join(available()),
                              str(name_or_path))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(str(path), "<file>", "an existing profile file", "not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(str(path), "<syntax>", "valid TOML", str(e)) from None
    return parse_profile(raw, str(path))


def _hex(source: str, key: str, value: Any, size: int | None = None) -> bytes:
    try:
        out = bytes.fromhex(str(value))
    except ValueError:
        raise ProfileError(source, key, "hex digits", value) from None
    if not out or (size is not None and len(out) != size):
        raise ProfileError(source, key, f"{size or 'some'} bytes of hex", value)
    return out


def parse_profile(raw: Mapping[str, Any], source: str = "<profile>") -> Profile:
    """Validate a profile given as a dict; every mistake names the key and what was expected."""
    for key in ("name", "aid", "files", "fields"):
        if key not in raw:
            raise ProfileError(source, key, "a value", "missing")
    aid = _hex(source, "aid", raw["aid"])
    if not 5 <= len(aid) <= 16:  # ISO 7816-4: a DF name (AID) is 5 to 16 bytes
        raise ProfileError(source, "aid", "5 to 16 bytes", raw["aid"])
    files: dict[str, FileSpec] = {}
    for i, f in enumerate(raw["files"]):
        key = f"files[{i}]"
        kind = f.get("kind", "record")
        if kind not in ("record", "binary"):
            raise ProfileError(source, key + ".kind", "record or binary", kind)
        if "id" not in f or "fid" not in f:
            raise ProfileError(source, key, "id and fid", "missing")
        files[f["id"]] = FileSpec(f["id"], _hex(source, key + ".fid", f["fid"], 2), kind,
                                  f.get("size"), f.get("doc", ""))
    fields: list[FieldSpec] = []
    for i, f in enumerate(raw["fields"]):
        key = f"fields[{i}]"
        spec = _parse_field(f, files, source, key)
        if any(x.name == spec.name for x in fields):
            raise ProfileError(source, key + ".name", "a unique field name", spec.name)
        fields.append(spec)
    return Profile(str(raw["name"]), str(raw.get("title", raw["name"])), aid, files, tuple(fields))


def _parse_field(f: Mapping[str, Any], files: Mapping[str, FileSpec], source: str, key: str) -> FieldSpec:
    known = {"name", "file", "encoding", "length", "record", "tag", "offset", "type", "privacy",
             "label", "codes"}
    for k in f:
        if k not in known:
            raise ProfileError(source, f"{key}.{k}", "a known field key", "unknown key")
    if "name" not in f or "file" not in f or "encoding" not in f:
        raise ProfileError(source, key, "name, file and encoding", "missing")
    if f["file"] not in files:
        raise ProfileError(source, key + ".file", "a file id from [[files]]", f["file"])
    if f["encoding"] not in ENCODINGS:
        raise ProfileError(source, key + ".encoding", "one of " + ", ".join(ENCODINGS), f["encoding"])
    if f.get("type", "str") not in TYPES:
        raise ProfileError(source, key + ".type", "one of " + ", ".join(TYPES), f.get("type"))
    if f.get("privacy") not in (None, *PRIVACY):
        raise ProfileError(source, key + ".privacy", "id, name or address", f.get("privacy"))
    kind = files[f["file"]].kind
    if kind == "record" and not 1 <= f.get("record", 0) <= 254:
        raise ProfileError(source, key + ".record", "a record number 1..254 (record file)", f.get("record"))
    if kind == "binary" and ("record" in f or "length" not in f):
        raise ProfileError(source, key, "offset and length (binary file), no record", dict(f))
    length = f.get("length")
    if length is not None and not 1 <= length <= 255:
        raise ProfileError(source, key + ".length", "1..255 bytes", length)
    return FieldSpec(name=f["name"], file=f["file"], encoding=f["encoding"], length=length,
                     record=f.get("record"), tag=f.get("tag"), offset=f.get("offset", 0),
                     type=f.get("type", "str"), privacy=f.get("privacy"), label=f.get("label", ""),
                     codes=dict(f.get("codes", {})))


# -- decoding ------------------------------------------------------------------------------------
def parse_tlv(data: bytes) -> dict[int, bytes]:
    """Simple BER-TLV (1-2 byte tags, short/81/82 lengths); stops at 00/FF padding."""
    out: dict[int, bytes] = {}
    i = 0
    while i < len(data) and data[i] not in (0x00, 0xFF):
        tag = data[i]
        i += 1
        if tag & 0x1F == 0x1F:  # two-byte tag
            if i >= len(data):
                raise FieldDecodeError("TLV: truncated tag", action="re-insert the card")
            tag = (tag << 8) | data[i]
            i += 1
        if i >= len(data):
            raise FieldDecodeError(f"TLV: tag {tag:X} has no length", action="re-insert the card")
        length = data[i]
        i += 1
        if length in (0x81, 0x82):
            n = length - 0x80
            length = int.from_bytes(data[i:i + n], "big")
            i += n
        elif length > 0x80:
            raise FieldDecodeError(f"TLV: unsupported length byte {length:02X}", action="check the profile")
        if i + length > len(data):
            raise FieldDecodeError(f"TLV: tag {tag:X} runs past the record", action="re-insert the card")
        out[tag] = data[i:i + length]
        i += length
    return out


def _strip(raw: bytes) -> bytes:
    return raw.rstrip(_PAD_BYTES)


def decode_value(spec: FieldSpec, raw: bytes) -> Any:
    """Bytes of one field -> its typed value (str, int, datetime.date or None if blank)."""
    enc = spec.encoding
    try:
        if enc == "hex":
            text = raw.hex().upper()
        elif enc == "uint":
            text = str(int.from_bytes(raw, "big"))
        elif enc == "bcd":
            text = raw.hex().upper().rstrip("F")
            if not text.isdigit() and text:
                raise ValueError(f"non-decimal nibble in {text}")
        else:
            text = _strip(raw).decode(enc).strip()
    except (UnicodeDecodeError, ValueError) as e:
        raise FieldDecodeError(f"field {spec.name}: bytes do not fit {enc} ({e.__class__.__name__})",
                               action="the card may be damaged or of another generation") from None
    if text == "":
        return None
    if spec.codes:
        return spec.codes.get(text, text)
    if spec.type == "int":
        return int(text)
    if spec.type == "date":
        if not text.strip("0"):  # 00000000: an unpersonalised date, i.e. "not set"
            return None
        try:
            return dt.datetime.strptime(text, "%Y%m%d").date()
        except ValueError:
            raise FieldDecodeError(f"field {spec.name}: not a YYYYMMDD date",
                                   action="the card may be damaged") from None
    return text


def extract(spec: FieldSpec, record: bytes) -> Any:
    """Cut one field out of a record (TLV tag, then offset/length) and decode it."""
    raw = record
    if spec.tag is not None:
        items = parse_tlv(record)
        if spec.tag not in items:
            raise FieldDecodeError(f"field {spec.name}: tag {spec.tag:02X} missing from record",
                                   action="check the profile against this card")
        raw = items[spec.tag]
    end = None if spec.length is None else spec.offset + spec.length
    return decode_value(spec, raw[spec.offset:end])


# -- encoding (the virtual card) ----------------------------------------------------------------
def encode_value(spec: FieldSpec, value: Any) -> bytes:
    """Typed value -> the field's bytes, padded to ``length`` (inverse of :func:`decode_value`)."""
    if spec.codes and value in spec.codes.values():
        value = next(k for k, v in spec.codes.items() if v == value)
    if isinstance(value, dt.date):
        value = value.strftime("%Y%m%d")
    text = "" if value is None else str(value)
    length = spec.length
    if spec.encoding == "hex":
        raw = bytes.fromhex(text)
    elif spec.encoding == "uint":
        raw = int(text or 0).to_bytes(length or 4, "big")
    elif spec.encoding == "bcd":
        raw = bytes.fromhex(text + ("F" if len(text) % 2 else ""))
        return raw.ljust(length or len(raw), b"\xff")
    else:
        raw = text.encode(spec.encoding)
    if length is not None and len(raw) > length:
        raise ValueError(f"{spec.name}: {len(raw)} bytes do not fit {length}")
    return raw.ljust(length or len(raw), b"\x00")


def encode_record(spec: FieldSpec, value: Any) -> bytes:
    """One record holding one field, as a TLV if the field has a tag."""
    raw = encode_value(spec, value)
    if spec.tag is None:
        return raw
    return bytes((spec.tag, len(raw))) + raw


# -- reading a card ------------------------------------------------------------------------------
def read_card(profile: Profile, transmit: apdu.Transmit) -> CardData:
    """Select the application, read every file the fields need, return the typed fields."""
    try:
        apdu.transceive(transmit, apdu.select_aid(profile.aid), "SELECT application")
    except FileNotFound as e:
        raise WrongCard(f"the card has no {profile.name} application ({e.reason})",
                        action=f"insert a {profile.title}", sw=e.sw) from None
    values: dict[str, Any] = {}
    for file_id, spec in profile.files.items():
        wanted = [f for f in profile.fields if f.file == file_id]
        if not wanted:
            continue
        apdu.transceive(transmit, apdu.select_fid(spec.fid), f"SELECT {file_id}")
        if spec.kind == "record":
            records: dict[int, bytes] = {}
            for f in wanted:
                rec = f.record
                assert rec is not None  # parse_profile gives every field of a record file its record
                if rec not in records:
                    records[rec] = apdu.transceive(
                        transmit, apdu.read_record(rec), f"READ RECORD {file_id}/{rec}").data
                values[f.name] = extract(f, records[rec])
        else:
            size = max(f.offset + (f.length or 0) for f in wanted)
            content = _read_binary(transmit, file_id, size)
            for f in wanted:
                values[f.name] = extract(f, content)
    return CardData(profile, values)


def _read_binary(transmit: apdu.Transmit, file_id: str, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        chunk = apdu.transceive(transmit, apdu.read_binary(len(out), min(_BINARY_CHUNK, size - len(out))),
                                f"READ BINARY {file_id}@{len(out)}").data
        if not chunk:  # 6282 with no data: the file is shorter than the profile says
            break
        out += chunk
    return bytes(out)
