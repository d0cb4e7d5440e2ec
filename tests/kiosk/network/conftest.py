"""Fixtures for the network tests: a private Mosquitto, a tiny central responder, leak checks."""
from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hall_central.seed import search_keys
from hall_demo.broker import Broker
from kiosk.events import EventBus
from kiosk.network import envelope as E
from kiosk.network import schemas, topics

TERMINAL = "ZM-0001"
REGIONS = ["410100", "410122"]


def sample_result(op: str, body: dict) -> dict:
    """A valid result for every operation (the real service lives in central/hall_central): the
    samples below, else the first of the ``examples`` of the operation's result (ops/<op>.json)."""
    appt = body.get("appointment_id", "AP-1")
    samples: dict[str, dict[str, Any]] = {
        "catalogue.sync": {"version": 3, "unchanged": False, "categories": [{"code": "C1", "name": "社会保障", "name_en": "Social security"}],
                           "departments": [{"code": "D1", "name": "民政局", "name_en": "Civil affairs"}],
                           "lines": [{"code": "A", "name": "综合受理", "name_en": "General", "prefix": "A", "zone": "一楼A区", "zone_en": "Zone A, 1F"}],
                           "items": [_item("I-001", "老年优待证办理", "Senior citizen card"), _item("I-002", "社会保障卡申领", "Social security card")]},
        "citizen.lookup": {"citizen_ref": "CR-42", "known": True},
        "appointments.list": {"appointments": []},
        "slots.list": {"slots": [{"slot_id": "S1", "date": "2026-11-25", "start": "09:00", "end": "09:30", "capacity": 5, "free": 2}]},
        "appointment.book": {"appointment_id": "AP-9", "item_name": "老年优待证办理", "item_name_en": "Senior citizen card", "date": "2026-11-25", "start": "09:00",
                             "end": "09:30", "window": "3号窗口", "checkin_code": "CK:AP-9"},
        "appointment.cancel": {"appointment_id": appt, "status": "cancelled"},
        "checkin": {"appointment_id": appt, "queue_no": "A012", "window": "3号窗口", "people_ahead": 2, "item_name": "老年优待证办理",
                    "item_name_en": "Senior citizen card", "line": "A"},
        "ticket.walkin": {"queue_no": "A013", "window": "3号窗口", "people_ahead": 3, "line": body.get("line", "A")},
        "applications.list": {"applications": []},
        "application.get": {"application": _application()},
        "feedback.submit": {"feedback_id": "FB-1", "status": "received"},
        "upload.chunk": {"upload_id": body.get("upload_id", "U1"), "received": 1, "complete": False},
        "application.submit": {"application_no": "SQ202611254101220001", "citizen_ref": "CR-42", "materials_received": 1},
    }
    return samples[op] if op in samples else schemas.schema_files()[f"{op}.result.json"]["examples"][0]


def _item(code: str, name: str, name_en: str) -> dict:
    return {"code": code, "name": name, "name_en": name_en, "category": "C1", "department": "D1", "agency": "县民政局",
            "agency_en": "County civil affairs bureau", "legal_basis": "《老年人权益保障法》",
            "legal_basis_en": "Law on the Protection of the Rights and Interests of the Elderly", "statutory_days": 20,
            "promised_days": 5, "fee": {"amount_yuan": 0, "note": "免费", "note_en": "Free"},
            "materials": [{"name": "身份证", "name_en": "ID card", "copies": 1, "original": True, "note": "", "note_en": ""}],
            "steps": ["受理", "审核", "发证"], "steps_en": ["Accepted", "Reviewed", "Issued"],
            "stages": [{"level": "village", "agency": "村便民服务站", "agency_en": "Village service point",
                        "steps": ["受理"], "steps_en": ["Accepted"]},
                       {"level": "county", "agency": "县民政局", "agency_en": "County civil affairs bureau",
                        "steps": ["审核", "发证"], "steps_en": ["Reviewed", "Issued"]}],
            "window": "C01", "location": "一楼东侧", "location_en": "East side, 1F", "online": True, "line": "A",
            "linkage": {"four_level": True, "levels": ["village", "township", "county"], "accept_level": "village", "decide_level": "county"},
            "faq": [{"q": "需要本人到场吗？", "a": "需要。", "q_en": "Must I come in person?", "a_en": "Yes."}],
            "search_keys": search_keys(name)}  # made by the central service, as the contract says


