"""The fleet simulator end to end: its own Mosquitto and central service, real Gateways and outboxes."""
from __future__ import annotations

from tools import fleet


def test_fleet_checks_in_without_loss_or_duplicates():
    report = fleet.run(terminals=3, duration_s=1.5, pace_s=0.1)
    assert report["errors"] == 0, report["error_samples"]
    assert report["checkins_confirmed"] > 0
    assert report["checkins_applied"] == report["checkins_confirmed"]
    assert report["lost"] == 0 and report["duplicated"] == 0
    assert report["p50_ms"] is not None and report["p99_ms"] >= report["p50_ms"]
