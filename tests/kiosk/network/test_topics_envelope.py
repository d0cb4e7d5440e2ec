"""Contract core: topic building/parsing (no personal data possible) and the envelope."""
import json

import pytest

from kiosk.network import envelope, topics


def test_topic_round_trip():
    assert topics.parse(topics.req("ZM-0001", "checkin")) == topics.Parsed("req", "ZM-0001", "checkin")
    for kind in ("res", "evt", "cmd", "state", "telemetry"):
        assert topics.parse(getattr(topics, kind)("ZM-0001")).kind == kind
    assert topics.parse(topics.bcast("410122")) == topics.Parsed("bcast", region="410122")


@pytest.mark.parametrize("bad", ["", "a", "张三", "410122198001011234/x", "ZM 01", "a+b", "#"])
def test_bad_terminal_ids_rejected(bad):
    with pytest.raises(topics.TopicError):
        topics.res(bad)


def test_subscriptions_follow_the_four_levels():
    subs = topics.terminal_subscriptions("ZM-0001", ["410100", "410122", "410122203"])
    assert "kiosk/v1/bcast/410100" in subs and "kiosk/v1/bcast/410122203" in subs
    assert "kiosk/v1/ZM-0001/res" in subs and "kiosk/v1/ZM-0001/cmd" in subs
    shared = topics.central_subscriptions()
    assert all(s.startswith("$share/central/") for s in shared if not s.endswith("/state"))


def test_envelope_round_trip_and_response_correlation():
    req = envelope.request("ZM-0001", "checkin", {"appointment_id": "AP1"}, idem="k1")
    back = envelope.Envelope.from_bytes(req.to_bytes())
    assert back == req
    res = envelope.response(req, {"queue_no": "A001"})
    assert res.corr == req.id and res.body == {"ok": True, "result": {"queue_no": "A001"}}
    err = envelope.response(req, error={"code": "too_late", "message": "x"})
    assert err.body["ok"] is False


@pytest.mark.parametrize("raw", [b"", b"\xff", b"[]", b"{}", json.dumps({"type": "req"}).encode(),
                                 json.dumps({"type": "nope", "op": "x", "terminal": "T-01", "id": "1",
                                             "v": 1, "ts": "t"}).encode(),
                                 json.dumps({"type": "req", "op": "x", "terminal": "T-01", "id": "1",
                                             "v": 2, "ts": "t"}).encode(),
                                 b"{" + b" " * (envelope.MAX_BYTES + 1) + b"}"])
def test_bad_envelopes_are_typed_errors(raw):
    with pytest.raises(envelope.EnvelopeError):
        envelope.Envelope.from_bytes(raw)


# --- hostile bytes: from_bytes raises EnvelopeError and nothing else, and names the request when it can ---

_REQ = envelope.request("ZM-0001", "checkin", {"appointment_id": "AP1"}, idem="k1").to_dict()


def _req() -> dict:
    return dict(_REQ)


def _raw(**fields) -> bytes:
    return json.dumps(_req() | fields).encode("ascii")  # ensure_ascii: a surrogate travels as a \u escape


def _error(raw: bytes) -> envelope.EnvelopeError:
    with pytest.raises(envelope.EnvelopeError) as e:
        envelope.Envelope.from_bytes(raw)
    return e.value


@pytest.mark.parametrize("fields", [{"v": True}, {"v": 1.5}, {"v": "1"}, {"terminal": None}, {"terminal": 123},
                                    {"terminal": {}}, {"ts": 5}, {"op": ["checkin"]}, {"corr": 5}, {"idem": []},
                                    {"body": None}, {"body": []}, {"type": "nope"},
                                    {"body": {"text": "\ud800"}}, {"body": {"text": "a\udfffb"}}])
def test_a_bad_field_is_an_envelope_error_that_still_names_the_request(fields):
    e = _error(_raw(**fields))
    assert e.id == _req()["id"]
    assert e.idem == "k1" or "idem" in fields
    assert e.op == "checkin" or "op" in fields


@pytest.mark.parametrize("written", [b"1.0", b"1e0", b"10E-1"])
def test_the_number_1_written_with_a_fraction_or_exponent_is_version_1(written):
    # The schema's v (integer, const 1) takes 1.0, and JSON has one number type: a JavaScript peer
    # cannot tell 1.0 from 1. true (a bool, == 1 in Python) and 1.5 are not version 1 (above).
    env = envelope.Envelope.from_bytes(_raw().replace(b'"v": 1,', b'"v": ' + written + b","))
    assert env.v == 1 and type(env.v) is int