def _application() -> dict:
    return {"application_no": "SQ-2026-0001", "item_code": "I-001", "item_name": "老年优待证办理",
            "item_name_en": "Senior citizen card", "status": "in_progress",
            "submitted_at": "2026-11-20T02:00:00Z", "promised_deadline": "2026-11-27", "days_left": 2, "flag": "yellow",
            "current_level": "county", "current_agency": "中牟县民政局", "current_agency_en": "Zhongmou County Civil Affairs Bureau",
            "collect_at": "中牟县政务服务中心3号窗口", "collect_at_en": "Window 3, Zhongmou County Service Centre",
            "steps": [{"level": "village", "agency": "村便民服务站", "agency_en": "Village service point", "action": "受理",
                       "action_en": "Acceptance", "at": "2026-11-20T02:00:00Z", "status": "done"},
                      {"level": "county", "agency": "中牟县民政局", "agency_en": "Zhongmou County Civil Affairs Bureau",
                       "action": "审批", "action_en": "Approval", "at": None, "status": "current"}]}


class Responder:
    """A tiny central service: answers req and evt, dedups by idem like the real one, records all."""

    def __init__(self, url: str) -> None:
        host, port = url.rsplit("/", 1)[1].split(":")
        self.host, self.port = host, int(port)
        self.received: list[tuple[str, dict]] = []
        self.applied: Counter = Counter()          # idem -> times applied (must stay 1)
        self._answers: dict[str, tuple[dict, dict]] = {}  # idem -> (request body, response body)
        self.errors: dict[str, dict] = {}          # op -> contract error to answer with
        self.results: dict[str, dict] = {}         # op -> result override (may be invalid on purpose)
        self.silent: set[str] = set()              # ops not answered at all
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"central-{E.new_id()[:8]}", protocol=mqtt.MQTTv5)
        self.client.reconnect_delay_set(0.05, 0.5)  # type: ignore[arg-type]  # paho says int; floats work
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._on_message

    def start(self) -> Responder:
        self.client.connect(self.host, self.port, 30)
        self.client.loop_start()
        assert self.ready.wait(5), "responder did not subscribe"
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, rc, props) -> None:
        client.subscribe(f"{topics.PREFIX}/#", qos=1)

    def _on_message(self, client, userdata, msg) -> None:
        try:
            self._handle(msg.topic, msg.payload)
        except Exception as e:  # keep paho's thread alive; a test will see the missing answer
            print("responder failed:", e)

    def _handle(self, topic: str, payload: bytes) -> None:
        env = E.Envelope.from_bytes(payload)
        parsed = topics.parse(topic)
        with self.cond:
            self.received.append((topic, json.loads(payload)))
            self.cond.notify_all()
        if parsed.kind not in ("req", "evt") or env.op in self.silent:
            return
        if parsed.kind == "evt":
            out = E.response(env, {})
        else:
            with self.lock:
                prior = self._answers.get(env.idem) if env.idem else None
                if prior and prior[0] != env.body:
                    out = E.response(env, error={"code": "conflict", "message": "idem reused"})
                elif prior:
                    out = E.Envelope("res", env.op, env.terminal, prior[1], corr=env.id, idem=env.idem)
                else:
                    if env.op in self.errors:
                        out = E.response(env, error=self.errors[env.op])
                    else:
                        out = E.response(env, self.results.get(env.op) or sample_result(env.op, env.body))
                    if env.idem:
                        self._answers[env.idem] = (env.body, out.body)
                        self.applied[env.idem] += 1
        client = self.client
        client.publish(topics.res(env.terminal), out.to_bytes(), qos=1)

    def wait_for(self, predicate, timeout_s: float = 10.0) -> bool:
        """Wait until ``predicate(received)`` holds (woken by each received message)."""
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.received), timeout_s)


@pytest.fixture
def broker():
    with Broker() as b:
        yield b


@pytest.fixture
def responder(broker):
    r = Responder(broker.url).start()
    yield r
    r.stop()


@pytest.fixture
def bus():
    return EventBus()


class BusWaiter:
    """Collects bus events and lets a test wait for one (a Condition, no sleeps)."""

    def __init__(self, bus: EventBus, prefix: str = "network") -> None:
        self.events: list = []
        self.cond = threading.Condition()
        bus.subscribe(prefix, self._on)

    def _on(self, ev) -> None:
        with self.cond:
            self.events.append(ev)
            self.cond.notify_all()

    def wait(self, topic: str, timeout_s: float = 10.0, pred=lambda e: True):
        """The first event on ``topic`` matching ``pred`` (waits for it)."""
        with self.cond:
            ok = self.cond.wait_for(lambda: any(e.topic == topic and pred(e) for e in self.events), timeout_s)
            assert ok, f"no {topic} event within {timeout_s} s; got {[e.topic for e in self.events]}"
            return next(e for e in self.events if e.topic == topic and pred(e))


@pytest.fixture
def waiter(bus):
    return BusWaiter(bus)


@pytest.fixture(autouse=True)
def no_thread_leak():
    """Fail a test that leaves a gateway or paho thread running."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in set(threading.enumerate()) - before if t.is_alive()
              and (t.name.startswith("kiosk-net") or "paho" in t.name.lower())]
    for t in leaked:
        t.join(2)
    leaked = [t.name for t in leaked if t.is_alive()]
    assert not leaked, f"threads leaked: {leaked}"
