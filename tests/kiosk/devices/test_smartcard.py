"""The PC/SC driver against the real stack: a private pcscd, vpcd and the virtual card.

Every test starts and stops its own pcscd (firmware_bridge.pcsc.stack) and checks that the
driver's monitor thread and the virtual card's thread are gone afterwards.
"""
from __future__ import annotations

import json
import logging
import threading

import pytest

from firmware_bridge.pcsc.profile import load_profile
from firmware_bridge.pcsc.stack import PcscStack
from firmware_bridge.pcsc.vicc import CardModel, VirtualCard, synthetic_citizen
from kiosk.config import validate_options
from kiosk.devices import registry
from kiosk.devices.base import DeviceState, DeviceTimeout
from kiosk.errors import ConfigError
from kiosk.events import EventBus
from tests import recording

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
WAIT_S = 15.0  # generous upper bound for an event to arrive; never a speed assertion


def Recorder(bus: EventBus) -> recording.Recorder:
    """The smart-card role's events."""
    return recording.Recorder(bus, "smartcard", WAIT_S)


def state_is(state):
    return lambda e: e.data.state == state


@pytest.fixture
def stack():
    with PcscStack() as s:
        yield s


@pytest.fixture
def rec(bus):
    return Recorder(bus)


@pytest.fixture
def make_card(stack):
    cards = []

    def make(profile="social-security", values=None, t0=True, slot=0):
        model = CardModel(load_profile(profile), values or synthetic_citizen(), t0=t0)
        card = VirtualCard(model, stack.slot_ports[slot])
        cards.append(card)
        return card
    yield make
    for card in cards:
        card.remove()


@pytest.fixture
def driver(bus):
    drivers = []

    def make(url="VPCD 00 00", **options):
        cls = registry.driver_class("smartcard.pcsc")
        opts = validate_options(cls.OPTIONS, {"poll_interval_s": 0.2, **options}, "<test>", "options.")
        drv = cls(url, opts, bus)
        drivers.append(drv)
        return drv
    yield make
    for drv in drivers:
        drv.stop()
        assert drv._thread is None
    assert not [t for t in threading.enumerate() if t.name.startswith(("smartcard.pcsc:", "vicc:"))]


def test_reader_appears(stack, rec, driver):
    drv = driver()
    drv.start()
    added = {rec.wait_for("smartcard.reader_added", lambda e, r=r: e.data["reader"] == r).data["reader"]
             for r in stack.readers}
    assert added == set(stack.readers)
    rec.wait_for("smartcard.state", state_is(DeviceState.READY))
    assert drv.health().to_dict()["state"] == "ready"


def test_insert_reads_social_security_fields_over_t0_then_remove(stack, rec, driver, make_card, caplog):
    caplog.set_level(logging.DEBUG)
    drv = driver()
    drv.start()
    rec.wait_for("smartcard.state", state_is(DeviceState.READY))
    card = make_card(t0=True)
    card.insert()
    inserted = rec.wait_for("smartcard.inserted").data
    assert inserted["reader"] == stack.readers[0]
    assert inserted["atr"] == card.model.atr.hex().upper()
    assert inserted["uid"] == "04A23B1C" and inserted["protocol"] == "T=0"
    read = rec.wait_for("smartcard.read")
    assert dict(read.data) == synthetic_citizen()
    assert read.extra["profile"] == "social-security"
    assert card.apdu_count > 2 * len(drv.profile.fields)  # T=0: every read needed GET RESPONSE
    mark = rec.mark()
    card.remove()
    assert rec.wait_for("smartcard.removed", after=mark).data == {"reader": stack.readers[0]}
    assert "smartcard.error" not in rec.topics()
    # Citizens' data never reaches a log record.
    logged = " ".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    for secret in ("410122199001011234", "张三丰", "A12345678"):
        assert secret not in logged


def test_pulled_mid_transaction_one_typed_error_then_recovers(stack, rec, driver, make_card):
    drv = driver()
    drv.start()
    rec.wait_for("smartcard.state", state_is(DeviceState.READY))
    card = make_card()
    card.pull_after(5)  # UID + SELECT app + SELECT EF05 + READ RECORD + (pulled at GET RESPONSE)
    card.insert()
    err = rec.wait_for("smartcard.error").data
    assert err.code == "smartcard.removed" and err.citizen_message and err.action
    rec.wait_for("smartcard.removed")
    assert rec.topics().count("smartcard.error") == 1
    assert "smartcard.read" not in rec.topics()
    assert drv.state in (DeviceState.READY, DeviceState.BUSY)  # the reader is fine: card problem
    mark = rec.mark()
    card.insert()  # the citizen puts it back and waits
    assert dict(rec.wait_for("smartcard.read", after=mark).data) == synthetic_citizen()
    assert rec.topics().count("smartcard.error") == 1


