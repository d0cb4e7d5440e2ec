"""The outbox pump alone: a real outbox on disk, a recording stand-in for the MQTT link. Order,
retries, the upload window, batched settlement, refused publishes and dead letters."""
from __future__ import annotations

import json

import pytest

from kiosk.events import EventBus
from kiosk.network import envelope as E
from kiosk.network import topics
from kiosk.network.outbox import Outbox
from kiosk.network.pump import CHUNK_OP, Pump

from .conftest import TERMINAL


class FakeLink:
    """Records what the pump hands to the link."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict, int, bool, str | None]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False, key: str | None = None) -> int:
        self.sent.append((topic, json.loads(payload), qos, retain, key))
        return 0

    def ids(self) -> list[str]:
        return [env["id"] for _, env, *_ in self.sent]


class Online:
    def __init__(self, value: bool = True) -> None:
        self.value = value

    def __call__(self) -> bool:
        return self.value


@pytest.fixture
def parts(tmp_path):
    bus, events = EventBus(), []
    bus.subscribe("network", lambda e: events.append((e.topic, e.data)))
    outbox = Outbox(tmp_path / "outbox.sqlite3", bus=bus, dead_letter_after=2)
    link, online = FakeLink(), Online()
    pump = Pump(TERMINAL, outbox, link, bus, online=online, retry_after_s=3600.0, upload_window=2)
    yield pump, outbox, link, online, events
    outbox.close()


def _submit(pump: Pump, op: str, body: dict) -> E.Envelope:
    env = E.Envelope("req", op, TERMINAL, body, idem=E.new_id())
    pump.store(env, "req", body)
    pump.send_stored(topics.req(TERMINAL, op), env)
    return env


def _chunk(i: int) -> dict:
    return {"upload_id": "M1-p0", "index": i, "total": 5, "sha256": "ab" * 32, "data_b64": "AAEC"}


def test_stored_first_then_sent_with_our_id_as_the_puback_key(parts):
    pump, outbox, link, _online, events = parts
    env = _submit(pump, "checkin", {"appointment_id": "AP-1"})
    assert outbox.get(env.id).attempts == 1
    assert link.sent == [(topics.req(TERMINAL, "checkin"), env.to_dict(), 1, False, env.id)]
    assert events == [("network.outbox", {"depth": 1})]


def test_offline_rows_wait_then_leave_in_order_on_reconnect(parts):
    pump, _outbox, link, online, _events = parts
    online.value = False
    envs = [_submit(pump, "checkin", {"appointment_id": f"AP-{i}"}) for i in range(3)]
    assert link.sent == []
    online.value = True
    pump.drain(force=True)
    assert link.ids() == [e.id for e in envs]
    pump.drain(force=False)  # nothing is stale yet (retry_after_s)
    assert len(link.sent) == 3
    pump.retry_after_s = 0.0
    pump.tick()  # the timer resends what waited too long, same ids, same order
    assert link.ids() == [e.id for e in envs] * 2


def test_the_upload_window_holds_chunks_and_every_row_behind_them(parts):
    pump, _outbox, link, _online, _events = parts
    chunks = [_submit(pump, CHUNK_OP, _chunk(i)) for i in range(4)]
    later = _submit(pump, "checkin", {"appointment_id": "AP-9"})
    assert link.ids() == [chunks[0].id, chunks[1].id] and pump.held  # the rest waits, in order
    pump.settle([chunks[0].id])
    assert pump.answered(chunks[0].id) is True
    pump.window_freed()
    assert link.ids()[2:] == [chunks[2].id]  # one place freed: one chunk leaves
    for c in chunks[1:3]:
        pump.settle([c.id])
        pump.answered(c.id)
    pump.window_freed()
    assert link.ids()[3:] == [chunks[3].id, later.id] and not pump.held


def test_a_lost_link_empties_the_window_so_unanswered_chunks_are_resent(parts):
    pump, _outbox, link, _online, _events = parts
    chunks = [_submit(pump, CHUNK_OP, _chunk(i)) for i in range(3)]
    pump.link_lost()
    pump.drain(force=True)
    assert link.ids()[2:] == [chunks[0].id, chunks[1].id]


def test_state_and_telemetry_leave_nothing_behind(parts):
    pump, _outbox, _link, _online, _events = parts
    for _ in range(3):
        pump.send(topics.telemetry(TERMINAL), E.Envelope("telemetry", "telemetry", TERMINAL, {}), qos=0)
        pump.send(topics.state(TERMINAL), E.Envelope("state", "state", TERMINAL, {"online": True}), retain=True)
    assert pump._last_sent == {}  # never retried: nothing to remember (it grew by one per telemetry)


def test_a_refused_publish_is_recorded_on_its_row(parts):
    pump, outbox, _link, _online, events = parts
    env = _submit(pump, "checkin", {"appointment_id": "AP-1"})
    assert pump.not_delivered(env.id, "PUBACK Not authorized (0x87)") is True
    row = outbox.get(env.id)
    assert row is not None and row.attempts == 1 and "0x87" in row.last_error  # kept, retried later
    assert ("network.not_delivered", {"id": env.id, "op": "checkin", "reason": "PUBACK Not authorized (0x87)"}) in events
    assert pump.not_delivered("an-online-request", "PUBACK x") is False  # no row: the caller is failed instead


def test_unreadable_answers_make_a_dead_letter_at_the_bound(parts):
    pump, outbox, link, _online, events = parts
    env = _submit(pump, CHUNK_OP, _chunk(0))
    pump.unreadable_answer(env.id, "result missing fields")
    assert outbox.get(env.id) is not None and outbox.dead_count() == 0
    pump.unreadable_answer(env.id, "result missing fields")
    assert outbox.get(env.id) is None and outbox.dead_count() == 1
    assert pump.answered(env.id) is False  # its window place was freed with it
    assert events[-1] == ("network.outbox", {"depth": 0})
    pump.drain(force=True)
    assert link.ids() == [env.id]  # never resent


def test_a_row_never_sent_leaves_at_the_next_tick_even_just_after_boot(parts, monkeypatch):
    """Monotonic time starts near zero at boot: a never-sent row counted as sent at 0.0 waited
    retry_after_s (here an hour) on a terminal that had just started."""
    pump, _outbox, link, online, _events = parts
    monkeypatch.setattr("kiosk.network.pump.time.monotonic", lambda: 5.0)  # five seconds after boot
    online.value = False
    env = _submit(pump, "checkin", {"appointment_id": "AP-1"})
    assert link.sent == []
    online.value = True
    pump.tick()
    assert link.ids() == [env.id]
    pump.tick()  # sent five "seconds" ago: not stale, not resent
    assert link.ids() == [env.id]
