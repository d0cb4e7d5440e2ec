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
