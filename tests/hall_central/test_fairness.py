"""One terminal's flood delays only itself (issue 13), over a real Mosquitto: terminal X has a
backlog of hundreds of valid requests queued in the service, then terminal Y sends one request;
Y's answer leaves before X's backlog is worked off. Poison X sends meanwhile is answered at the door
(the front) while the writer is held. Judged by the ORDER of the service's publishes and by its
counts, never by wall-clock time: the writer is held on a gate in its first batch while the backlog
queues up."""
from __future__ import annotations

import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from hall_central.service import CentralService, parse_broker_url
from hall_demo.bench.poison import POISONS
from kiosk.network import envelope, topics
from tests.waiting import wait_for

from .conftest import TermClient

X, Y, H = "ZM-FLOOD1", "ZM-QUIET1", "ZM-HOLD01"
#: Below the lane bound (hall_central.lanes.MAX_DEPTH), so that nothing of X's is shed here.
BACKLOG = 900
_PLUS = next(p for p in POISONS if p.name == "terminal_plus")  # answered ``invalid``, cheap


class Held:
    """Spies on a started service: what the front hands the writer, the writer's publishes in
    order, and a gate that holds the writer inside its first batch until opened."""

    def __init__(self, service: CentralService) -> None:
        self.arrived = 0
        self.published: list[str] = []  # res topics, in the order the service published them
        self.gate = threading.Event()
        self.holding = threading.Event()
        put, publish, apply = service.queue.put, service._publish, service._apply_batch

        def counting_put(item: Any, *a: Any, **k: Any) -> Any:
            self.arrived += 1
            return put(item, *a, **k)

        def recording_publish(replies: list[tuple[str, bytes]], *a: Any, **k: Any) -> None:
            self.published.extend(topic for topic, _ in replies)
            publish(replies, *a, **k)

        def gated_apply(work: list) -> list:
            if not self.gate.is_set():
                self.holding.set()
                assert self.gate.wait(60), "the test never opened the gate"
            return apply(work)
        # A test's spies on the service's own seams (the reader's enqueue, the publish, the batch).
        service.queue.put = counting_put  # type: ignore[method-assign]
        service._publish = recording_publish  # type: ignore[method-assign]
        service._apply_batch = gated_apply  # type: ignore[method-assign]


@pytest.fixture
def raw(broker):
    """A raw publisher (X speaks through it, as an unchecked broker allows)."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="flood-" + uuid.uuid4().hex[:8], protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(1000)
    c.connect(*parse_broker_url(broker.url))
    c.loop_start()
    yield c
    c.disconnect()
    c.loop_stop()


@pytest.fixture
def quiet(broker):
    c = TermClient(broker.url, (Y, H))
    yield c
    c.close()
    assert not c.invalid, c.invalid


def _flood(raw: mqtt.Client, n: int, poison: bool = False) -> None:
    """X's backlog: ``n`` valid walk-ins (or ``n`` poison messages)."""
    last = None
    for k in range(n):
        if poison:
            topic, payload = topics.req(X, _PLUS.op), _PLUS.make(f"x{k}", X, Y)
        else:
            env = envelope.request(X, "ticket.walkin", {"line": "A"}, idem=envelope.new_id())
            topic, payload = topics.req(X, env.op), env.to_bytes()
        last = raw.publish(topic, payload, qos=1)
    assert last is not None
    last.wait_for_publish(30)


def _hold(service: CentralService, quiet: TermClient) -> Held:
    """The writer held inside a batch of H's one request (so everything after it queues up)."""
    held = Held(service)
    quiet.send("ticket.walkin", {"line": "B"}, terminal=H)
    assert held.holding.wait(10), "the writer did not take H's request"
    return held


def test_a_flooding_terminal_delays_only_itself(service, quiet, raw):
    held = _hold(service, quiet)
    _flood(raw, BACKLOG)
    wait_for(lambda: held.arrived == 1 + BACKLOG, 30, "X's backlog to reach the service")
    request = quiet.send("ticket.walkin", {"line": "A"}, terminal=Y)
    wait_for(lambda: held.arrived == 2 + BACKLOG, 10, "Y's request to reach the service")
    assert service.queue.qsize() == 1 + BACKLOG  # all of it queued behind the held batch
    held.gate.set()
    assert quiet.wait(request.id, 30)["ok"]
    wait_for(lambda: held.published.count(topics.res(X)) == BACKLOG, 60, "every message of X answered")
    x_first = held.published.index(topics.res(Y))
    before = held.published[:x_first].count(topics.res(X))
    # With one FIFO Y waited for all of X's backlog (900 answers first); with a lane per terminal
    # it joins the next batch, beside at most a quantum of X's.
    assert before < BACKLOG // 10, f"{before} of X's {BACKLOG} messages were answered before Y's one request"
    assert service.stats["shed"] == 0 and service.stats["refusals"] == {}


def test_poison_is_answered_at_the_door_while_the_writer_is_held(service, quiet, raw):
    held = _hold(service, quiet)
    n = 300
    _flood(raw, n, poison=True)
    wait_for(lambda: service.stats["refusals"].get("invalid") == n, 30, "the front to refuse X's poison")
    assert held.arrived == 1 and service.queue.qsize() == 0  # none of it reached the writer's lanes
    assert held.published == []  # and the writer, still held, answered nothing
    held.gate.set()
    assert quiet.call("ticket.walkin", {"line": "A"}, terminal=Y)["ok"]


def test_a_flood_beyond_its_lane_is_shed_and_counted(service, quiet, raw):
    from hall_central import lanes
    held = _hold(service, quiet)
    over = 100
    _flood(raw, lanes.MAX_DEPTH + over)
    wait_for(lambda: held.arrived == 1 + lanes.MAX_DEPTH + over, 30, "X's flood to reach the service")
    assert service.queue.depth(X) == lanes.MAX_DEPTH and service.stats["shed"] == over
    assert service.queue.shed == {X: over}
    held.gate.set()
    assert quiet.call("ticket.walkin", {"line": "A"}, terminal=Y)["ok"]  # Y's lane was never full
    wait_for(lambda: held.published.count(topics.res(X)) == lanes.MAX_DEPTH, 60, "X's lane worked off")
    assert service.stats["refusals"] == {}
