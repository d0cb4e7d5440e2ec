"""The benchmark areas RUN in a tiny mode on real parts and produce every key with sane types.

No timed assertions: speed belongs to the benchmark's own output, these only check that each
figure is measured, positive where it must be, and comes with its same-run baseline.
"""
from __future__ import annotations

import math

import pytest

from hall_demo.bench import central, codes, door, idcard, loadgen, mqtt, qr, runner
from hall_demo.bench.report import Figure


def _sane(figs: dict, keys) -> None:
    assert set(keys) <= set(figs)
    for k in keys:
        f = figs[k]
        assert isinstance(f, Figure) and f.key == k
        assert isinstance(f.value, float) and math.isfinite(f.value) and f.value >= 0, (k, f.value, f.note)


def test_qr_quick_every_key():
    figs = qr.run(quick=True)
    _sane(figs, runner.AREAS["qr"])
    assert 0 < figs["qr.success_rate"].value <= 1
    assert figs["qr.pipeline_fps"].baseline_value == figs["qr.raw_fps"].value
    assert "raw_grey_input_ms" in figs["qr.no_code_ms"].extra


def test_codes_quick_every_key():
    figs = codes.run(quick=True)  # raises if a mutated code were accepted
    _sane(figs, runner.AREAS["codes"])
    assert figs["codes.verify_ms"].baseline_value == figs["codes.ed25519_ms"].value
    assert "refusals of mutated codes" in figs["codes.reject_p99_ms"].note


def test_door_quick_every_key():
    figs = door.run(quick=True)  # raises if the door missed a bomb's depth
    _sane(figs, runner.AREAS["door"])
    assert "900 deep" in figs["door.depth_check_ms"].note and "chains" in figs["door.depth_check_ms"].note
    assert "nested_100000" in figs["door.poison_judge_ms"].note


def test_idcard_read_on_a_throttled_pty():
    res = idcard.measure(1, poll_interval_s=0.05)
    assert len(res["read_ms"]) == 1 and res["read_ms"][0] > 0
    # The baseline is computed from the codec's frames: 1,295+ bytes of read answer at 115200 baud.
    from hall_central.seed import synthetic_citizen
    from hall_demo.hub import identity_from_citizen
    wire = idcard.wire_ms(identity_from_citizen(synthetic_citizen(1)))
    assert 100 < wire < 150
    assert idcard.wire_ms(identity_from_citizen(synthetic_citizen(1)), baudrate=9600) == pytest.approx(wire * 12)


def test_mqtt_quick_every_key():
    figs = mqtt.run(quick=True)
    _sane(figs, runner.AREAS["mqtt"])
    assert figs["mqtt.gateway_p50_ms"].baseline_value == figs["mqtt.raw_p50_ms"].value
    assert figs["mqtt.reconnect_ms"].baseline_value > 0


def test_central_tiny_load_against_the_real_service(tmp_path):
    res = central.measure(True, work=tmp_path, terminals=5, closed_s=0.5, open_s=0.5, rate_per_s=50)
    assert res["checkins_per_s"] > 0 and res["ok_ratio"] == 1.0
    assert res["unanswered"] == 0 and res["open_p99_ms"] > 0


def test_a_closed_loop_faster_than_its_budget_leaves_the_open_loop_its_appointments(tmp_path):
    # A budget of 1 appointment per second: the closed loop runs out at once (flagged, its rate a
    # lower bound), yet the open loop after it still has its share and measures a p99.
    res = central.measure(True, work=tmp_path, terminals=5, closed_s=0.5, open_s=0.5, rate_per_s=50,
                          per_s_budget=1.0)
    assert res["closed_ran_out"] is True and res["ran_out_of_appointments"] is True
    assert res["open_rate_per_s"] > 0 and res["unanswered"] == 0 and res["open_p99_ms"] is not None
    assert res["open_ok_ratio"] == 1.0


def test_central_poison_run_answers_every_poison_as_the_contract_says(tmp_path):
    res = central.measure(True, work=tmp_path, terminals=5, closed_s=0.5, open_s=0.5, rate_per_s=40, poisoned=True)
    assert res["poison_open_ok_ratio"] == 1.0 and res["poison_unanswered"] == 0
    assert res["poison_answered_per_s"] > 0 and res["clean_at_rate_answered_per_s"] > 0
    for sent in (res["poison_sent"], res["poison_capacity_sent"]):
        assert sent["sent"] > 0 and sent["unexpected_answers"] == 0
        assert "dropped" not in sent["answers"] and set(sent["answers"]) <= {"invalid", "forbidden"}


def test_a_generator_client_dropped_by_the_broker_is_named_not_a_bare_fd_error(tmp_path):
    # A run once failed with "file descriptor cannot be a negative integer (-1)": a client the
    # broker had dropped left a closed socket in the select set. The generator now says which.
    from hall_demo.broker import Broker
    broker = Broker(workdir=tmp_path / "broker").start()
    gen = None
    try:
        gen = loadgen.LoadGen(broker, 3, [("X1", "C0")])
        broker.cleanup()  # the broker goes: every client's connection ends
        with pytest.raises(ConnectionError, match="lost their connection, first BENCH-T000"):
            for _ in range(500):  # why bounded: the drop shows within a pump or two; 500 x 10 ms at most
                gen.pump(0.01)
    finally:
        if gen is not None:
            gen.close()
        broker.cleanup()


def test_runner_reports_an_unknown_area_list_without_crashing():
    out = runner.run_all(quick=True, only=["nosuch"])
    assert out["run"]["areas"] == ["nosuch"] and "machine" in out and out["machine"]["cpus"] >= 1


def test_main_refuses_an_unknown_area():
    assert runner.main(["--only", "nosuch"]) == 2
