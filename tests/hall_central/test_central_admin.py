"""The admin CLI against a real broker and the service's database."""
from __future__ import annotations

import io
import json
import threading

import paho.mqtt.client as mqtt

from hall_central import admin
from hall_central.service import parse_broker_url
from hall_central.store import Store
from kiosk.network import schemas, topics
from kiosk.network.envelope import Envelope


def _listen(broker_url, topic):
    got, ready = [], threading.Event()
    arrived = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.on_connect = lambda cl, *a: cl.subscribe(topic, 1)
    c.on_subscribe = lambda *a: ready.set()

    def on_message(cl, ud, msg):
        got.append((msg.topic, Envelope.from_bytes(msg.payload).to_dict()))
        arrived.set()
    c.on_message = on_message
    c.connect(*parse_broker_url(broker_url))
    c.loop_start()
    assert ready.wait(10)
    return c, got, arrived


def test_announce_and_command_reach_the_terminal_topics(service, broker):
    c, got, arrived = _listen(broker.url, "kiosk/v1/#")
    try:
        out = io.StringIO()
        assert admin.main(["--broker", broker.url, "--db", service.store.path, "announce", "--region", "410100",
                           "--text", "今日下午系统维护", "--text-en", "Maintenance this afternoon"], out=out) == 0
        assert arrived.wait(10)
        topic, env = got[0]
        assert topic == topics.bcast("410100")
        schemas.validate_message(topic, env)
        arrived.clear()
        for expected_seq in (1, 2):
            assert admin.main(["--broker", broker.url, "--db", service.store.path, "command", "--terminal",
                               "ZM-T0001", "--op", "print.test", "--args", '{"copies": 1}'], out=out) == 0
            assert arrived.wait(10)
            arrived.clear()
            topic, env = got[-1]
            schemas.validate_message(topic, env)
            assert env["body"]["seq"] == expected_seq and env["body"]["target"] == "ZM-T0001"
    finally:
        c.disconnect()
        c.loop_stop()


def test_advance_moves_an_application_up_the_levels(service, client):
    s = Store(service.store.path)
    no = s.demo_applications()[0]["application_no"]
    before = s.application(no)
    s.close()
    seen = []
    for _ in range(len(before["steps"]) - before["current"]):
        out = io.StringIO()
        assert admin.main(["--db", service.store.path, "advance", "--application", no], out=out) == 0
        seen.append(json.loads(out.getvalue()))
    assert [x["status"] for x in seen][-1] == "done" and all(x["status"] == "in_progress" for x in seen[:-1])
    app = client.ok("application.get", {"application_no": no})["application"]
    assert app["status"] == "done" and all(st["status"] == "done" and st["at"] for st in app["steps"])
    out = io.StringIO()
    assert admin.main(["--db", service.store.path, "advance", "--application", no], out=out) == 1
    assert json.loads(out.getvalue())["code"] == "closed"


def test_terminals_lists_json_lines(service):
    out = io.StringIO()
    assert admin.main(["--db", service.store.path, "terminals"], out=out) == 0
