"""The reader simulator over a real pty, driven with pyserial and the shared codec."""
from __future__ import annotations

import os
import threading
from typing import Any

import pytest
import serial

from firmware_bridge.idcard import codec
from firmware_bridge.idcard.identity import parse_text
from firmware_bridge.idcard.simulator import IdCardSimulator
from firmware_bridge.idcard.synthetic import synthetic_identity


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.name.startswith("idcard")]
    assert not leaked, leaked


@pytest.fixture
def sim(tmp_path):
    with IdCardSimulator(link=str(tmp_path / "reader")) as s:
        yield s


def exchange(port: serial.Serial, command: tuple[int, int] | bytes, data: bytes = b"") -> Any:
    port.write(codec.encode_command(*command, data) if isinstance(command, tuple) else command)
    decoder = codec.Decoder()
    while True:
        chunk = port.read(max(1, port.in_waiting))
        if not chunk:
            return decoder.flush()
        items = decoder.feed(chunk)
        if items:
            return items[0]


@pytest.fixture
def port(sim):
    with serial.Serial(sim.link, 115200, timeout=1) as p:
        yield p


def test_link_points_at_the_pty(sim):
    assert os.path.realpath(sim.link) == sim.port and sim.port.startswith("/dev/pts/")


def test_session_and_halt_after_read(sim, port):
    ident = synthetic_identity(1)
    assert exchange(port, codec.SAM_STATUS).sw3 == 0x90
    assert codec.format_sam_id(exchange(port, codec.READ_SAM_ID).data)
    assert exchange(port, codec.FIND_CARD).sw3 == 0x80
    sim.place(ident)
    assert exchange(port, codec.FIND_CARD).sw3 == 0x9F
    sel = exchange(port, codec.SELECT_CARD)
    assert sel.sw3 == 0x90 and len(sel.data) == 8
    payload = codec.parse_read_data(exchange(port, codec.READ_BASE).data)
    assert parse_text(payload.text, payload.photo) == ident
    assert exchange(port, codec.FIND_CARD).sw3 == 0x80      # read cards halt, like real readers
    assert exchange(port, codec.SELECT_CARD).sw3 == 0x90    # ...but still select
    assert exchange(port, codec.READ_ADDITIONAL_ADDRESS).sw3 == 0x91
    sim.remove()
    assert exchange(port, codec.SELECT_CARD).sw3 == 0x81


def test_fingerprint_read_and_additional_address(sim, port):
    sim.place(synthetic_identity(2), additional_address="郑州市中原区建设路9号")
    exchange(port, codec.SELECT_CARD)
    resp = exchange(port, codec.READ_BASE_FINGERPRINT)
    assert len(codec.parse_read_data(resp.data, fingerprint=True).fingerprint) == 1024
    exchange(port, codec.SELECT_CARD)
    from firmware_bridge.idcard.identity import parse_additional_address
    assert parse_additional_address(exchange(port, codec.READ_ADDITIONAL_ADDRESS).data) == "郑州市中原区建设路9号"


def test_fault_injection(sim, port):
    sim.place(synthetic_identity(3))
    exchange(port, codec.SELECT_CARD)
    sim.fail_next_read(0x41)
    assert exchange(port, codec.READ_BASE).sw3 == 0x41
    exchange(port, codec.SELECT_CARD)
    sim.pull_mid_read()
    (err,) = exchange(port, codec.READ_BASE)  # half a frame, then silence
    assert err.code == "idcard.protocol.truncated" and not sim.has_card
    sim.set_sam_status(0x60)
    assert exchange(port, codec.SAM_STATUS).sw3 == 0x60
    assert exchange(port, codec.FIND_CARD).sw3 == 0x60


def test_bad_frames_and_unknown_commands(sim, port):
    bad = bytearray(codec.encode_command(*codec.FIND_CARD))
    bad[-1] ^= 1
    assert exchange(port, bytes(bad)).sw3 == 0x10
    assert exchange(port, codec.PREAMBLE + b"\x00\x01" + bytes(8)).sw3 == 0x11
    assert exchange(port, (0x77, 0x01)).sw3 == 0x24


def test_unplug_and_replug(sim):
    first = sim.port
    p = serial.Serial(sim.link, 115200, timeout=1)
    try:
        sim.unplug()
        assert not os.path.lexists(sim.link)
        with pytest.raises(serial.SerialException):
            p.read(1)
    finally:
        p.close()
    sim.replug()
    assert os.path.realpath(sim.link) == sim.port
    with serial.Serial(sim.link, 115200, timeout=1) as p2:
        assert exchange(p2, codec.SAM_STATUS).sw3 == 0x90
    assert first  # the old name may be reused by the kernel; only the link matters


def test_trace_records_both_directions(sim, port):
    exchange(port, codec.FIND_CARD)
    assert sim.trace.bytes_of("host->reader") == codec.encode_command(*codec.FIND_CARD)
    assert sim.trace.bytes_of("reader->host") == codec.encode_response(0, 0, 0x80)
    assert sim.trace.to_jsonl().splitlines()[0].startswith('{"label": "from the simulator"')


def test_throttle_still_answers_whole_frames(sim, port):
    sim.throttle = True
    sim.place(synthetic_identity(4))
    exchange(port, codec.SELECT_CARD)
    assert exchange(port, codec.READ_BASE).sw3 == 0x90
