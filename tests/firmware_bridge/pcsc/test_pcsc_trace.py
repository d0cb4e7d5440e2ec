"""Replay a recorded APDU trace: the codec and profile must send exactly these bytes."""
import json
from pathlib import Path

from firmware_bridge.pcsc.profile import load_profile, read_card

TRACE = Path(__file__).parents[2] / "traces" / "pcsc" / "social-security-t0.json"


def test_social_security_t0_trace_replays():
    trace = json.loads(TRACE.read_text(encoding="utf-8"))
    exchanges = list(trace["exchanges"])

    def replay(raw: bytes) -> bytes:
        expected = exchanges.pop(0)
        assert raw.hex().upper() == expected["c"]
        return bytes.fromhex(expected["r"])
    data = read_card(load_profile(trace["profile"]), replay)
    assert exchanges == []
    assert {k: str(v) for k, v in data.items()} == trace["expected"]
