"""Runtime.health(): what the maintenance screen and telemetry show, never any citizen data; the
broker's refusal of the terminal's own topics is listed so a technician sees it at once."""
from __future__ import annotations

from kiosk import config
from kiosk.runtime import Runtime


class _Gateway:
    """The gateway's reporting surface only (this is a unit test of Runtime.health)."""

    online = True

    def outbox_depth(self) -> int:
        return 3

    def refused_subscriptions(self) -> list[dict]:
        return [{"topic": "kiosk/v1/ZM-H-01/res", "code": "network.subscription_refused",
                 "reason": "SUBACK 0x87", "action": "add terminal ZM-H-01 to the broker's dynamic-security config"}]


def test_health_lists_refused_own_topics(tmp_path):
    cfg = config.from_dict({"terminal": {"id": "ZM-H-01", "hall_code": "H410100", "region": {"city": "410100"}},
                            "runtime": {"state_dir": str(tmp_path / "state")},
                            "network": {"broker": "mqtt://127.0.0.1:1"}})
    rt = Runtime(cfg, devices={}, gateway=_Gateway())
    try:
        h = rt.health()
        assert h["refused_subscriptions"] == ["kiosk/v1/ZM-H-01/res"]
        assert h["online"] and h["outbox_depth"] == 3 and h["devices"] == {}
    finally:
        rt.services.sessions.close()


def test_dead_letters_and_disk_alarms_reach_health_and_a_valid_telemetry(tmp_path):
    from kiosk.network import schemas, topics
    from kiosk.network.envelope import Envelope
    cfg = config.from_dict({"terminal": {"id": "ZM-H-02", "hall_code": "H410100", "region": {"city": "410100"}},
                            "runtime": {"state_dir": str(tmp_path / "state")},
                            "network": {"broker": "mqtt://127.0.0.1:1", "dead_letter_after": 1}})
    rt = Runtime(cfg, devices={})  # the real gateway and outbox, not started
    try:
        ob = rt.gateway.outbox
        ob.put("row-1", "feedback.submit", "req", "k1", {"kind": "rate", "target": {"hall": True}, "rating": 5})
        assert ob.record_failure("row-1", "unreadable answer: error code not in contract v1") == "dead"
        (tmp_path / "state" / "outbox.sqlite3.corrupt-20261203T060000Z").write_bytes(b"kept")
        h = rt.health()
        assert h["dead_letters"] == 1 and h["recent_dead_letters"][0]["op"] == "feedback.submit"
        assert [a["kind"] for a in h["outbox_alarms"]] == ["corrupt_kept"]
        body = {"online_since": None, **rt.telemetry()}
        assert body["dead_letters"] == 1 and body["outbox_alarms"][0]["kind"] == "corrupt_kept"
        env = Envelope("telemetry", "telemetry", "ZM-H-02", body)
        schemas.validate_message(topics.telemetry("ZM-H-02"), env.to_dict())  # the contract carries it
    finally:
        rt.gateway.stop()
        rt.services.sessions.close()
