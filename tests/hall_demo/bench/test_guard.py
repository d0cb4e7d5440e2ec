"""hall_demo.bench.guard (pure): the limits file is well formed, a fabricated 44x drop fails, a 20%
wobble passes, and a guarded figure that was not measured fails."""
from __future__ import annotations

import json
from typing import Any

from hall_demo.bench import guard, runner


def _report(scale: dict[str, float] | None = None) -> dict:
    """A `kiosk bench --json`-shaped object at the ratios measured in the README run."""
    measured = {"qr.no_code_ms": 0.94, "qr.pipeline_fps": 0.93, "idcard.read_ms": 1.25, "codes.verify_ms": 1.36,
                "codes.reject_p99_ms": 0.8, "codes.bomb_ms": 0.65, "mqtt.gateway_p50_ms": 1.28,
                "mqtt.gateway_p99_ms": 1.11, "mqtt.reconnect_ms": 0.48, "outbox.drain_per_s": 0.83,
                "central.checkins_per_s": 0.42, "central.poison_checkins_per_s": 0.95, "door.depth_check_ms": 6.4,
                "door.poison_judge_ms": 2.7, "central.poison_p99_ms": 1.15}
    scale = scale or {}
    out: dict[str, dict[str, Any]] = {k: {"value": 100.0 * r * scale.get(k, 1.0), "baseline_value": 100.0, "note": ""} for k, r in measured.items()}
    out["codes.bomb_ms"]["baseline_value"] = None  # compared with codes.verify_ms (base in the limits file)
    out["codes.bomb_ms"]["value"] *= out["codes.verify_ms"]["value"] / 100.0
    return out


def test_the_limits_file_guards_real_figures_of_the_quick_areas():
    limits, areas, _ = guard.load_limits()
    keys = {k for a in runner.AREAS.values() for k in a}
    assert set(limits) <= keys and set(areas) <= set(runner.AREAS)
    assert all(rule["why"] for rule in limits.values())
    assert {k for k, *_ in guard.check(_report(), limits, areas)} == set(limits)


def test_a_44x_drop_fails_and_a_20_percent_wobble_passes():
    limits, areas, _ = guard.load_limits()
    assert all(ok for _, ok, _ in guard.check(_report(), limits, areas))
    drop = guard.check(_report({"central.checkins_per_s": 1 / 44}), limits, areas)
    assert [k for k, ok, _ in drop if not ok] == ["central.checkins_per_s"]
    slower = guard.check(_report({"codes.verify_ms": 44.0}), limits, areas)  # a time 44x its baseline
    assert [k for k, ok, _ in slower if not ok] == ["codes.verify_ms"]
    for wobble in (0.8, 1.2):
        assert all(ok for _, ok, _ in guard.check(_report({k: wobble for k in limits}), limits, areas)), wobble


def test_a_guarded_figure_not_measured_fails_and_the_cli_reads_a_saved_report(tmp_path):
    limits, areas, _ = guard.load_limits()
    rep = _report()
    rep["central.checkins_per_s"] = {"value": None, "baseline_value": 3000.0, "note": "central failed: boom"}
    failed = [(k, what) for k, ok, what in guard.check(rep, limits, areas) if not ok]
    assert failed == [("central.checkins_per_s", "not measured: central failed: boom")]
    saved = tmp_path / "bench.json"
    saved.write_text(json.dumps(_report()))
    assert guard.main(["--report", str(saved)]) == 0
    saved.write_text(json.dumps(_report({"central.checkins_per_s": 1 / 44})))
    assert guard.main(["--report", str(saved)]) == 1


def test_poison_that_stalls_valid_traffic_fails_the_guard():
    # Issue 13's stall: valid check-ins waited behind poison (p99 1.9 s -> 10.1 s) or were never
    # answered, which leaves the phase without a p99.
    limits, areas, _ = guard.load_limits()
    slow = guard.check(_report({"central.poison_p99_ms": 10.1 / 1.9 * 1.3}), limits, areas)
    assert [k for k, ok, _ in slow if not ok] == ["central.poison_p99_ms"]
    rep = _report()
    rep["central.poison_p99_ms"]["value"] = None
    assert [k for k, ok, _ in guard.check(rep, limits, areas) if not ok] == ["central.poison_p99_ms"]


def test_an_area_that_takes_too_long_fails_every_figure_it_owes():
    rep = guard.measure(["codes"], timeout_s=0.01, log=lambda m: None)
    assert all(rep[k]["value"] is None and "longer than" in rep[k]["note"] for k in runner.AREAS["codes"])
    limits, _, _ = guard.load_limits()
    assert not any(ok for _, ok, _ in guard.check(rep, limits, ["codes"]))
