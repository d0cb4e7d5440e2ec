"""hall_demo.bench.report: targets met/missed with the margin, JSON keys, the human table (pure)."""
from __future__ import annotations

import json

from hall_demo.bench.report import Figure, evaluate, percentile, table, to_json


def _figs(**values) -> dict:
    return {k.replace("_", ".", 1): Figure(k.replace("_", ".", 1), v, "ms") for k, v in values.items()}


def test_percentile_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile(list(range(1, 101)), 0.99) == 99


def test_targets_met_and_missed_say_by_how_much():
    figs = _figs(mqtt_gateway_p50_ms=2.0, mqtt_raw_p50_ms=1.0, qr_no_code_ms=0.5, idcard_read_ms=200.0,
                 idcard_wire_ms=118.0)
    evaluate(figs)
    assert figs["qr.no_code_ms"].status == "met"
    assert figs["mqtt.gateway_p50_ms"].status == "missed"
    assert "0.5 ms over 1.5 x mqtt.raw_p50_ms" in figs["mqtt.gateway_p50_ms"].missed_by
    assert figs["idcard.read_ms"].status == "missed" and "32 ms over" in figs["idcard.read_ms"].missed_by
    assert figs["mqtt.raw_p50_ms"].status == "info"


def test_missing_value_and_missing_comparison():
    figs = _figs(startup_home_ms=None, mqtt_gateway_p99_ms=3.0)
    evaluate(figs)
    assert figs["startup.home_ms"].status == "missing"
    assert figs["mqtt.gateway_p99_ms"].status == "missing"
    assert "mqtt.raw_p99_ms" in figs["mqtt.gateway_p99_ms"].missed_by


def test_json_and_table_carry_every_figure():
    figs = _figs(qr_no_code_ms=2.4, central_p99_ms=None)
    figs["qr.no_code_ms"].baseline, figs["qr.no_code_ms"].baseline_value = "raw zxing-cpp", 2.3
    evaluate(figs)
    machine = {"cpu_model": "cpu", "cpus": 2, "python": "3.11", "platform": "linux", "libraries": {"x": "1"}}
    obj = json.loads(json.dumps(to_json(figs, machine, {"quick": True, "elapsed_s": 1})))
    assert obj["qr.no_code_ms"]["value"] == 2.4 and obj["qr.no_code_ms"]["baseline_value"] == 2.3
    assert obj["qr.no_code_ms"]["status"] == "missed"
    assert obj["central.p99_ms"]["value"] is None and obj["central.p99_ms"]["status"] == "missing"
    text = table(figs, machine, {"quick": True, "elapsed_s": 1})
    assert "qr.no_code_ms" in text and "MISSED by" in text and "MISSING" in text and "machine: cpu" in text


def test_poison_targets_compare_with_their_own_same_run_baseline():
    figs = {"central.poison_checkins_per_s": Figure("central.poison_checkins_per_s", 880.0, "/s", "clean", 1000.0),
            "central.poison_p99_ms": Figure("central.poison_p99_ms", 30.0, "ms", "clean", 20.0)}
    evaluate(figs)
    assert figs["central.poison_checkins_per_s"].status == "missed"
    assert "0.88x" in figs["central.poison_checkins_per_s"].missed_by
    assert figs["central.poison_p99_ms"].status == "met"
    figs["central.poison_p99_ms"].value = 41.0
    evaluate(figs)
    assert figs["central.poison_p99_ms"].status == "missed" and "2.05x" in figs["central.poison_p99_ms"].missed_by
