"""Fixtures of the contract's conformance tests: the AsyncAPI document as the judge, a real
Mosquitto, the real reference central service on a fixed clock, a wire that publishes raw bytes
and hears every terminal's responses, and the records of the seeded world (citizen refs, items,
slots, appointments, applications) that make realistic requests succeed.

The document, not kiosk.network.schemas, judges the answers here: it is what another team would
build a terminal or a central service from.
"""
from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import paho.mqtt.client as mqtt
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from hall_central import seed
from hall_central.clock import TZ, FixedClock
from hall_central.service import CentralService, parse_broker_url
from hall_demo.broker import Broker
from kiosk.network import envelope, topics
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = ROOT / "docs" / "asyncapi.yaml"
DOC_URI = "urn:hall-kiosk:asyncapi"
#: A Wednesday 10:07 in the hall: a working day inside opening hours.
T0 = dt.datetime(2026, 3, 18, 10, 7, tzinfo=TZ)
TERMINAL = "ZM-CONF01"
OTHER = "ZM-CONF02"
#: A guard against a hang, never a speed check: the central service answers in milliseconds.
ANSWER_TIMEOUT_S = 10.0


@functools.lru_cache(maxsize=1)
def doc() -> dict:
    """docs/asyncapi.yaml."""
    return yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))


@functools.cache
def doc_validator(pointer: str) -> jsonschema.Draft202012Validator:
    """A validator of the document's schema at JSON pointer ``pointer`` (its refs resolved in the document)."""
    registry = Registry().with_resource(DOC_URI, Resource.from_contents(doc(), default_specification=DRAFT202012))
    return jsonschema.Draft202012Validator({"$ref": f"{DOC_URI}#{pointer}"}, registry=registry)


def doc_operations() -> list[str]:
    """The operations a terminal can request, as the document lists them."""
    return list(doc()["channels"]["request"]["parameters"]["operation"]["enum"])


def message_key(op: str) -> str:
    return op.replace(".", "_")


def request_valid(env: dict, op: str) -> bool:
    """True if ``env`` is a valid request of ``op`` by the document."""
    return doc_validator(f"/components/messages/req_{message_key(op)}/payload").is_valid(env)


def response_errors(env: dict, op: str) -> list[str]:
    """What the document finds wrong with a response to ``op`` (an unknown op: an acknowledgement's form)."""
    name = f"res_{message_key(op)}" if op in doc_operations() else "res_event_ack"
    v = doc_validator(f"/components/messages/{name}/payload")
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}" for e in v.iter_errors(env)]


def schema_valid(name: str, value) -> bool:
    """True if ``value`` is valid by ``#/components/schemas/<name>`` of the document."""
    return doc_validator(f"/components/schemas/{name}").is_valid(value)


class Wire:
    """A paho client that publishes raw bytes on any topic and hears every response on kiosk/v1/+/res."""

    def __init__(self, broker_url: str) -> None:
        self.heard: list[tuple[str, bytes]] = []
        self.cond = threading.Condition()
        self._sub = threading.Event()
        self._ids = itertools.count(1)
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="conformance-" + uuid.uuid4().hex[:8],
                             protocol=mqtt.MQTTv5)
        self.c.on_message = self._on_message
        self.c.on_subscribe = lambda *a: self._sub.set()
        self.c.on_connect = lambda c, *a: c.subscribe(f"{topics.PREFIX}/+/res", qos=1)
        host, port = parse_broker_url(broker_url)
        self.c.connect(host, port)
        self.c.loop_start()
        assert self._sub.wait(10), "no SUBACK for kiosk/v1/+/res"

    def _on_message(self, client, userdata, msg) -> None:
        with self.cond:
            self.heard.append((msg.topic, bytes(msg.payload)))
            self.cond.notify_all()

    def new_id(self) -> str:
        """A message id unique in this run and the same in every run (derandomized examples replay)."""
        return f"conf{next(self._ids):08d}"

    def publish(self, topic: str, payload: bytes) -> None:
        self.c.publish(topic, payload, qos=1)

    def wait_corr(self, corr: str, since: int, what: str) -> int:
        """Index in ``heard`` of the first response with ``corr`` after ``since``."""
        def find():
            for i in range(since, len(self.heard)):
                try:
                    if json.loads(self.heard[i][1]).get("corr") == corr:
                        return i + 1
                except ValueError:
                    continue
            return 0
        with self.cond:
            found = self.cond.wait_for(find, ANSWER_TIMEOUT_S)
        assert found, f"no answer to {what} within {ANSWER_TIMEOUT_S} s"
        return found - 1

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def request_env(wire: Wire, op: str, body: dict, terminal: str = TERMINAL, durable: bool | None = None) -> dict:
    """A valid request envelope (a fresh id; a fresh idem for a durable operation)."""
    from kiosk.network import schemas
    durable = schemas.is_durable(op) if durable is None else durable
    return {"id": wire.new_id(), "type": "req", "op": op, "v": 1, "ts": envelope.now_iso(), "terminal": terminal,
            "corr": None, "idem": "i" + wire.new_id() if durable else None, "body": body}


