"""Recorded traces (tests/traces/idcard, from the simulator) replayed through the codec and parser."""
from __future__ import annotations

from pathlib import Path

import pytest

from firmware_bridge.idcard import codec
from firmware_bridge.idcard.traces import SESSIONS, record_session, replay

TRACES = Path(__file__).resolve().parents[2] / "traces" / "idcard"


@pytest.mark.parametrize("stem", sorted(SESSIONS))
def test_recorded_trace_replays(stem):
    r = replay(TRACES / f"{stem}.jsonl")
    assert r.header["label"] == "from the simulator"
    assert r.errors == []
    assert [c.key for c in r.commands][:3] == [codec.SAM_STATUS, codec.FIND_CARD, codec.SELECT_CARD]
    assert len(r.responses) == len(r.commands)
    (ident,) = r.identities
    assert ident.card_type == r.header["card_type"]
    assert ident.masked() == r.header["expected"]
    assert bool(ident.fingerprint) == r.header["fingerprint"]


def test_recorder_output_replays_the_same(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(record_session(99, "hkmotw_permit", codec.READ_BASE), encoding="utf-8")
    (ident,) = replay(path).identities
    assert ident.card_type == "hkmotw_permit"


def test_replay_of_a_corrupted_trace_gives_typed_errors(tmp_path):
    lines = (TRACES / "resident_read.jsonl").read_text(encoding="utf-8").splitlines()
    import json
    rec = json.loads(lines[2])  # the first answer
    raw = bytearray(bytes.fromhex(rec["hex"]))
    raw[-1] ^= 0x55
    rec["hex"] = raw.hex()
    lines[2] = json.dumps(rec)
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    r = replay(path)
    assert [e.code for e in r.errors] == ["idcard.protocol.checksum"]
