"""The gateway and the central service over mutual TLS with the production-style broker profile:
a refused publish keeps its outbox row; a whole check-in works end to end over mqtts://."""
from __future__ import annotations

import threading

import pytest

from hall_central.service import CentralService
from hall_demo.broker import free_port
from hall_demo.hub import SimHub
from kiosk import config
from kiosk.events import EventBus
from kiosk.network.gateway import Gateway
from kiosk.runtime import Runtime
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def test_refused_publish_keeps_the_outbox_row(pki_dir, tls_broker, tmp_path):
    # A gateway that claims to be ZM-0002 while holding ZM-0001's certificate: every publish
    # to kiosk/v1/ZM-0002/... is refused with PUBACK 0x87 and must stay in the outbox.
    bus = EventBus()
    refused = threading.Event()
    online = threading.Event()
    bus.subscribe("network.not_delivered", lambda e: refused.set() if e.data.get("op") == "checkin" else None)
    bus.subscribe("network.online", lambda e: online.set())
    gw = Gateway("ZM-0002", tls_broker.url, ["410100"], tmp_path / "state", bus,
                 tls=pki_dir.terminal_tls("ZM-0001"))
    gw.start()
    try:
        assert online.wait(10), "no TLS session"
        pending = gw.submit("checkin", {"appointment_id": "AP-1"})
        assert refused.wait(10), "the refusal was not reported"
        row = gw.outbox.get(pending.id)
        assert row is not None and "0x87" in row.last_error
        assert gw.outbox_depth() == 1 and not pending.done
    finally:
        gw.stop()


def test_checkin_end_to_end_over_mutual_tls(pki_dir, tls_broker, tmp_path):
    central = CentralService(tls_broker.url, str(tmp_path / "central.db"), tls=pki_dir.central_tls()).start()
    tls = pki_dir.terminal_tls("ZM-E2E-0001")
    cfg = config.from_dict({
        "terminal": {"id": "ZM-E2E-0001", "hall": "中牟县刁家乡便民服务中心", "hall_code": "H410122203",
                     "region": {"city": "410100", "county": "410122"}},
        "runtime": {"state_dir": str(tmp_path / "state")},
        "network": {"broker": tls_broker.url, "ca_file": tls["ca"], "cert_file": tls["cert"], "key_file": tls["key"]},
        "devices": {
            "idcard": {"driver": "idcard.sam-serial", "url": str(tmp_path / "idcard.pty"),
                       "options": {"poll_interval_s": 0.05}},
            "printer": {"driver": "printer.escpos", "url": f"tcp://127.0.0.1:{free_port()}"},
        },
    })
    hub = SimHub(cfg, ticket_dir=tmp_path / "tickets").start()
    runtime = Runtime(cfg).start()
    try:
        wait_for(lambda: runtime.gateway.online, 15, "the gateway to connect over TLS")
        started = threading.Event()
        runtime.bus.subscribe("session.started", lambda e: started.set())
        hub.place_card(0)
        assert started.wait(15), "the card was not read"
        appointments = runtime.services.checkin.appointments_today()
        result = runtime.services.checkin.check_in(appointments[0]["appointment_id"])
        assert result["queue_no"]
        assert runtime.gateway.outbox_depth() == 0
        assert central.store.count_checkins(appointments[0]["appointment_id"]) == 1
    finally:
        runtime.stop()
        hub.stop()
        central.stop()