def encode(env: dict) -> bytes:
    """JSON with every non-ASCII character escaped (so a lone surrogate can travel as ``\\ud800``)."""
    return json.dumps(env).encode("ascii")


@dataclass
class Exchange:
    """What came back for one message: every response heard up to the sentinel's answer."""

    answers: list[tuple[str, dict]]
    dropped_before: int
    dropped_after: int


def publish_alone(broker_url: str, topic: str, payload: bytes) -> str:
    """Publish ``payload`` at QoS 1 from a client of its own; return once the broker has dealt with
    it: ``"acked"`` (PUBACK: it is on its way to the subscribers, ahead of anything published
    after) or ``"disconnected: <reason>"`` (a broker limit refused it and dropped that client).

    Why a client of its own: a broker with a size limit disconnects the sender of an oversized
    packet (MQTT v5 reason 0x95), and paho would resend the unacknowledged message on every
    reconnect; the shared wire would be lost for every test after.
    """
    done = threading.Event()
    outcome: list[str] = []

    def finish(what: str) -> None:
        if not outcome:
            outcome.append(what)
        done.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="conf-alone-" + uuid.uuid4().hex[:8],
                    protocol=mqtt.MQTTv5, reconnect_on_failure=False)
    c.on_connect = lambda cl, u, f, rc, p: cl.publish(topic, payload, qos=1)
    c.on_publish = lambda cl, u, mid, rc, p: finish("acked" if not rc.is_failure else f"refused: {rc}")
    c.on_disconnect = lambda cl, u, f, rc, p: finish(f"disconnected: {rc}")
    host, port = parse_broker_url(broker_url)
    c.connect(host, port)
    c.loop_start()
    try:
        assert done.wait(ANSWER_TIMEOUT_S), f"the broker neither acknowledged nor refused a message on {topic}"
    finally:
        c.disconnect()
        c.loop_stop()
    return outcome[0]


def exchange(wire: Wire, service: CentralService, topic: str, payload: bytes, version: int, *,
             answer_to: str | None = None, dropped: bool = False, sentinel_terminal: str = TERMINAL,
             publish=None) -> Exchange:
    """Publish ``payload`` on ``topic`` (through ``publish(topic, payload)`` when given, else the
    wire); wait for what the document says must follow (an answer to ``answer_to``, or with
    ``dropped`` the central service counting a drop); then publish a sentinel request on
    ``sentinel_terminal``'s own topic and return every response heard up to the sentinel's answer.

    Why a sentinel: a silence, or the absence of a second answer, cannot be waited for. The
    central service handles one terminal's messages in order and the broker keeps the order of
    what it publishes: once the sentinel's answer is here, whatever it said about ``payload`` is
    here too (and nothing else came in between).
    """
    with wire.cond:
        since = len(wire.heard)
    dropped_before = service.stats["dropped"]
    (publish or wire.publish)(topic, payload)
    if answer_to is not None:
        wire.wait_corr(answer_to, since, f"{topic} (the document says it is answered)")
    if dropped:
        wait_for(lambda: service.stats["dropped"] > dropped_before, ANSWER_TIMEOUT_S,
                 f"the central service to count the dropped message on {topic}")
    sentinel = request_env(wire, "catalogue.sync", {"since_version": version}, terminal=sentinel_terminal)
    wire.publish(topics.req(sentinel_terminal, "catalogue.sync"), encode(sentinel))
    end = wire.wait_corr(sentinel["id"], since, "the sentinel catalogue.sync")
    with wire.cond:
        heard = wire.heard[since:end]
    answers = []
    for t, raw in heard:
        try:
            answers.append((t, json.loads(raw)))
        except ValueError:
            raise AssertionError(
                f"the central service published something that is not JSON on {t}: {raw[:200]!r}") from None
    return Exchange(answers, dropped_before, service.stats["dropped"])


