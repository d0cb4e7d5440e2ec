"""Answers the terminal cannot read, on a real Mosquitto: they fail their request and never make
the gateway resend forever. An online request fails at once (typed); a durable row counts each
unreadable answer and after ``dead_letter_after`` of them is set aside in the dead-letter table
(the same SQLite file), kept across restarts, never resent, announced for staff and operators."""
from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.network import envelope as E
from kiosk.network import topics
from kiosk.network.errors import InvalidMessage
from kiosk.network.gateway import Gateway

from .conftest import REGIONS, TERMINAL, sample_result


def _valid(env: E.Envelope) -> bytes:
    return E.response(env, sample_result(env.op, env.body)).to_bytes()


def _bad_result(env: E.Envelope) -> bytes:  # fails the operation's result schema
    return E.response(env, {"slots": [{"slot_id": "S1"}]} if env.op == "slots.list" else {"what": 1}).to_bytes()


def _unknown_code(env: E.Envelope) -> bytes:  # an error code the contract does not list
    return E.response(env, error={"code": "no_such_code_in_contract_v1", "message": "?"}).to_bytes()


def _garbled(env: E.Envelope) -> bytes:  # bytes damaged in the body: not JSON any more, still names its request
    raw = _valid(env)
    at = raw.index(b'"body"')
    return raw[:at + 8] + b"\xff\x00#" + raw[at + 20:]


def _bad_envelope(env: E.Envelope) -> bytes:  # JSON naming the request, but not an envelope
    return json.dumps({"corr": env.id, "type": "res", "body": "?"}).encode()


def _other_op(env: E.Envelope) -> bytes:  # a valid answer of another operation, naming this request
    other = "feedback.submit" if env.op != "feedback.submit" else "checkin"
    return E.Envelope("res", other, env.terminal, {"ok": True, "result": sample_result(other, {})},
                      corr=env.id, idem=env.idem).to_bytes()


def _garbage(env: E.Envelope) -> bytes:  # names nothing at all
    return b"\xff\xfe not even text \x00"


class Answerer:
    """A central service that answers each request with ``answer(env)`` (raw bytes): what a
    broken or newer central service would send. Records the requests it received."""

    def __init__(self, url: str, answer) -> None:
        host, port = url.rsplit("/", 1)[1].split(":")
        self.answer = answer
        self.received: list[E.Envelope] = []
        self.cond = threading.Condition()
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"answerer-{E.new_id()[:8]}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *a: c.subscribe(f"{topics.PREFIX}/+/req/#", qos=1)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, int(port), 30)
        self.client.loop_start()
        assert self.ready.wait(10), "answerer did not subscribe"

    def _on_message(self, client, userdata, msg) -> None:
        env = E.Envelope.from_bytes(msg.payload)
        with self.cond:
            self.received.append(env)
            self.cond.notify_all()
        client.publish(topics.res(env.terminal), self.answer(env), qos=1)

    def sends_of(self, env_id: str) -> int:
        with self.cond:
            return sum(1 for e in self.received if e.id == env_id)

    def wait_for(self, predicate, timeout_s: float = 20.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.received), timeout_s)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def answerer(broker):
    made = []

    def make(answer) -> Answerer:
        a = Answerer(broker.url, answer)
        made.append(a)
        return a
    yield make
    for a in made:
        a.stop()


@pytest.fixture
def gateway(broker, bus, tmp_path, waiter):
    made = []

    def make(**kw) -> Gateway:
        kw.setdefault("reconnect_max_s", 0.3)
        gw = Gateway(TERMINAL, broker.url, REGIONS, tmp_path / "state", bus, **kw)
        made.append(gw)
        gw.start()
        waiter.wait("network.online", pred=lambda e: len([x for x in waiter.events
                                                             if x.topic == "network.online"]) >= len(made))
        return gw
    yield make
    for gw in made:
        gw.stop()


@pytest.mark.parametrize("answer", [_bad_result, _unknown_code, _garbled, _bad_envelope, _other_op])
def test_online_request_fails_at_once_with_a_typed_error(gateway, answerer, answer):
    answerer(answer)
    gw = gateway(request_timeout_s=30.0)  # a timeout would take 30 s: the failure must come first
    with pytest.raises(InvalidMessage) as e:
        gw.request("slots.list", {"item_code": "I-001", "date": "2026-11-25"})
    assert e.value.code == "network.invalid" and e.value.action


@pytest.mark.parametrize("answer", [_bad_result, _unknown_code, _garbled, _bad_envelope, _other_op])
def test_durable_row_becomes_a_dead_letter_after_the_bound(gateway, answerer, waiter, answer):
    central = answerer(answer)
    gw = gateway(retry_after_s=0.2, dead_letter_after=3)
    pending = gw.submit("feedback.submit", {"kind": "rate", "target": {"hall": True}, "rating": 5})
    with pytest.raises(InvalidMessage):
        pending.wait(10)  # the citizen hears of it with the first unreadable answer
    ev = waiter.wait("network.dead_letter", timeout_s=30, pred=lambda e: e.data["id"] == pending.id)
    assert ev.data["op"] == "feedback.submit" and ev.data["failures"] == 3 and ev.data["dead_letters"] == 1
    assert "unreadable answer" in ev.data["reason"]
    assert central.sends_of(pending.id) >= 3  # one unreadable answer per send (a 4th may be in flight)
    assert gw.outbox_depth() == 0 and gw.outbox.pending() == []
    health = gw.outbox_health()
    assert health["dead_letters"] == 1 and health["recent_dead_letters"][0]["id"] == pending.id
    assert health["recent_dead_letters"][0]["failures"] == 3


