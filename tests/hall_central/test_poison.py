"""Hostile input over a real Mosquitto (issue 13): a bad message costs only itself, and the sender
is the topic's terminal. Every input of demo/hall_demo/bench/poison.py arrives between valid
requests of another terminal while the writer is held on the database lock: the front
(hall_central.front) answers every refusal at the door while the writer waits, and the valid
requests are all answered once it goes on."""
from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from hall_central import seed
from hall_central.service import CentralService, parse_broker_url
from hall_central.store import Store
from hall_demo.bench.poison import POISONS
from kiosk.network import envelope, topics
from tests.waiting import wait_for

from .conftest import TermClient

GOOD, EVIL = "ZM-GOOD01", "ZM-EVIL01"


class Sniffer:
    """A raw client: publishes bytes and records every message on every terminal's res topic."""

    def __init__(self, broker_url: str) -> None:
        self.got: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        sub = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sniff-" + uuid.uuid4().hex[:8],
                             protocol=mqtt.MQTTv5)
        self.c.on_message = lambda c, u, m: self._add(m.topic, json.loads(m.payload))
        self.c.on_subscribe = lambda *a: sub.set()
        self.c.on_connect = lambda c, *a: c.subscribe("kiosk/v1/+/res", 1)
        self.c.connect(*parse_broker_url(broker_url))
        self.c.loop_start()
        assert sub.wait(10), "no SUBACK"

    def _add(self, topic: str, msg: dict) -> None:
        with self.lock:
            self.got.append((topic, msg))

    def answers(self, corr: str) -> list[tuple[str, dict]]:
        with self.lock:
            return [(t, m) for t, m in self.got if m.get("corr") == corr]

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def sniffer(broker):
    s = Sniffer(broker.url)
    yield s
    s.close()


@pytest.fixture
def good(broker):
    c = TermClient(broker.url, (GOOD,))
    yield c
    c.close()
    assert not c.invalid, c.invalid


def _counting(service: CentralService) -> list:
    """Count what the front hands the writer (to know when every accepted message is queued)."""
    seen: list = []
    put = service.queue.put

    def counting_put(item: Any, *a: Any, **k: Any) -> bool:
        seen.append(1)
        return put(item, *a, **k)
    service.queue.put = counting_put  # type: ignore[method-assign]  # a test's spy on the writer's queue
    return seen