@dataclass
class World:
    """Records of the seeded central service that realistic requests refer to."""

    version: int = 0
    refs: list[str] = field(default_factory=list)
    owner_of: dict[str, str] = field(default_factory=dict)       # application_no -> citizen_ref
    receipts: dict[str, str] = field(default_factory=dict)       # application_no -> receipt code
    items: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    slots: list[tuple[str, str]] = field(default_factory=list)   # (item_code, slot_id)
    checkin_appointments: list[str] = field(default_factory=list)
    cancel_appointments: list[str] = field(default_factory=list)
    #: appointment_id -> citizen_ref of its citizen: the proof a checkin or cancel must carry
    #: (a terminal acts only on the appointments of the citizen it identified).
    appointment_owner: dict[str, str] = field(default_factory=dict)
    #: appointment_id -> the checkin_code appointment.book answered (the booking slip's proof).
    checkin_codes: dict[str, str] = field(default_factory=dict)
    people: list[tuple[str, str]] = field(default_factory=list)  # (id_number, name) of the register
    dates: list[str] = field(default_factory=list)


def call(wire: Wire, op: str, body: dict) -> dict:
    """A valid request of TERMINAL and its answer's body (set-up only: must succeed)."""
    env = request_env(wire, op, body)
    with wire.cond:
        since = len(wire.heard)
    wire.publish(topics.req(TERMINAL, op), encode(env))
    i = wire.wait_corr(env["id"], since, f"set-up {op}")
    body = json.loads(wire.heard[i][1])["body"]
    assert body["ok"], (op, body)
    return body["result"]


def _harvest(wire: Wire) -> World:
    w = World()
    cat = call(wire, "catalogue.sync", {"since_version": 0})
    w.version = cat["version"]
    w.items = [i["code"] for i in cat["items"]]
    w.lines = [ln["code"] for ln in cat["lines"]]
    people = [(c["id_number"], c["name"]) for c in seed.demo_citizens()]
    people += [(c["id_number"], c["name"]) for c in (seed.synthetic_citizen(i) for i in range(0, 12 * 1009, 1009))]
    w.people = people
    appointments = []
    for id_number, name in people:
        ref = call(wire, "citizen.lookup", {"id_number": id_number, "name": name})["citizen_ref"]
        w.refs.append(ref)
        booked = [a["appointment_id"] for a in call(wire, "appointments.list", {"citizen_ref": ref})["appointments"]
                  if a["status"] == "booked"]
        appointments += booked
        w.appointment_owner.update(dict.fromkeys(booked, ref))
        for a in call(wire, "applications.list", {"citizen_ref": ref})["applications"]:
            w.owner_of[a["application_no"]] = ref
            w.receipts[a["application_no"]] = a["receipt_code"]
    assert len(appointments) >= 6, appointments
    half = len(appointments) // 2
    w.checkin_appointments, w.cancel_appointments = appointments[:half], appointments[half:]
    tomorrow = (T0 + dt.timedelta(days=1)).date().isoformat()
    for code in w.items[:4]:
        w.slots += [(code, s["slot_id"]) for s in call(wire, "slots.list", {"item_code": code, "date": tomorrow})["slots"]]
    assert w.slots and w.owner_of
    # A booking of tomorrow: its slip's checkin_code is the other proof a check-in may carry.
    code, slot = w.slots[-1]
    new = call(wire, "appointment.book", {"citizen_ref": w.refs[-1], "item_code": code, "slot_id": slot})
    w.appointment_owner[new["appointment_id"]] = w.refs[-1]
    w.checkin_codes[new["appointment_id"]] = new["checkin_code"]
    w.dates = [T0.date().isoformat(), tomorrow, "2026-03-21", "2026-02-30", "2026-04-31", "2025-01-01"]
    return w


@pytest.fixture(scope="package")
def central(tmp_path_factory):
    """A real Mosquitto and the real central service on a fresh SQLite file, a fixed clock at T0."""
    tmp = tmp_path_factory.mktemp("contract")
    broker = Broker(workdir=tmp / "broker").start()
    svc = CentralService(broker.url, str(tmp / "central.db"), clock=FixedClock(start=T0), instance="conf").start()
    yield broker, svc
    svc.stop()
    broker.cleanup()


@pytest.fixture(scope="package")
def wire(central):
    w = Wire(central[0].url)
    yield w
    w.close()


@pytest.fixture(scope="package")
def service(central) -> CentralService:
    return central[1]


@pytest.fixture(scope="package")
def world(wire, central) -> World:
    return _harvest(wire)