def test_dead_letters_survive_a_restart_and_are_never_resent(gateway, answerer, waiter, bus, broker, tmp_path):
    central = answerer(_unknown_code)
    # One unreadable answer sets the row aside; no timer resend can come first (30 s).
    gw = gateway(retry_after_s=30, dead_letter_after=1)
    dead = gw.submit("checkin", {"appointment_id": "AP-DEAD"})
    waiter.wait("network.dead_letter", timeout_s=30, pred=lambda e: e.data["id"] == dead.id)
    gw.stop()
    central.answer = _valid
    gw = gateway(retry_after_s=30, dead_letter_after=1)  # the same state dir: a restarted terminal
    assert gw.outbox.dead_count() == 1 and gw.outbox_depth() == 0
    # A reconnect resends every waiting row before anything new, in order: had the dead letter
    # been waiting, it would have been sent again before this check-in.
    assert gw.submit("checkin", {"appointment_id": "AP-NEW"}).wait(10)["appointment_id"] == "AP-NEW"
    assert central.sends_of(dead.id) == 1


def test_garbage_naming_no_request_leaves_the_row_waiting(gateway, answerer, waiter):
    """An answer that names no request cannot fail one: the row waits as if unanswered, and a
    readable answer to a later resend settles it."""
    central = answerer(_garbage)
    gw = gateway(retry_after_s=0.2, dead_letter_after=2)
    pending = gw.submit("checkin", {"appointment_id": "AP-G"})
    assert central.wait_for(lambda rec: sum(1 for e in rec if e.id == pending.id) >= 3)
    assert gw.outbox.get(pending.id) is not None and gw.outbox.dead_count() == 0
    central.answer = _valid
    assert pending.wait(20)["appointment_id"] == "AP-G"
    waiter.wait("network.outbox", timeout_s=20, pred=lambda e: e.data["depth"] == 0)


def test_operators_see_a_dead_letter_in_the_telemetry_at_once(broker, answerer, tmp_path):
    """The runtime sends its telemetry when a row is set aside, not at the next 30 s tick."""
    from kiosk import config
    from kiosk.runtime import Runtime
    answerer(_unknown_code)
    seen, got = [], threading.Event()

    def on_telemetry(client, userdata, msg):
        body = json.loads(msg.payload)["body"]
        seen.append(body)
        if body.get("dead_letters") == 1:
            got.set()
    spy = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="telemetry-spy", protocol=mqtt.MQTTv5)
    spy.on_message = on_telemetry
    spy.connect("127.0.0.1", broker.port)
    spy.subscribe(topics.telemetry(TERMINAL), qos=1)
    spy.loop_start()
    cfg = config.from_dict({"terminal": {"id": TERMINAL, "hall_code": "H410100", "region": {"city": "410100"}},
                            "runtime": {"state_dir": str(tmp_path / "state")},
                            "network": {"broker": broker.url, "dead_letter_after": 1, "reconnect_max_s": 0.3}})
    rt = Runtime(cfg, devices={}).start()
    try:
        online = threading.Event()
        rt.bus.subscribe("network.online", lambda e: online.set())
        assert online.wait(20) or rt.gateway.online
        rt.gateway.submit("feedback.submit", {"kind": "rate", "target": {"hall": True}, "rating": 4})
        assert got.wait(20), seen
        assert [b["dead_letters"] for b in seen if "dead_letters" in b][-1] == 1
    finally:
        rt.stop()
        spy.disconnect()
        spy.loop_stop()


def test_an_answer_of_another_operation_never_settles_a_row(gateway, answerer, waiter):
    """A cold try: a central service answered each check-in with a valid feedback.submit answer
    naming it; the row was removed as answered and the caller took the feedback result for a
    check-in. Now it counts as unreadable (a dead letter at the bound)."""
    central = answerer(_other_op)
    gw = gateway(retry_after_s=0.2, dead_letter_after=2)
    pending = gw.submit("checkin", {"appointment_id": "AP-X"})
    with pytest.raises(InvalidMessage) as e:
        pending.wait(10)
    assert "feedback.submit answer to a checkin request" in e.value.reason
    ev = waiter.wait("network.dead_letter", timeout_s=30, pred=lambda ev: ev.data["id"] == pending.id)
    assert ev.data["op"] == "checkin" and gw.outbox.dead_count() == 1 and gw.outbox_depth() == 0
    assert central.sends_of(pending.id) >= 2
    central.answer = _valid
    assert gw.submit("checkin", {"appointment_id": "AP-Y"}).wait(10)["appointment_id"] == "AP-Y"


def test_another_operations_answer_to_a_row_of_a_restarted_terminal(gateway, answerer, waiter):
    """After a restart nobody waits for the row: its own operation (in the outbox) is checked."""
    central = answerer(_garbage)  # names nothing: the row stays waiting
    gw = gateway(retry_after_s=30)
    row = gw.submit("checkin", {"appointment_id": "AP-R"})
    assert central.wait_for(lambda rec: any(e.id == row.id for e in rec))
    gw.stop()
    central.answer = _other_op
    gw = gateway(retry_after_s=0.2, dead_letter_after=2)  # the same state dir; resends at once
    assert gw.correlator.op_of(row.id) is None
    ev = waiter.wait("network.dead_letter", timeout_s=30, pred=lambda ev: ev.data["id"] == row.id)
    assert ev.data["op"] == "checkin" and "feedback.submit answer to a checkin request" in ev.data["reason"]
