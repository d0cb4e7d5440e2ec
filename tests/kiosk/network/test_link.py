"""The MQTT link alone, on a real Mosquitto: connect, subscribe, TCP_NODELAY, PUBACK and SUBACK
reason codes under our own keys, reconnects under the supervisor (its log lines), and the probe
`kiosk doctor` uses. The link is the only module of the runtime that imports paho."""
from __future__ import annotations

import ast
import logging
import random
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from hall_common.backoff import Backoff
from hall_common.reconnect import LinkState, ReconnectSupervisor
from hall_demo.broker import Broker as Mosquitto
from hall_demo.broker import free_port
from kiosk.events import EventBus
from kiosk.network import topics
from kiosk.network.broker import Broker
from kiosk.network.link import MqttLink, probe
from tests.waiting import wait_for

from .conftest import REGIONS, TERMINAL

ROOT = Path(__file__).resolve().parents[3]


class Recorder:
    """The link's owner in these tests: records what the worker thread hands over."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.ups = self.downs = self.ticks = 0
        self.batches: list[list[tuple[str, bytes]]] = []
        self.refused: list[tuple[str, str]] = []

    def _note(self, fn) -> None:
        with self.cond:
            fn()
            self.cond.notify_all()

    def up(self) -> None:
        self._note(lambda: setattr(self, "ups", self.ups + 1))

    def down(self) -> None:
        self._note(lambda: setattr(self, "downs", self.downs + 1))

    def messages(self, batch) -> None:
        self._note(lambda: self.batches.append(list(batch)))

    def not_delivered(self, key: str, why: str) -> None:
        self._note(lambda: self.refused.append((key, why)))

    def tick(self) -> None:
        self._note(lambda: setattr(self, "ticks", self.ticks + 1))

    def wait(self, predicate, what: str, timeout_s: float = 15.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self), timeout_s), f"timed out waiting for {what}"


@pytest.fixture
def make_link():
    made: list[MqttLink] = []

    def make(url: str, rec: Recorder, bus: EventBus | None = None, cap_s: float = 0.3, **kw) -> MqttLink:
        sup = ReconnectSupervisor("mqtt link", Backoff(base_s=0.05, cap_s=cap_s, rng=random.Random(1)),
                                  log=logging.getLogger("kiosk.network.gateway"))
        link = MqttLink(TERMINAL, Broker.parse(url), bus or EventBus(), sup,
                        subscriptions=topics.terminal_subscriptions(TERMINAL, REGIONS),
                        will=(topics.state(TERMINAL), b"{}"), on_up=rec.up, on_down=rec.down,
                        on_messages=rec.messages, on_not_delivered=rec.not_delivered, on_tick=rec.tick, **kw)
        made.append(link)
        link.start()
        return link
    yield make
    for link in made:
        link.stop()


def _acl_broker(lines: list[str]) -> tuple[Mosquitto, Path]:
    # Why a world-readable dir: mosquitto drops root privileges before it reads acl_file.
    acl_dir = Path(tempfile.mkdtemp(prefix="kiosk-acl-"))
    acl_dir.chmod(0o755)
    acl = acl_dir / "acl"
    acl.write_text("\n".join(lines) + "\n")
    acl.chmod(0o644)
    return Mosquitto(extra_conf=f"acl_file {acl}\n"), acl_dir


def test_the_link_is_the_only_module_of_the_runtime_importing_paho():
    importers = set()
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "paho" or n.startswith("paho.") for n in names):
                importers.add(path.relative_to(ROOT).as_posix())
    assert importers == {"kiosk/network/link.py"}


def test_link_subscribes_sets_nodelay_and_hands_messages_over(broker, make_link):
    rec = Recorder()
    link = make_link(broker.url, rec)
    rec.wait(lambda r: r.ups == 1, "the link up")
    assert link.supervisor.state == LinkState.CONNECTED
    assert link.client.socket().getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        wait_for(lambda: not link._sub_mids, 15, "every SUBACK in")  # each one pops its SUBSCRIBE's mid
        c.publish(topics.cmd(TERMINAL), b"one", qos=1).wait_for_publish(5)
        c.publish(topics.bcast("410100"), b"two", qos=1).wait_for_publish(5)
        rec.wait(lambda r: [m for b in r.batches for m in b] == [(topics.cmd(TERMINAL), b"one"),
                                                                (topics.bcast("410100"), b"two")], "both messages")
    finally:
        c.disconnect()
        c.loop_stop()
    assert link.publish(topics.evt(TERMINAL), b"{}", key="row-1") == mqtt.MQTT_ERR_SUCCESS
    rec.wait(lambda r: r.ticks >= 1, "a tick")
    assert rec.refused == [] and link.refused == {}


def test_only_the_network_thread_writes_on_the_socket(broker, make_link):
    # paho 2.x wrote a publish from the caller's thread when no paho thread ran, beside the network
    # thread's own reads and writes: over TLS that corrupted the connection (the broker: "bad record
    # mac"). Every write must come from the network thread, whoever publishes.
    rec = Recorder()
    link = make_link(broker.url, rec)
    rec.wait(lambda r: r.ups == 1, "the link up")
    writers: list[str] = []
    send = link.client._sock_send  # paho's one way to the socket (private: this test watches it)

    def watched(buf):
        writers.append(threading.current_thread().name)
        return send(buf)
    link.client._sock_send = watched
    for i in range(20):
        assert link.publish(topics.evt(TERMINAL), b"{}", key=f"row-{i}") == mqtt.MQTT_ERR_SUCCESS
    wait_for(lambda: len(link._mids) == 0 and len(writers) >= 20, 15, "20 PUBACKs in")
    assert set(writers) == {"kiosk-net"}


def test_a_refused_puback_is_reported_under_our_key(make_link):
    # Everything of this terminal except publishing req/checkin: Mosquitto answers that with 0x87.
    b, acl_dir = _acl_broker([f"topic readwrite kiosk/v1/{TERMINAL}/{t}" for t in ("res", "cmd", "state", "evt")])
    try:
        with b:
            rec = Recorder()
            link = make_link(b.url, rec)
            rec.wait(lambda r: r.ups == 1, "the link up")
            link.publish(topics.req(TERMINAL, "checkin"), b"{}", key="env-42")
            link.publish(topics.evt(TERMINAL), b"{}", key="env-43")
            rec.wait(lambda r: r.refused, "the refused PUBACK")
            assert rec.refused == [("env-42", "PUBACK Not authorized (0x87)")]
    finally:
        shutil.rmtree(acl_dir, ignore_errors=True)


def test_a_refused_suback_is_listed_logged_announced_and_cleared_when_granted(caplog):
    """The worker's SUBACK handling (the broker's side, dynamic security refusing a terminal, is in
    tests/security/test_gateway_suback.py: Mosquitto's acl_file never refuses a SUBSCRIBE)."""
    bus, announced, rec = EventBus(), [], Recorder()
    bus.subscribe("network.subscription_refused", lambda e: announced.append(e.data))
    link = MqttLink(TERMINAL, Broker.parse("mqtt://127.0.0.1:1"), bus, ReconnectSupervisor("mqtt link"),
                    subscriptions=[topics.res(TERMINAL)], will=(topics.state(TERMINAL), b"{}"), on_up=rec.up,
                    on_down=rec.down, on_messages=rec.messages, on_not_delivered=rec.not_delivered, on_tick=rec.tick)
    res = topics.res(TERMINAL)
    link._sub_mids[7] = res
    with caplog.at_level(logging.INFO, logger="kiosk.network.gateway"):
        link._handle_suback(7, [ReasonCode(PacketTypes.SUBACK, identifier=0x87)])
        assert link.refused == {res: "SUBACK Not authorized (0x87)"}
        assert announced[0]["topic"] == res and announced[0]["code"] == "network.subscription_refused"
        assert f"add terminal {TERMINAL} to the broker's dynamic-security config" in announced[0]["action"]
        link._sub_mids[8] = res
        link._handle_suback(8, [ReasonCode(PacketTypes.SUBACK, identifier=1)])  # granted on a reconnect
        link._handle_suback(9, [ReasonCode(PacketTypes.SUBACK, identifier=0x87)])  # not ours: ignored
    assert link.refused == {} and len(announced) == 1
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.INFO]
    assert "subscription granted again" in caplog.records[1].getMessage()