def test_a_surrogate_pair_is_one_character_and_fine():
    raw = _raw(body={"text": "😀"})
    assert b"\\ud83d\\ude00" in raw
    assert envelope.Envelope.from_bytes(raw).body == {"text": "😀"}


def test_a_huge_integer_is_an_envelope_error_that_names_the_request():
    raw = _raw(body={"n": 0}).replace(b'"n": 0', b'"n": ' + b"9" * 5000)
    e = _error(raw)
    assert "integer" in str(e) and e.id == _req()["id"]
    assert _error(_raw(body={"n": 0}).replace(b'"n": 0', b'"n": -' + b"9" * 21)).id == _req()["id"]
    assert envelope.Envelope.from_bytes(_raw(body={"n": 0}).replace(b'"n": 0', b'"n": -' + b"9" * 20))
    assert _error(_raw(body={"n": 0}).replace(b'"n": 0', b'"n": 1e999')).id == _req()["id"]


@pytest.mark.parametrize("raw", [
    b'{"id": "a", "v": NaN}', b'{"id": "a", "v": Infinity}', b'{"id": "a", "v": -Infinity}',
    b"[" * 100_000 + b"]" * 100_000, b'{"id": "a", "body": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"id": "a", "body": ' + b"[" * 40 + b"]" * 40 + b"}", b'{"id": "a", "x": "\xed\xa0\x80"}',
    b"\xef\xbb\xbf{}", b"null", b"1" * 5000, b'"' + b"x" * 1000,
])
def test_unreadable_payloads_are_envelope_errors_without_an_id(raw):
    e = _error(raw)
    assert e.id is None


def test_depth_limit_is_exact_and_strings_do_not_count():
    body_at = 2  # the envelope is level 1, its body level 2
    ok = _req() | {"body": {"x": json.loads("[" * (envelope.MAX_DEPTH - body_at) + "]" * (envelope.MAX_DEPTH - body_at))}}
    envelope.Envelope.from_bytes(json.dumps(ok).encode())
    deep = _req() | {"body": {"x": json.loads("[" * (envelope.MAX_DEPTH - 1) + "]" * (envelope.MAX_DEPTH - 1))}}
    assert _error(json.dumps(deep).encode()).id is None
    envelope.Envelope.from_bytes(_raw(body={"text": "[" * 10_000}))


def test_salvaged_fields_must_be_valid_themselves():
    e = _error(_raw(v=2, id="bad id", idem="x\n", op="Checkin"))
    assert (e.id, e.idem, e.op) == (None, None, None)


def test_from_bytes_never_raises_anything_else():
    samples = [_raw(), _raw(v=True), b"", b"\x00", b"{", b'{"id":', b"[]" * 10, "é".encode("latin-1"),
               b'{"type":"req","op":"x","terminal":"T-01","id":"1","v":1,"ts":"t","body":{}}' + b" " * 10]
    for raw in samples:
        try:
            envelope.Envelope.from_bytes(raw)
        except envelope.EnvelopeError:
            pass


@pytest.mark.parametrize("topic", ["kiosk/v1/ZM-0001\n/res", "kiosk/v1/ZM-0001/req/checkin\n",
                                   "kiosk/v1/bcast/410100\n", "kiosk/v1/bcast/٤١٠١٠٠", "kiosk/v1/ＺＭ-0001/res",
                                   "kiosk/v1/+/req/checkin", "kiosk/v1/ZM-0001/req/Checkin"])
def test_topics_are_matched_whole_and_ascii_only(topic):
    with pytest.raises(topics.TopicError):
        topics.parse(topic)


@pytest.mark.parametrize("bad", [None, 123, {}, "ZM-0001\n"])
def test_building_a_topic_from_a_non_id_is_a_topic_error(bad):
    with pytest.raises(topics.TopicError):
        topics.res(bad)
    with pytest.raises(topics.TopicError):
        topics.parse(bad) if not isinstance(bad, str) else topics.req(bad, "checkin")


@pytest.mark.parametrize("bad_id", ["", "a b", "x" * 129, "id\n", "é"])
def test_an_id_that_is_no_reference_makes_the_message_uncorrelatable(bad_id):
    e = _error(_raw(id=bad_id))
    assert e.id is None and e.idem == "k1"
