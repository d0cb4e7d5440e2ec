"""Tests of the serial scanner codec: every split point, merged frames, noise, encodings, traces."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.scanner.codec import (
    TERMINATORS,
    ScanCodec,
    ScanEncodingError,
    ScanFramingError,
    ScanTooLong,
    encode_scan,
)

TRACES = Path(__file__).resolve().parents[2] / "traces" / "scanner"
FRAMINGS = [
    dict(prefix=b"", suffix=b"", terminator="CR"),
    dict(prefix=b"", suffix=b"", terminator="LF"),
    dict(prefix=b"", suffix=b"", terminator="CRLF"),
    dict(prefix=b"", suffix=b"", terminator="TAB"),
    dict(prefix=b"\x02", suffix=b"\x03", terminator="CR"),
    dict(prefix=b"\x02", suffix=b"\x03", terminator="NONE"),
    dict(prefix=b"<<", suffix=b">>", terminator="CRLF"),
]


def feed_all(codec: ScanCodec, chunks) -> list:
    out = []
    for c in chunks:
        out += codec.feed(c)
    return out + codec.flush()


@pytest.mark.parametrize("framing", FRAMINGS, ids=lambda f: f"{f['prefix']!r}-{f['terminator']}")
@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_every_split_point(framing, encoding):
    text = "KQ1:abc-中文_9"
    wire = encode_scan(text, encoding=encoding, **framing)
    for cut in range(len(wire) + 1):
        codec = ScanCodec(encoding=encoding, **framing)
        assert feed_all(codec, [wire[:cut], wire[cut:]]) == [text], cut


@pytest.mark.parametrize("framing", [f for f in FRAMINGS if f["terminator"] != "NONE" or f["suffix"]])
def test_merged_frames_in_one_read(framing):
    texts = ["SQ20240101000001", "https://a.example/", "中文"]
    wire = b"".join(encode_scan(t, **framing) for t in texts)
    assert ScanCodec(**framing).feed(wire) == texts


def test_no_terminator_no_suffix_ends_on_idle():
    codec = ScanCodec(terminator="NONE")
    assert codec.feed(b"SQ2024") == []
    assert codec.feed(b"0101000001") == []
    assert codec.flush() == ["SQ20240101000001"]
    assert codec.flush() == []


def test_noise_before_prefix_and_nuls_are_dropped_and_counted():
    codec = ScanCodec(prefix=b"\x02", suffix=b"\x03")
    out = codec.feed(b"\xff\x13garbage\x02SQ2024\x000101000001\x03junk\r")
    assert out == ["SQ20240101000001"]
    assert codec.noise_bytes == len(b"\xff\x13garbage") + 1 + len(b"junk")


def test_line_without_prefix_is_noise_not_a_scan():
    codec = ScanCodec(prefix=b"\x02", suffix=b"\x03")
    assert codec.feed(b"\xfe\xfd random\r\x02OK12\x03\r") == ["OK12"]


def test_prefix_without_suffix_is_a_framing_error_then_recovers():
    codec = ScanCodec(prefix=b"\x02", suffix=b"\x03")
    out = codec.feed(b"\x02trunc\r\x02good\x03\r")
    assert isinstance(out[0], ScanFramingError) and out[1:] == ["good"]


def test_invalid_utf8_is_an_encoding_error_for_that_frame_only():
    codec = ScanCodec()
    out = codec.feed("中文".encode("gb18030") + b"\r" + "中文".encode() + b"\r")
    assert isinstance(out[0], ScanEncodingError) and out[0].action
    assert out[1] == "中文"


def test_control_characters_are_line_noise_but_gs_is_allowed():
    codec = ScanCodec()
    out = codec.feed(b"ab\x07cd\r" + b"01\x1d21\r")
    assert isinstance(out[0], ScanEncodingError)
    assert out[1] == "01\x1d21"


def test_crlf_sent_to_a_cr_codec_leaves_no_stray_lf():
    codec = ScanCodec(terminator="CR")
    assert codec.feed(b"abcd\r\nefgh\r\n") == ["abcd", "efgh"]


def test_over_long_frame_reported_once_then_skipped_to_terminator():
    codec = ScanCodec(max_length=16)
    out = []
    for _ in range(10):
        out += codec.feed(b"x" * 10)
    assert len(out) == 1 and isinstance(out[0], ScanTooLong)
    assert codec.feed(b"tail\rnext\r") == ["next"]
    assert len(codec._buf) == 0


def test_over_long_without_terminator_is_bounded_and_reported_once():
    codec = ScanCodec(terminator="NONE", max_length=8)
    out = codec.feed(b"y" * 100) + codec.feed(b"y" * 100)
    assert [type(e) for e in out] == [ScanTooLong]
    assert codec.flush() == []
    codec.feed(b"short")
    assert codec.flush() == ["short"]


def test_bad_configuration_raises_at_construction():
    with pytest.raises(ValueError):
        ScanCodec(terminator="ETX")
    with pytest.raises(LookupError):
        ScanCodec(encoding="no-such-codec")


@pytest.mark.parametrize("trace", sorted(TRACES.glob("*.json")), ids=lambda p: p.stem)
def test_recorded_traces(trace):
    spec = json.loads(trace.read_text(encoding="utf-8"))
    o = spec["options"]
    codec = ScanCodec(prefix=o["prefix"].encode("latin-1"), suffix=o["suffix"].encode("latin-1"),
                      terminator=o["terminator"], encoding=o["encoding"])
    out = feed_all(codec, [bytes.fromhex(h) for h in spec["chunks_hex"]])
    got = [r if isinstance(r, str) else {"error": r.code} for r in out]
    assert got == spec["expected"]


_texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
                 min_size=1, max_size=40).filter(lambda s: s.strip("\r\n") == s)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(_texts, min_size=1, max_size=5), cuts=st.lists(st.integers(0, 400), max_size=8),
       framing=st.sampled_from([f for f in FRAMINGS if f["terminator"] != "NONE"]),
       encoding=st.sampled_from(["utf-8", "gb18030"]))
def test_any_chunking_gives_the_same_scans(texts, cuts, framing, encoding):
    end = TERMINATORS[framing["terminator"]]
    texts = [t for t in texts if end not in t.encode(encoding) and (not framing["suffix"] or framing["suffix"].decode() not in t)]
    wire = b"".join(encode_scan(t, encoding=encoding, **framing) for t in texts)
    points = sorted({min(c, len(wire)) for c in cuts})
    chunks = [wire[a:b] for a, b in zip([0] + points, points + [len(wire)])]
    assert feed_all(ScanCodec(encoding=encoding, **framing), chunks) == texts


@settings(max_examples=200, deadline=None)
@given(data=st.lists(st.binary(max_size=300), max_size=10),
       framing=st.sampled_from(FRAMINGS), encoding=st.sampled_from(["utf-8", "gb18030"]))
def test_random_bytes_never_raise_and_stay_bounded(data, framing, encoding):
    codec = ScanCodec(encoding=encoding, max_length=64, **framing)
    for out in [codec.feed(d) for d in data] + [codec.flush()]:
        for r in out:
            assert isinstance(r, (str, ScanTooLong, ScanEncodingError, ScanFramingError))
            if isinstance(r, str):
                assert r and len(r.encode(encoding)) <= 64
    assert len(codec._buf) <= 64 + 2 + 2 + 2


@settings(max_examples=100, deadline=None)
@given(noise=st.binary(max_size=50), text=_texts)
def test_noise_before_a_framed_scan_does_not_lose_it(noise, text):
    noise = noise.replace(b"\x02", b"").replace(b"\r", b"")
    codec = ScanCodec(prefix=b"\x02", suffix=b"\x03")
    out = codec.feed(noise + encode_scan(text, prefix=b"\x02", suffix=b"\x03"))
    if "\x03" not in text and "\x02" not in text:
        assert out == [text]
