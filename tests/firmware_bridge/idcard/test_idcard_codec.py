"""The SAM/GB frame codec: tables, every split point, merged frames, garbage, bad length/checksum."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.idcard import codec
from firmware_bridge.idcard.errors import (
    FrameChecksumError,
    FrameLengthError,
    FrameTruncated,
    PayloadError,
    ProtocolError,
    StatusError,
)
from firmware_bridge.idcard.status import STATUSES, status_info


def xor_all(data: bytes) -> int:
    out = 0
    for b in data:
        out ^= b
    return out


@pytest.mark.parametrize("cmd,param,data", [
    (0x10, 0xFF, b""), (0x11, 0xFF, b""), (0x12, 0xFF, b""), (0x20, 0x01, b""), (0x20, 0x02, b""),
    (0x30, 0x01, b""), (0x30, 0x10, b""), (0x30, 0x03, b""), (0x61, 0xFF, b"\x01\x02\x03"),
])
def test_command_layout(cmd, param, data):
    frame = codec.encode_command(cmd, param, data)
    assert frame[:5] == b"\xAA\xAA\xAA\x96\x69"
    length = int.from_bytes(frame[5:7], "big")
    assert length == len(frame) - 7 == 2 + len(data) + 1  # cmd, param, data, checksum
    assert frame[7:9] == bytes([cmd, param]) and frame[9:-1] == data
    assert frame[-1] == xor_all(frame[5:-1])


@pytest.mark.parametrize("sw3,data", [(0x90, b""), (0x9F, b"\0\0\0\0"), (0x80, b""), (0x90, bytes(range(256)) * 9)])
def test_response_layout_and_roundtrip(sw3, data):
    frame = codec.encode_response(0, 0, sw3, data)
    assert int.from_bytes(frame[5:7], "big") == 3 + len(data) + 1
    assert frame[-1] == xor_all(frame[5:-1])
    (resp,) = codec.Decoder().feed(frame)
    assert (resp.sw1, resp.sw2, resp.sw3, resp.data) == (0, 0, sw3, data)


def test_find_card_frame_matches_the_checksum_rule_by_hand():
    # 00 03 20 01 -> 00 ^ 03 ^ 20 ^ 01 = 0x22
    assert codec.encode_command(*codec.FIND_CARD)[-3:] == bytes([0x20, 0x01, 0x22])


def test_every_split_point_of_a_read_answer():
    frame = codec.encode_response(0, 0, 0x90, codec.encode_read_data(bytes(256), bytes(1024)))
    for cut in range(len(frame) + 1):
        d = codec.Decoder()
        items = d.feed(frame[:cut]) + d.feed(frame[cut:])
        assert len(items) == 1 and isinstance(items[0], codec.Response), cut
        assert d.pending == 0


def test_byte_by_byte_and_merged_frames():
    frames = [codec.encode_response(0, 0, s) for s in (0x90, 0x9F, 0x80)]
    d = codec.Decoder()
    out = []
    for b in b"".join(frames):
        out += d.feed(bytes([b]))
    assert [r.sw3 for r in out] == [0x90, 0x9F, 0x80]
    assert [r.sw3 for r in codec.Decoder().feed(b"".join(frames))] == [0x90, 0x9F, 0x80]


def test_garbage_between_frames_is_skipped():
    a, b = codec.encode_response(0, 0, 0x90), codec.encode_response(0, 0, 0x80)
    d = codec.Decoder()
    out = d.feed(b"\x00\xAA\xAA\x13" + a + b"\xAA\xAA\xAA\x96" + b"junk" + b)
    assert [r.sw3 for r in out] == [0x90, 0x80]
    assert d.skipped_bytes == 4 + 4 + 4


def test_preamble_split_across_reads_is_kept():
    frame = codec.encode_response(0, 0, 0x90)
    d = codec.Decoder()
    assert d.feed(b"zz" + frame[:3]) == []
    assert d.pending == 3
    assert [r.sw3 for r in d.feed(frame[3:])] == [0x90]


def test_bad_checksum_is_typed_and_the_next_frame_still_decodes():
    bad = bytearray(codec.encode_response(0, 0, 0x90))
    bad[-1] ^= 0xFF
    out = codec.Decoder().feed(bytes(bad) + codec.encode_response(0, 0, 0x9F))
    assert isinstance(out[0], FrameChecksumError) and out[0].code == "idcard.protocol.checksum"
    assert isinstance(out[1], codec.Response) and out[1].sw3 == 0x9F


@pytest.mark.parametrize("length", [0, 1, 3, codec.MAX_LEN + 1, 0xFFFF])
def test_bad_length_is_rejected_at_once_without_waiting(length):
    head = codec.PREAMBLE + length.to_bytes(2, "big")
    good = codec.encode_response(0, 0, 0x90)
    out = codec.Decoder().feed(head + good)
    assert isinstance(out[0], FrameLengthError)
    assert isinstance(out[1], codec.Response)


def test_a_frame_hidden_behind_a_corrupted_length_is_found():
    # A length that swallows the next frame: the checksum fails, resync finds the real frame.
    corrupt = codec.PREAMBLE + (20).to_bytes(2, "big") + b"\x00\x00"
    good = codec.encode_response(0, 0, 0x9F, b"\0\0\0\0")
    out = codec.Decoder().feed(corrupt + good + bytes(20))
    assert any(isinstance(i, codec.Response) and i.sw3 == 0x9F for i in out)


def test_truncated_frame_reported_on_flush_and_garbage_is_not():
    d = codec.Decoder()
    assert d.feed(codec.encode_response(0, 0, 0x90, bytes(100))[:50]) == []
    assert d.in_frame()
    (err,) = d.flush()
    assert isinstance(err, FrameTruncated) and d.pending == 0
    d.feed(b"\xAA")
    assert d.flush() == []


def test_command_direction():
    frame = codec.encode_command(*codec.READ_BASE)
    (cmd,) = codec.Decoder("command").feed(frame)
    assert cmd.key == codec.READ_BASE and cmd.data == b""
    with pytest.raises(ValueError):
        codec.Decoder("sideways")


def test_oversized_body_cannot_be_encoded():
    with pytest.raises(FrameLengthError):
        codec.encode_response(0, 0, 0x90, bytes(codec.MAX_LEN))


# -- status table ------------------------------------------------------------------------------

@pytest.mark.parametrize("sw3,name,ok", [
    (0x90, "ok", True), (0x9F, "card_found", True), (0x80, "find_failed", False),
    (0x81, "select_failed", False), (0x41, "read_failed", False), (0x60, "sam_self_test_failed", False),
    (0x91, "no_content", False), (0x10, "checksum_error", False), (0x11, "length_error", False),
    (0x21, "command_error", False), (0x23, "unauthorised", False), (0x24, "unrecognised", False),
    (0x31, "card_auth_reader_failed", False), (0x32, "reader_auth_card_failed", False),
    (0x33, "verification_failed", False), (0x40, "no_card_content", False), (0x47, "insufficient_rights", False),
])
def test_status_table(sw3, name, ok):
    info = status_info(sw3)
    assert (info.name, info.ok) == (name, ok)
    assert info.reason


def test_unknown_status_is_typed_not_an_exception():
    info = status_info(0x55)
    assert info.name == "unknown_0x55" and not info.ok
    resp = codec.Response(0, 0, 0x55)
    with pytest.raises(StatusError) as exc:
        resp.raise_for_status()
    assert exc.value.code == "idcard.status.unknown_0x55"
    assert all(s.action for s in STATUSES.values() if not s.ok and s.name not in ("find_failed", "no_content"))


# -- read payload ------------------------------------------------------------------------------

def test_read_payload_roundtrip_with_and_without_fingerprint():
    text, photo, fp = bytes(range(256)), b"\x01" * 1024, b"\x02" * 1024
    p = codec.parse_read_data(codec.encode_read_data(text, photo))
    assert (p.text, p.photo, p.fingerprint) == (text, photo, b"")
    p = codec.parse_read_data(codec.encode_read_data(text, photo, fp), fingerprint=True)
    assert (p.text, p.photo, p.fingerprint) == (text, photo, fp)
    assert "\\x01" not in repr(p)


@pytest.mark.parametrize("data", [b"", b"\x01", codec.encode_read_data(bytes(256), bytes(1024))[:-1],
                                  codec.encode_read_data(bytes(200), bytes(1024))])
def test_truncated_or_inconsistent_payload_is_typed(data):
    with pytest.raises(PayloadError):
        codec.parse_read_data(data)


def test_sam_id_format():
    from firmware_bridge.idcard.simulator import SAM_ID
    assert codec.format_sam_id(SAM_ID) == "05.01-20240101-0000123456-0987654321"
    with pytest.raises(PayloadError):
        codec.format_sam_id(b"short")


# -- property: only frames or typed errors, never an exception or a hang -----------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=64),
                          st.sampled_from([codec.encode_response(0, 0, 0x90), codec.encode_command(0x20, 1),
                                           codec.PREAMBLE, codec.PREAMBLE + b"\xff\xff",
                                           codec.PREAMBLE + b"\x00\x05"])), max_size=12),
       st.sampled_from(["response", "command"]), st.integers(1, 64))
def test_decoder_only_yields_frames_or_typed_errors(parts, direction, chunk):
    data = b"".join(parts)
    d = codec.Decoder(direction)
    out = []
    for i in range(0, len(data), chunk):
        out += d.feed(data[i:i + chunk])
    out += d.flush()
    assert all(isinstance(x, (codec.Command, codec.Response, ProtocolError)) for x in out)
    assert d.pending == 0
