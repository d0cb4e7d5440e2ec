"""The SAM serial ID-card driver against the simulator over a real pty (events, faults, recovery)."""
from __future__ import annotations

import logging
import threading

import pytest

from firmware_bridge.idcard.identity import Identity
from firmware_bridge.idcard.simulator import IdCardSimulator
from firmware_bridge.idcard.synthetic import synthetic_identity
from kiosk.devices import registry
from kiosk.devices.base import Backoff, DeviceState, DeviceTimeout
from kiosk.devices.idcard import CardPulledMidRead, CardReadFailed, SamSerialReader, register_photo_decoder
from kiosk.errors import ConfigError
from kiosk.events import EventBus
from tests import recording

WAIT_S = 10  # upper bound for a condition to come true; a pass takes milliseconds
FAST = {"poll_interval_s": 0.02, "read_timeout_s": 0.5}


class Recorder(recording.Recorder):
    """The ID-card role's events; ``topics()`` leaves out state changes by default."""

    def __init__(self, bus: EventBus) -> None:
        super().__init__(bus, "idcard", WAIT_S)

    def topics(self, exclude_state: bool = True) -> list[str]:
        return super().topics(exclude_state)

    def wait_topic(self, topic: str, n: int = 1) -> None:
        self.wait(lambda: [e.topic for e in self.events].count(topic) >= n)

    def wait_state(self, state: DeviceState, n: int = 1) -> None:
        self.wait(lambda: sum(1 for e in self.events if e.topic == "idcard.state" and e.data.state == state) >= n)


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.name.startswith("idcard")]
    assert not leaked, leaked


@pytest.fixture
def sim(tmp_path):
    with IdCardSimulator(link=str(tmp_path / "usb-reader")) as s:
        yield s


@pytest.fixture
def rec(bus):
    return Recorder(bus)


class CountingBackoff(Backoff):
    """The real policy, with a condition to await reconnect attempts on."""

    def __init__(self) -> None:
        super().__init__(base_s=0.01, cap_s=0.05)
        self.cond = threading.Condition()

    def next(self) -> float:
        with self.cond:
            delay = super().next()
            self.cond.notify_all()
            return delay

    def wait_attempts(self, n: int) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.attempt >= n, timeout=WAIT_S)


@pytest.fixture
def reader(sim, bus, rec):
    # rec first: a reader that came up before the recorder subscribed left it nothing to wait on
    # (a test's first wait_state(READY) timed out with no events under load).
    r = SamSerialReader(sim.link, dict(FAST), bus)
    r.start()
    yield r
    r.stop()


def test_registry_builds_it_with_validated_options(bus):
    dev = registry.build("idcard", {"driver": "idcard.sam-serial", "url": "/dev/null-reader",
                                    "options": {"baudrate": 9600}}, bus)
    assert isinstance(dev, SamSerialReader) and dev.options["baudrate"] == 9600
    assert dev.options["poll_interval_s"] == 0.05 and dev.options["photo_decoder"] == ""
    with pytest.raises(ConfigError):
        registry.build("idcard", {"driver": "idcard.sam-serial", "options": {"baudrate": "fast"}}, bus)


def test_card_placed_then_removed(sim, reader, rec):
    rec.wait_state(DeviceState.READY)
    assert reader.health().detail["sam_id"]
    ident = synthetic_identity(21)
    sim.place(ident)
    rec.wait_topic("idcard.identity")
    (got,) = rec.data("idcard.identity")
    assert got == ident and isinstance(got, Identity)
    # The card stays: more polls must not report it again (the simulator halts it like real readers).
    assert sim.wait_commands(sim.commands_seen + 10, WAIT_S)
    assert rec.topics() == ["idcard.presented", "idcard.identity"]
    sim.remove()
    rec.wait_topic("idcard.removed")
    assert rec.topics() == ["idcard.presented", "idcard.identity", "idcard.removed"]


def test_a_reader_that_keeps_finding_the_card_reports_it_once(tmp_path, bus, rec):
    with IdCardSimulator(link=str(tmp_path / "r"), halt_after_read=False) as sim:
        r = SamSerialReader(sim.link, dict(FAST), bus)
        r.start()
        try:
            sim.place(synthetic_identity(22))
            rec.wait_topic("idcard.identity")
            assert sim.wait_commands(sim.commands_seen + 10, WAIT_S)
            assert rec.topics() == ["idcard.presented", "idcard.identity"]
            sim.place(synthetic_identity(23))  # swapped between two polls
            rec.wait_topic("idcard.identity", 2)
            assert rec.topics()[2:] == ["idcard.removed", "idcard.identity"]
        finally:
            r.stop()


@pytest.mark.parametrize("card_type", ["foreign_permanent", "hkmotw_permit"])
def test_other_card_types_parse(sim, reader, rec, card_type):
    ident = synthetic_identity(24, card_type=card_type)
    sim.place(ident)
    rec.wait_topic("idcard.identity")
    (got,) = rec.data("idcard.identity")
    assert got.card_type == card_type and got == ident


def test_fingerprint_option(sim, bus, rec):
    r = SamSerialReader(sim.link, dict(FAST, read_fingerprint=True), bus)
    r.start()
    try:
        sim.place(synthetic_identity(25))
        rec.wait_topic("idcard.identity")
        assert len(rec.data("idcard.identity")[0].fingerprint) == 1024
    finally:
        r.stop()