def test_broker_down_at_boot_first_failure_warns_the_rest_debug_recovery_once(make_link, caplog):
    port = free_port()
    rec = Recorder()
    with caplog.at_level(logging.DEBUG, logger="kiosk.network.gateway"):
        link = make_link(f"mqtt://127.0.0.1:{port}", rec)
        wait_for(lambda: link.supervisor.failures >= 3, 30, "three failed attempts")
        with Mosquitto(port=port):
            rec.wait(lambda r: r.ups == 1, "the link up once the broker is there", timeout_s=30)
            assert link.supervisor.state == LinkState.CONNECTED and link.supervisor.failures == 0
    mine = [r for r in caplog.records if r.getMessage().startswith("mqtt link:")]
    # Up to the recovery: when the broker stops again at the end, a new outage starts (at WARNING).
    mine = mine[:1 + next(i for i, r in enumerate(mine) if "connected after" in r.getMessage())]
    failures = [r for r in mine if "next attempt in" in r.getMessage()]
    assert failures[0].levelno == logging.WARNING and "connect failed: [Errno 111]" in failures[0].getMessage()
    assert len(failures) >= 3 and {r.levelno for r in failures[1:]} == {logging.DEBUG}
    recovered = [r for r in mine if "connected after" in r.getMessage()]
    assert len(recovered) == 1 and recovered[0].levelno == logging.INFO
    assert rec.downs >= 3  # the owner hears of each failed attempt (it keeps its offline state)


