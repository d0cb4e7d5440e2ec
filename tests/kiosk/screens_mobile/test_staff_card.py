"""The demo's staff card on real parts: the simulator hub's ``insert-staff-card`` (a virtual card of
the ``staff`` profile in a private pcscd + vpcd), read by the real smartcard.pcsc driver configured as
in config/mobile-demo.toml, signs the staff member in through MobileService's bus subscription."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from hall_demo.hub import SimHub, control, control_path
from kiosk import config
from kiosk.clock import Clock
from kiosk.devices import registry
from kiosk.events import EventBus
from kiosk.services.mobile import MobileService
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

STAFF = [{"id": "S001", "name": "李建国", "pin_hash": ""}, {"id": "S002", "name": "王芳", "pin_hash": ""}]


@pytest.fixture
def rig(tmp_path):
    cfg = config.from_dict({
        "terminal": {"id": "ZM-MOBILE-TEST", "region": {"city": "410100"}},
        "runtime": {"state_dir": str(tmp_path / "state")},
        "devices": {"smartcard": {"driver": "smartcard.pcsc", "url": "",
                                  "options": {"profile": "staff", "poll_interval_s": 0.1}}},
    })
    hub = SimHub(cfg).start()
    hub.serve(control_path(cfg))
    bus = EventBus()
    seen: dict[str, list] = {}
    lock = threading.Lock()

    def record(e):
        with lock:
            seen.setdefault(e.topic, []).append(e)
    bus.subscribe("*", record)
    device = registry.build("smartcard", cfg.devices()["smartcard"], bus)
    mobile = MobileService(None, None, None, bus, Clock(), staff=[dict(s) for s in STAFF])
    device.start()
    yield cfg, hub, bus, seen, mobile
    mobile.close()
    device.stop()
    hub.stop()


def test_staff_card_from_the_hub_signs_in(rig):
    cfg, hub, bus, seen, mobile = rig
    reply = control(control_path(cfg), {"op": "insert-staff-card", "staff_number": "S002"})
    assert reply == {"ok": True, "result": "staff card inserted"}
    event = wait_for(lambda: seen.get("smartcard.read"), 20, "the staff card read")[0]
    assert event.extra["profile"] == "staff"
    assert event.data["staff_number"] == "S002" and event.data["name"] == "王芳"
    assert event.data["valid_until"] > dt.date.today()
    staff = wait_for(lambda: mobile.staff, 5, "the staff sign-in")
    assert (staff.staff_id, staff.how, staff.masked_name) == ("S002", "card", "王*")
    assert "王芳" not in repr(event.data)  # the card's name is masked wherever it is printed


def test_unknown_staff_card_is_refused(rig):
    cfg, hub, bus, seen, mobile = rig
    hub.insert_staff_card("S404", "张三")
    wait_for(lambda: seen.get("mobile.signin_failed"), 20, "the refusal")
    assert mobile.staff is None
    assert "not on this terminal's staff list" in seen["mobile.signin_failed"][0].data["reason"]
    hub.remove_smartcard()
    wait_for(lambda: seen.get("smartcard.removed"), 10, "the card removal")