def test_unplug_and_replug_recovers_and_logs_once_each(sim, bus, rec, caplog):
    caplog.set_level(logging.WARNING, logger="kiosk.devices.idcard")
    backoff = CountingBackoff()
    reader = SamSerialReader(sim.link, dict(FAST), bus, backoff=backoff)
    reader.start()
    try:
        rec.wait_state(DeviceState.READY)
        sim.place(synthetic_identity(26))
        rec.wait_topic("idcard.identity")
        sim.unplug()  # mid-poll: the driver polls every 20 ms
        rec.wait_state(DeviceState.ERROR)
        assert rec.count("idcard.removed") == 1  # the card went with the reader
        assert backoff.wait_attempts(4)  # several failed reopens before the reader comes back
        sim.replug()
        rec.wait_state(DeviceState.READY, 2)
        rec.wait_topic("idcard.identity", 2)  # the card still lies there: read again after the restart
        assert reader.state in (DeviceState.READY, DeviceState.BUSY)
    finally:
        reader.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("device lost") == 1 and messages.count("device recovered") == 1


def test_a_poll_or_two_without_an_answer_is_not_a_lost_reader(sim, reader, rec):
    """A starved host or reader misses an answer now and then: the card's session goes on (no
    removal, no error state); a reader that stays silent is still reported lost."""
    rec.wait_state(DeviceState.READY)
    sim.place(synthetic_identity(28))
    rec.wait_topic("idcard.identity")
    seen = sim.commands_seen
    sim.stay_silent(2)
    assert sim.wait_commands(seen + 4), "the driver kept polling through the silence"
    assert rec.count("idcard.removed") == 0 and reader.state != DeviceState.ERROR
    sim.stay_silent(1000)
    rec.wait_state(DeviceState.ERROR)
    assert rec.count("idcard.removed") == 1


def test_card_pulled_mid_read_gives_one_typed_error_then_recovers(sim, reader, rec):
    rec.wait_state(DeviceState.READY)
    sim.pull_mid_read()
    sim.place(synthetic_identity(27))
    rec.wait_topic("idcard.removed")
    errors = rec.data("idcard.error")
    assert len(errors) == 1 and isinstance(errors[0], CardPulledMidRead)
    assert errors[0].action and errors[0].citizen_message
    sim.place(synthetic_identity(28))
    rec.wait_topic("idcard.identity")
    assert rec.topics() == ["idcard.presented", "idcard.error", "idcard.removed",
                            "idcard.presented", "idcard.identity"]
    assert reader.state != DeviceState.ERROR


def test_failed_read_is_reported_once_then_retried(sim, reader, rec):
    sim.fail_next_read(0x41)
    sim.place(synthetic_identity(29))
    rec.wait_topic("idcard.identity")
    errors = rec.data("idcard.error")
    assert len(errors) == 1 and isinstance(errors[0], CardReadFailed) and "0x41" in errors[0].reason
    assert rec.topics() == ["idcard.presented", "idcard.error", "idcard.identity"]


def test_missing_device_does_not_raise_and_comes_up_later(tmp_path, bus, rec):
    link = str(tmp_path / "not-yet")
    r = SamSerialReader(link, dict(FAST), bus)
    r.start()  # nothing there: must not raise
    try:
        rec.wait_state(DeviceState.ERROR)
        assert r.health().error["code"] == "device.unavailable"
        with IdCardSimulator(link=link) as sim:
            rec.wait_state(DeviceState.READY)
            sim.place(synthetic_identity(30))
            rec.wait_topic("idcard.identity")
    finally:
        r.stop()


def test_failed_sam_self_test_keeps_the_device_in_error(tmp_path, bus, rec):
    with IdCardSimulator(link=str(tmp_path / "r")) as sim:
        sim.set_sam_status(0x60)
        r = SamSerialReader(sim.link, dict(FAST), bus)
        r.start()
        try:
            rec.wait_state(DeviceState.ERROR)
            assert "0x60" in r.health().error["reason"]
            sim.set_sam_status(0x90)
            rec.wait_state(DeviceState.READY)
        finally:
            r.stop()


def test_read_once_probe(sim, bus):
    r = SamSerialReader(sim.link, dict(FAST), bus)
    ident = synthetic_identity(31)
    sim.place(ident)
    assert r.read_once(timeout_s=5) == ident
    sim.remove()
    with pytest.raises(DeviceTimeout):
        r.read_once(timeout_s=0.1)


def test_photo_decoder_hook_gets_the_raw_photo_in_memory(sim, bus, rec):
    seen = []
    register_photo_decoder("test-len", lambda wlt: seen.append(len(wlt)) or "decoded")
    r = SamSerialReader(sim.link, dict(FAST, photo_decoder="test-len"), bus)
    r.start()
    try:
        sim.place(synthetic_identity(32))
        rec.wait_topic("idcard.identity")
        (event,) = [e for e in rec.events if e.topic == "idcard.identity"]
        assert event.extra["photo_image"] == "decoded" and seen == [1024]
    finally:
        r.stop()
    with pytest.raises(ConfigError):
        SamSerialReader(sim.link, {"photo_decoder": "no-such-hook"}, bus)


def test_no_citizen_data_in_logs(sim, reader, rec, caplog):
    caplog.set_level(logging.DEBUG)
    ident = synthetic_identity(33)
    sim.pull_mid_read()
    sim.place(ident)
    rec.wait_topic("idcard.removed")
    sim.place(ident)
    rec.wait_topic("idcard.identity")
    text = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for secret in (ident.id_number, ident.name, ident.address):
        assert secret not in text
