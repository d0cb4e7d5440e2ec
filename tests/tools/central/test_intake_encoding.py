"""The central service's response encoding (no deep copy) gives the bytes Envelope.to_bytes gives."""
from __future__ import annotations


def test_the_service_encodes_responses_as_envelope_to_bytes_does():
    from kiosk.network import envelope
    from tools.central.intake import encode as _encode
    req = envelope.request("ZM-0001", "checkin", {"appointment_id": "AP-1"}, idem="k1")
    for res in (envelope.response(req, {"queue_no": "A001", "people_ahead": 3, "item_name": "老年优待证办理"}),
                envelope.response(req, error={"code": "too_early", "message": "开始前 30 分钟可签到"})):
        assert _encode(res) == res.to_bytes()