def test_a_bad_message_costs_only_itself(service, good, sniffer):
    ref = good.ok("citizen.lookup", {"id_number": seed.demo_citizens()[1]["id_number"],
                                     "name": seed.demo_citizens()[1]["name"]})["citizen_ref"]
    appt = good.ok("appointments.list", {"citizen_ref": ref})["appointments"][0]["appointment_id"]
    seen = _counting(service)
    blocker = sqlite3.connect(service.db_url, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer waits on its first batch; the rest queue up behind it
    answered = [p for p in POISONS if p.expect != "dropped"]
    try:
        valid = [good.send("ticket.walkin", {"line": "A"})]
        wait_for(lambda: seen and service.queue.qsize() == 0, 10, "the writer to take the first request")
        for k, p in enumerate(POISONS):
            body = {"appointment_id": appt, "citizen_ref": ref} if k == 1 else {"line": "A"}
            valid.append(good.send("checkin" if k == 1 else "ticket.walkin", body))
            sniffer.publish(topics.req(EVIL, p.op), p.make(f"p{k}", EVIL, GOOD))
        # The door answers while the writer is still held: poison waits for nothing.
        wait_for(lambda: all(sniffer.answers(f"p{POISONS.index(p)}") for p in answered), 10,
                 "every refusal answered while the writer waits on the database")
        assert not any(sniffer.answers(e.id) for e in valid)  # the writer is indeed held
        wait_for(lambda: len(seen) == len(valid), 10, "every valid request to reach the writer's lanes")
        assert service.queue.qsize() == len(valid) - 1  # only the valid ones queued
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    bodies = [good.wait(e.id) for e in valid]
    assert all(b["ok"] for b in bodies), [b for b in bodies if not b["ok"]]
    tickets = [b["result"]["queue_no"] for k, b in enumerate(bodies) if k != 2]  # bodies[2]: the check-in
    assert tickets == [f"A{i:03d}" for i in range(1, len(bodies))]
    assert good.ok("ticket.walkin", {"line": "A"})["queue_no"] == f"A{len(bodies):03d}"  # nothing made for EVIL's
    for k, p in enumerate(POISONS):
        got = sniffer.answers(f"p{k}")
        if p.expect == "dropped":
            assert got == [], p.name
            continue
        assert [t for t, _ in got] == [topics.res(EVIL)], (p.name, got)  # the sender's own topic, once
        msg = got[0][1]
        assert msg["terminal"] == EVIL and msg["body"]["error"]["code"] == p.expect, (p.name, msg)
    assert {t for t, _ in sniffer.got} == {topics.res(GOOD), topics.res(EVIL)}
    dropped = sum(p.expect == "dropped" for p in POISONS)
    assert service.stats["dropped"] == dropped and service.stats["refusals"]["too_deep"] == dropped
    assert service.stats["refusals"]["invalid"] == sum(p.expect == "invalid" for p in POISONS)
    assert service.stats["refusals"]["forbidden"] == 1


def _env(kind: str, op: str, terminal: str, body: dict) -> bytes:
    return envelope.Envelope(kind, op, terminal, body, idem=envelope.new_id() if kind == "evt" else None).to_bytes()


def _terminals(service) -> dict:
    s = Store(service.db_url)
    try:
        return {t["terminal"]: t for t in s.terminals()}
    finally:
        s.close()


def _events(service) -> list:
    s = Store(service.db_url)
    try:
        return s.events()
    finally:
        s.close()


def test_the_sender_is_the_topics_terminal(service, good, sniffer):
    birth = {"online": True, "version": "0.1.0", "profile": "kiosk", "regions": ["410100"],
             "started_at": envelope.now_iso()}
    sniffer.publish(topics.state(GOOD), _env("state", "state", GOOD, birth))
    telemetry = {"uptime_s": 1, "devices": {}, "outbox_depth": 99999, "online_since": None}
    evt = envelope.Envelope("evt", "device.fault", GOOD, {"data": {"role": "printer"}, "at": envelope.now_iso()},
                            idem=envelope.new_id())
    # EVIL, on its own topics, speaking as GOOD:
    sniffer.publish(topics.evt(EVIL), evt.to_bytes())
    sniffer.publish(topics.telemetry(EVIL), _env("telemetry", "telemetry", GOOD, telemetry))
    sniffer.publish(topics.state(EVIL), _env("state", "state", GOOD, {"online": False}))
    walkin = envelope.request(GOOD, "ticket.walkin", {"line": "B"}, idem=envelope.new_id())
    sniffer.publish(topics.req(EVIL, "ticket.walkin"), walkin.to_bytes())
    assert good.ok("catalogue.sync", {"since_version": 2})  # the writer handles messages in order
    wait_for(lambda: sniffer.answers(walkin.id), 10, "the refusal of the impersonated walk-in")
    for corr in (evt.id, walkin.id):
        got = sniffer.answers(corr)
        assert [(t, m["body"]["error"]["code"]) for t, m in got] == [(topics.res(EVIL), "forbidden")], got
    terms = _terminals(service)
    assert set(terms) == {GOOD} and terms[GOOD]["online"] and terms[GOOD]["telemetry"] is None
    assert _events(service) == []
    assert good.ok("ticket.walkin", {"line": "B"})["queue_no"] == "B001"  # EVIL's made no ticket
    # EVIL speaking as itself is recorded under its own name
    sniffer.publish(topics.telemetry(EVIL), _env("telemetry", "telemetry", EVIL, telemetry))
    assert good.ok("catalogue.sync", {"since_version": 2})
    assert _terminals(service)[EVIL]["telemetry"]["outbox_depth"] == 99999
    assert service.stats["refusals"]["forbidden"] == 4


def test_retained_poison_on_a_state_topic_survives_restarts_without_touching_another(broker, tmp_path, clock,
                                                                                      sniffer):
    birth = {"online": True, "version": "0.1.0", "profile": "kiosk", "regions": ["410100"],
             "started_at": envelope.now_iso()}
    sniffer.publish(topics.state(GOOD), _env("state", "state", GOOD, birth), retain=True)
    deep = next(p for p in POISONS if p.name == "nested_100000")
    # Retained on the poisoners' OWN state topics, sorting before and after GOOD's.
    for evil in ("AA-EVIL01", "ZZ-EVIL01"):
        sniffer.publish(topics.state(evil), _env("state", "state", GOOD, {"online": False}), retain=True)
        sniffer.publish(topics.state(evil + "X"), deep.make("s1", evil, GOOD), retain=True)
        sniffer.publish(topics.state(evil + "Y"), b'{"id":"s2","type":"state","op":"state","v":1,'
                        b'"ts":"2026-12-03T06:00:00.000Z","terminal":"+","body":{"online":false}}', retain=True)
    db = str(tmp_path / "central.db")
    for restart in range(2):
        svc = CentralService(broker.url, db, clock=clock, instance=f"r{restart}").start()
        c = TermClient(broker.url, (GOOD,))
        try:
            assert c.ok("catalogue.sync", {"since_version": 2})  # after the retained states
            terms = _terminals(svc)
            assert set(terms) == {GOOD}, terms
            assert terms[GOOD]["online"] and terms[GOOD]["state"] == birth
            assert svc.stats["refusals"] == {"forbidden": 2, "too_deep": 2, "invalid": 2}
        finally:
            c.close()
            svc.stop()
