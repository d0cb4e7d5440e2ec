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