def test_a_refused_identity_waits_the_longest(make_link, caplog):
    with Mosquitto(extra_conf="allow_anonymous false\n") as b, \
            caplog.at_level(logging.WARNING, logger="kiosk.network.gateway"):
        rec = Recorder()
        link = make_link(b.url, rec, cap_s=60.0)
        wait_for(lambda: link.supervisor.failures >= 1, 15, "the refused CONNACK")
        assert "broker refused the connection: Not authorized" in link.supervisor.last_error
        assert link.supervisor.state == LinkState.WAITING and rec.ups == 0
    # One failure (the closed socket after the refusal is the same one), scheduled 30-60 s away;
    # stop() still ends that wait at once (the fixture's teardown).
    [line] = [r.getMessage() for r in caplog.records if "next attempt in" in r.getMessage()]
    assert "broker refused the connection: Not authorized" in line and "(identity refused: the longest wait)" in line
    assert 30.0 <= float(line.split("next attempt in ")[1].split(" s")[0]) <= 60.0


def test_broker_restart_reconnects_and_subscribes_again(broker, make_link):
    rec = Recorder()
    link = make_link(broker.url, rec)
    rec.wait(lambda r: r.ups == 1, "the link up")
    broker.restart()
    rec.wait(lambda r: r.downs >= 1 and r.ups == 2, "down, then up again", timeout_s=30)
    assert link.supervisor.state == LinkState.CONNECTED


def test_probe_through_the_link(broker):
    assert probe(broker.url, subscribe=topics.res(TERMINAL)) == (0, 1)  # CONNACK 0, QoS 1 granted
    assert probe(broker.url) == (0, None)
    with pytest.raises(ConnectionRefusedError):
        probe(f"mqtt://127.0.0.1:{free_port()}")


def test_probe_of_something_that_is_not_a_broker_fails_typed():
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def answer_garbage() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    t = threading.Thread(target=answer_garbage, daemon=True)
    t.start()
    try:
        with pytest.raises(OSError):
            probe(f"mqtt://127.0.0.1:{port}", timeout_s=5)
    finally:
        t.join(5)
        srv.close()
