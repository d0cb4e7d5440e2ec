"""The fleet simulator end to end: its own Mosquitto and central service, real Gateways and outboxes."""
from __future__ import annotations

from hall_demo import fleet


def test_fleet_checks_in_without_loss_or_duplicates():
    report = fleet.run(terminals=3, duration_s=1.5, pace_s=0.1)
    assert report["errors"] == 0, report["error_samples"]
    assert report["checkins_confirmed"] > 0
    assert report["checkins_applied"] == report["checkins_confirmed"]
    assert report["lost"] == 0 and report["duplicated"] == 0
    assert report["p50_ms"] is not None and report["p99_ms"] >= report["p50_ms"]


def test_fleet_in_worker_processes_counts_against_the_central_records():
    # Two worker processes of three terminals each (a city-size fleet uses PER_PROCESS = 50).
    report = fleet.run(terminals=6, duration_s=1.5, pace_s=0.1, per_process=3)
    assert report["errors"] == 0, report["error_samples"]
    assert report["terminals"] == 6 and report["checkins_confirmed"] >= 6
    assert report["checkins_applied"] == report["checkins_confirmed"]
    assert report["lost"] == 0 and report["duplicated"] == 0