def test_pcscd_restart_recovers_without_restarting_the_driver(stack, rec, driver, make_card):
    drv = driver()
    drv.start()
    card = make_card(t0=False)
    card.insert()
    rec.wait_for("smartcard.read")
    monitor = drv._thread
    mark = rec.mark()
    stack.restart()
    err = rec.wait_for("smartcard.error", after=mark).data
    assert err.code == "smartcard.service"
    rec.wait_for("smartcard.state", state_is(DeviceState.ERROR), after=mark)
    rec.wait_for("smartcard.state", state_is(DeviceState.READY), after=mark)
    again = rec.wait_for("smartcard.read", after=mark)  # the card is still in: read again
    assert dict(again.data) == synthetic_citizen()
    assert drv._thread is monitor and monitor.is_alive()
    assert rec.topics()[mark:].count("smartcard.error") == 1  # the fault is reported once


def test_no_pcscd_at_start_is_an_error_state_then_recovers(bus, rec, driver):
    stack = PcscStack()  # not started yet
    drv = driver()
    drv.start()
    assert rec.wait_for("smartcard.error").data.code == "smartcard.service"
    rec.wait_for("smartcard.state", state_is(DeviceState.ERROR))
    with stack:
        rec.wait_for("smartcard.state", state_is(DeviceState.READY))
    assert rec.topics().count("smartcard.error") >= 1


def test_missing_reader_is_reported_once(stack, rec, driver, monkeypatch):
    from kiosk.devices import smartcard
    polls = threading.Semaphore(0)
    real = smartcard._list_readers

    def counting(ctx):  # a spy: same behaviour, counts the monitor's polls
        polls.release()
        return real(ctx)
    monkeypatch.setattr(smartcard, "_list_readers", counting)
    drv = driver(url="No Such Reader")
    drv.start()
    err = rec.wait_for("smartcard.error").data
    assert err.code == "smartcard.no_reader" and "No Such Reader" in err.reason
    rec.wait_for("smartcard.state", state_is(DeviceState.ERROR))
    mark = rec.mark()
    for _ in range(4):  # several more polls happen; none reports the same fault again
        assert polls.acquire(timeout=WAIT_S)
    drv.stop()
    assert "smartcard.error" not in rec.topics()[mark:]


def test_wrong_card_is_a_typed_error(stack, rec, driver, make_card):
    drv = driver()
    drv.start()
    make_card(profile="staff", values={"staff_number": "ZZ0001", "name": "李四"}).insert()
    err = rec.wait_for("smartcard.error").data
    assert err.code == "smartcard.wrong_card" and err.sw == 0x6A82


def test_staff_profile_on_the_second_slot(stack, rec, driver, make_card):
    drv = driver(url="VPCD 00 01", profile="staff")
    drv.start()
    values = {"staff_number": "ZZ2024000123", "name": "欧阳娜娜"}
    make_card(profile="staff", values=values, t0=False, slot=1).insert()
    read = rec.wait_for("smartcard.read")
    assert read.extra["reader"] == stack.readers[1]
    assert {k: v for k, v in read.data.items() if v is not None} == values


def test_read_once_probe(stack, driver, make_card):
    drv = driver()  # not started: the probe works on its own context
    with pytest.raises(DeviceTimeout):
        drv.read_once(timeout_s=0.3)
    make_card().insert()
    result = drv.read_once(timeout_s=WAIT_S)
    assert result.reader == stack.readers[0] and result.uid == "04A23B1C"
    assert result.data["social_security_number"] == "410122199001011234"
    assert "410122199001011234" not in repr(result)
    summary = json.dumps(result.masked(), ensure_ascii=False)  # what `kiosk doctor` prints
    assert "410***********1234" in summary and "张*丰" in summary and "2031-06-01" in summary
    for secret in ("410122199001011234", "张三丰", "1990-01-01"):
        assert secret not in summary


def test_registry_builds_and_validates_options(bus):
    drv = registry.build("smartcard", {"driver": "smartcard.pcsc", "url": "", "options": {}}, bus)
    assert drv.options == {"profile": "social-security", "poll_interval_s": 0.5}
    assert drv.role == "smartcard" and drv.driver_name == "smartcard.pcsc"
    with pytest.raises(ConfigError):
        registry.build("smartcard", {"driver": "smartcard.pcsc", "options": {"poll_interval_s": 0}}, bus)
    with pytest.raises(ConfigError):
        registry.build("smartcard", {"driver": "smartcard.pcsc", "options": {"profile": "nope"}}, bus)
