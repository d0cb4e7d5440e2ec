"""The gateway against a real Mosquitto and a tiny in-test central responder."""
from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hall_demo.broker import Broker, free_port
from kiosk.network import schemas, topics
from kiosk.network.envelope import Envelope
from kiosk.network.errors import InvalidMessage, Offline, Rejected, Timeout
from kiosk.network.gateway import Gateway, Pending

from .conftest import REGIONS, TERMINAL, Responder


@pytest.fixture
def make_gateway(bus, tmp_path):
    made = []

    def make(url: str, **kw) -> Gateway:
        kw.setdefault("request_timeout_s", 5.0)
        kw.setdefault("reconnect_max_s", 0.3)
        gw = Gateway(TERMINAL, url, REGIONS, tmp_path / "state", bus, **kw)
        made.append(gw)
        gw.start()
        return gw
    yield make
    for gw in made:
        gw.stop()


@pytest.fixture
def online_gw(broker, responder, make_gateway, waiter):
    gw = make_gateway(broker.url)
    waiter.wait("network.online")
    return gw


def test_request_response(online_gw):
    result = online_gw.request("slots.list", {"item_code": "I-001", "date": "2026-11-25"})
    assert result["slots"][0]["slot_id"] == "S1"


def test_tcp_nodelay_is_set(online_gw):
    sock = online_gw.client.socket()
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_offline_request_raises_offline_at_once(bus, tmp_path, make_gateway):
    gw = make_gateway(f"mqtt://127.0.0.1:{free_port()}")
    with pytest.raises(Offline):
        gw.request("slots.list", {"item_code": "I-001", "date": "2026-11-25"})
    assert gw.online is False


def test_request_timeout(online_gw, responder):
    responder.silent.add("slots.list")
    with pytest.raises(Timeout):
        online_gw.request("slots.list", {"item_code": "I-001", "date": "2026-11-25"}, timeout_s=0.3)


def test_rejected_request_and_durable(online_gw, responder):
    responder.errors["application.get"] = {"code": "not_found", "message": "no such application"}
    with pytest.raises(Rejected) as e:
        online_gw.request("application.get", {"application_no": "SQ-404"})
    assert e.value.error_code == "not_found"
    responder.errors["checkin"] = {"code": "too_early", "message": "opens 08:30"}
    pending = online_gw.submit("checkin", {"appointment_id": "AP-1"})
    with pytest.raises(Rejected) as e:
        pending.wait(5)
    assert e.value.error_code == "too_early" and "come back" in e.value.action
    assert online_gw.outbox_depth() == 0  # a definitive no removes the row


def test_durable_submit_result_and_bus(online_gw, waiter):
    pending = online_gw.submit("checkin", {"appointment_id": "AP-7"})
    assert isinstance(pending, Pending) and pending.idem
    assert pending.wait(5)["queue_no"] == "A012"
    ev = waiter.wait("network.result", pred=lambda e: e.data["id"] == pending.id)
    assert ev.data["ok"] and ev.data["result"]["appointment_id"] == "AP-7"
    assert online_gw.outbox_depth() == 0


def test_durable_timeout_keeps_row_then_result_arrives_on_bus(online_gw, responder, waiter):
    responder.silent.add("checkin")
    online_gw.retry_after_s = 0.3  # resend soon (the default waits request_timeout_s)
    pending = online_gw.submit("checkin", {"appointment_id": "AP-8"})
    with pytest.raises(Timeout):
        pending.wait(0.3)
    assert online_gw.outbox.get(pending.id) is not None
    responder.silent.clear()
    # The timer resends with the same id and idem; the answer comes as network.result.
    ev = waiter.wait("network.result", timeout_s=15, pred=lambda e: e.data["id"] == pending.id)
    assert ev.data["ok"]
    assert online_gw.outbox_depth() == 0
    assert responder.applied[pending.idem] == 1


def test_invalid_result_raises_invalid_message(online_gw, responder):
    responder.results["slots.list"] = {"slots": [{"slot_id": "S1"}]}  # missing fields
    with pytest.raises(InvalidMessage):
        online_gw.request("slots.list", {"item_code": "I-001", "date": "2026-11-25"})


def test_invalid_request_body_is_refused_before_sending(online_gw):
    with pytest.raises(InvalidMessage):
        online_gw.request("slots.list", {"item_code": "I-001", "date": "25/11/2026"})
    with pytest.raises(InvalidMessage):
        online_gw.submit("checkin", {"appointment": "AP-1"})
    assert online_gw.outbox_depth() == 0


def test_event_is_acked_and_removed(online_gw, waiter):
    eid = online_gw.emit_event("device.fault", {"role": "printer", "code": "paper_out"})
    waiter.wait("network.result", pred=lambda e: e.data["id"] == eid)
    assert online_gw.outbox_depth() == 0


def test_commands_and_broadcasts_reach_the_bus(online_gw, broker, waiter):
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        bad = Envelope("cmd", "restart", TERMINAL, {"args": {}})  # no target/seq/expires_at: dropped
        good = Envelope("cmd", "print.test", TERMINAL, {"args": {}, "target": TERMINAL, "seq": 7,
                                                         "expires_at": "2026-11-25T00:00:00Z", "sig": "abc"})
        bc = Envelope("bcast", "announcement", "central", {"text": "今日16:00停电检修", "text_en": "Power cut at 16:00",
                                                         "level": "warning", "until": "2026-11-25T08:00:00Z"})
        c.publish(topics.cmd(TERMINAL), bad.to_bytes(), qos=1).wait_for_publish(5)
        c.publish(topics.cmd(TERMINAL), good.to_bytes(), qos=1).wait_for_publish(5)
        c.publish(topics.bcast("410100"), bc.to_bytes(), qos=1).wait_for_publish(5)
        ev = waiter.wait("network.command")
        assert ev.data["id"] == good.id and ev.data["body"]["sig"] == "abc"
        assert waiter.wait("network.broadcast").extra["region"] == "410100"
        assert [e.data["id"] for e in waiter.events if e.topic == "network.command"] == [good.id]
    finally:
        c.disconnect()
        c.loop_stop()


