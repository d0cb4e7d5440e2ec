"""The gateway against the reference central service (central/hall_central) over a real Mosquitto."""
from __future__ import annotations

import datetime as dt

import pytest

from hall_central.clock import TZ, FixedClock
from hall_central.seed import demo_citizens
from hall_central.service import CentralService
from kiosk.network.errors import Rejected
from kiosk.network.gateway import Gateway

from .conftest import REGIONS, TERMINAL


@pytest.fixture
def central_gw(broker, bus, tmp_path, waiter):
    svc = CentralService(broker.url, str(tmp_path / "central.db"),
                         clock=FixedClock(start=dt.datetime(2026, 3, 18, 10, 7, tzinfo=TZ)), instance="t1").start()
    gw = Gateway(TERMINAL, broker.url, REGIONS, tmp_path / "state", bus, reconnect_max_s=0.3)
    gw.start()
    waiter.wait("network.online")
    yield gw
    gw.stop()
    svc.stop()


def test_catalogue_lookup_ticket_feedback_event(central_gw, waiter):
    gw = central_gw
    assert gw.sync_catalogue() is True and gw.catalogue.version > 0
    assert any(i["name"] == "老年优待证办理" for i in gw.catalogue.search("lnyd"))
    assert gw.sync_catalogue() is False  # same version: unchanged
    citizen = demo_citizens()[0]
    ref = gw.request("citizen.lookup", {"id_number": citizen["id_number"], "name": citizen["name"]})
    assert ref["known"] and citizen["id_number"] not in ref["citizen_ref"]
    line = gw.catalogue.lines()[0]["code"]
    ticket = gw.submit("ticket.walkin", {"line": line, "citizen_ref": ref["citizen_ref"]}).wait(5)
    assert ticket["line"] == line and ticket["queue_no"]
    fb = gw.submit("feedback.submit", {"kind": "rate", "target": {"hall": True}, "rating": 5}).wait(5)
    assert fb["status"] == "received"
    eid = gw.emit_event("staff.call", {"reason": "help"})
    waiter.wait("network.result", pred=lambda e: e.data["id"] == eid)
    assert gw.outbox_depth() == 0


def test_replayed_idem_with_other_body_is_a_conflict(central_gw):
    gw = central_gw
    gw.sync_catalogue()
    line = gw.catalogue.lines()[0]["code"]
    first = gw.submit("ticket.walkin", {"line": line}, idem="idem-fixed-1").wait(5)
    again = gw.submit("ticket.walkin", {"line": line}, idem="idem-fixed-1").wait(5)
    assert again == first  # a replay gets the first answer
    other = gw.catalogue.lines()[1]["code"]
    with pytest.raises(Rejected) as e:
        gw.submit("ticket.walkin", {"line": other}, idem="idem-fixed-1").wait(5)
    assert e.value.error_code == "conflict"
