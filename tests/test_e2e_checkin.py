"""The check-in path end to end, on real parts (issue 2).

ID-card simulator on a pty speaking the reader's serial protocol -> the runtime's driver reads the
card -> the session asks the reference central service over a real Mosquitto (MQTT v5) for today's
appointments -> the citizen confirms -> the check-in goes through the durable outbox with an
idempotency key -> the central service records it once and answers with a queue number -> the
runtime prints a ticket on the ESC/POS printer simulator over TCP -> the simulator renders it ->
zxing-cpp decodes the ticket's QR code and the test checks the text.
"""
from __future__ import annotations

import threading

import pytest
import zxingcpp

from hall_central.seed import demo_citizens
from hall_central.service import CentralService
from hall_demo.broker import free_port
from hall_demo.hub import SimHub
from kiosk import config
from kiosk.runtime import Runtime
from kiosk.services import tickets
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(tmp_path, broker):
    central = CentralService(broker.url, str(tmp_path / "central.db"))
    central.start()
    cfg = config.from_dict({
        "terminal": {"id": "ZM-E2E-0001", "hall": "中牟县刁家乡便民服务中心", "hall_code": "H410122203",
                     "region": {"city": "410100", "county": "410122", "township": "410122203"}},
        "runtime": {"state_dir": str(tmp_path / "state")},
        "network": {"broker": broker.url, "request_timeout_s": 5.0},
        "devices": {
            "idcard": {"driver": "idcard.sam-serial", "url": str(tmp_path / "idcard.pty"),
                       "options": {"poll_interval_s": 0.05}},
            "printer": {"driver": "printer.escpos", "url": f"tcp://127.0.0.1:{free_port()}"},
        },
    })
    hub = SimHub(cfg, ticket_dir=tmp_path / "tickets").start()
    runtime = Runtime(cfg).start()
    wait_for(lambda: runtime.gateway.online, 15, "the gateway to connect")
    yield runtime, hub, central
    runtime.stop()
    hub.stop()
    central.stop()


def test_checkin_path_end_to_end(stack, tmp_path):
    runtime, hub, central = stack
    services = runtime.services
    started = threading.Event()
    runtime.bus.subscribe("session.started", lambda e: started.set())

    hub.place_card(0)  # the demo citizen with one appointment today, check-in window open
    assert started.wait(15), "the card was not read"
    citizen = services.sessions.citizen
    assert citizen.masked_name == "王*兰"

    appointments = services.checkin.appointments_today()
    assert len(appointments) == 1
    appointment = appointments[0]

    result = services.checkin.check_in(appointment["appointment_id"])
    assert result["queue_no"] and result["window"]
    assert runtime.gateway.outbox_depth() == 0  # removed on the central service's answer

    # Checking in again (another attempt, after the first was answered): same ticket, applied once.
    again = services.checkin.check_in(appointment["appointment_id"])
    assert again["queue_no"] == result["queue_no"]
    assert central.store.count_checkins(appointment["appointment_id"]) == 1

    outcome = services.checkin.print_ticket(result)
    assert outcome.printed, outcome.error
    ticket = wait_for(lambda: hub.tickets(), 10, "the printer simulator to render the ticket")[-1]
    assert ticket.png_path and str(ticket.png_path).endswith(".png")

    decoded = [r.text for r in zxingcpp.read_barcodes(ticket.image)]
    # The code opens the configured portal with the central service's token: nothing guessable.
    expected = tickets.follow_ticket_url(services.checkin.follow_url, result["follow_token"])
    assert decoded == [expected] and result["queue_no"] not in expected
    assert result["queue_no"] in ticket.text and "王*兰" in ticket.text

    # Nothing of the citizen on paper beyond the masked name.
    citizen_record = demo_citizens()[0]
    assert citizen_record["name"] not in ticket.text
    assert citizen_record["id_number"] not in ticket.text

    hub.remove_card()
    wait_for(lambda: services.sessions.citizen is None, 10, "the session to end on card removal")