def test_birth_will_telemetry_and_every_message_validates(online_gw, responder, broker):
    online_gw.request("citizen.lookup", {"id_number": "410122199001011234", "name": "张三"})
    online_gw.submit("feedback.submit", {"kind": "rate", "target": {"hall": True}, "rating": 5}).wait(5)
    online_gw.submit("ticket.walkin", {"line": "A", "citizen_ref": "CR-42"}).wait(5)
    online_gw.emit_event("staff.call", {"reason": "help"})
    assert online_gw.publish_telemetry({"devices": {"printer": {"state": "ready"}}})
    assert responder.wait_for(lambda rec: any(t.endswith("/telemetry") for t, _ in rec))
    assert responder.wait_for(lambda rec: any(t.endswith("/evt") for t, _ in rec))
    births = [e for t, e in responder.received if t == topics.state(TERMINAL)]
    assert births and births[0]["body"]["online"] is True and births[0]["body"]["regions"] == REGIONS
    for topic, env in responder.received:
        if topics.parse(topic).terminal == TERMINAL:
            schemas.validate_message(topic, env)  # raises on any drift


def test_broker_down_at_boot_then_up_drains_outbox(bus, tmp_path, make_gateway, waiter):
    port = free_port()
    # Why retry_after_s: the gateway may drain before the responder subscribes; the timer resends.
    gw = make_gateway(f"mqtt://127.0.0.1:{port}", retry_after_s=0.5)
    pendings = [gw.submit("checkin", {"appointment_id": f"AP-{i}"}) for i in range(3)]
    assert gw.outbox_depth() == 3 and not gw.online
    with Broker(port=port) as b:
        r = Responder(b.url).start()
        try:
            # Generous bounds (never speed checks): on a loaded machine the first reconnect
            # attempt after the broker appears is up to reconnect_max_s away.
            waiter.wait("network.online", timeout_s=30)
            results = [p.wait(30) for p in pendings]
            assert [x["appointment_id"] for x in results] == ["AP-0", "AP-1", "AP-2"]
            assert gw.outbox_depth() == 0
            order = [e["body"]["appointment_id"] for t, e in r.received if t.endswith("/req/checkin")]
            assert order[:3] == ["AP-0", "AP-1", "AP-2"]  # retried in order
        finally:
            r.stop()


def test_broker_restart_mid_traffic_loses_nothing_applies_once(broker, responder, make_gateway, waiter):
    gw = make_gateway(broker.url)
    waiter.wait("network.online")
    pendings = [gw.submit("checkin", {"appointment_id": f"AP-{i}"}) for i in range(10)]
    broker.restart()
    waiter.wait("network.offline")
    pendings += [gw.submit("checkin", {"appointment_id": f"AP-{i}"}) for i in range(10, 20)]
    for p in pendings:
        p.wait(15)
    assert gw.outbox_depth() == 0
    assert len(responder.applied) == 20
    assert set(responder.applied.values()) == {1}


def test_puback_failure_keeps_row(make_gateway, waiter):
    # Why a world-readable dir: mosquitto drops root privileges before it reads acl_file.
    acl_dir = Path(tempfile.mkdtemp(prefix="kiosk-acl-"))
    acl_dir.chmod(0o755)
    acl = acl_dir / "acl"
    # Everything for this terminal except req/checkin: Mosquitto answers that publish with 0x87.
    acl.write_text("\n".join(f"topic readwrite kiosk/v1/{TERMINAL}/{t}" for t in
                             ("res", "cmd", "state", "evt", "telemetry", "req/slots.list")) +
                   "\ntopic read kiosk/v1/bcast/#\n")
    acl.chmod(0o644)
    with Broker(extra_conf=f"acl_file {acl}\n") as b:
        gw = make_gateway(b.url)
        waiter.wait("network.online")
        pending = gw.submit("checkin", {"appointment_id": "AP-1"})
        ev = waiter.wait("network.not_delivered", pred=lambda e: e.data["id"] == pending.id)
        assert "0x87" in ev.data["reason"]
        row = gw.outbox.get(pending.id)
        assert row is not None and "0x87" in row.last_error and row.attempts >= 1
        with pytest.raises(Timeout):
            pending.wait(0.2)
    shutil.rmtree(acl_dir, ignore_errors=True)


def test_sync_catalogue_and_search(online_gw):
    assert online_gw.catalogue.version == 0
    assert online_gw.sync_catalogue() is True
    assert online_gw.catalogue.version == 3
    assert [i["code"] for i in online_gw.catalogue.search("lnyd")] == ["I-001"]


def test_from_config(bus, tmp_path):
    from kiosk.config import from_dict
    cfg = from_dict({"terminal": {"id": TERMINAL, "region": {"city": "410100", "county": "410122"}},
                     "runtime": {"state_dir": str(tmp_path / "s")},
                     "network": {"broker": "mqtt://127.0.0.1:1884", "request_timeout_s": 2.5}})
    gw = Gateway.from_config(cfg, bus)
    try:
        assert (gw.host, gw.port, gw.request_timeout_s, gw.regions) == ("127.0.0.1", 1884, 2.5, REGIONS)
    finally:
        gw.stop()
