"""Network: gateway request/response vs a bare paho loop, reconnect time, outbox drain rate.

Everything runs against a real private Mosquitto (hall_demo.broker: ``set_tcp_nodelay true``) with
persistence on, so that the sessions of the gateway and of the responder survive a broker
restart as they would on a production broker. The responder is trivial on purpose (a bare
paho client answering ``catalogue.sync`` with a fixed result and acknowledging events): the
figures measure the terminal's side, not a central service's database. Baselines in the same
run, against the same broker and responder: a bare paho-mqtt v5 client with TCP_NODELAY
(request/response, pipelined requests) and a bare paho client with paho's default reconnect.
"""
from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hall_demo.bench.report import Figure, percentile, time_calls_ms
from hall_demo.broker import Broker
from kiosk.events import EventBus
from kiosk.network import envelope, topics
from kiosk.network.envelope import Envelope
from kiosk.network.errors import NetworkError
from kiosk.network.gateway import Gateway
from kiosk.network.operations import CATALOGUE_SYNC as OP

BODY = {"since_version": 1}
#: The responder's answer: a valid catalogue.sync result ("unchanged"), small like most answers.
RESULT = {"version": 1, "unchanged": True, "categories": [], "departments": [], "lines": [], "items": []}
#: Guards against a hang (never a target): a request on loopback answers in about a millisecond.
WAIT_S = 10.0
#: How long the broker stays down in the reconnect and drain measurements (an outage, shortened).
DOWN_S = 1.0


def _nodelay(client, userdata, sock) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _session_props(expiry_s: int = 3600) -> Properties:
    p = Properties(PacketTypes.CONNECT)
    p.SessionExpiryInterval = expiry_s
    return p


class Responder:
    """A bare paho client answering every request and event at once (the trivial central side)."""

    def __init__(self, broker: Broker) -> None:
        self.answered = 0
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-responder", protocol=mqtt.MQTTv5)
        c.on_socket_open = _nodelay
        c.on_connect = lambda cl, u, f, rc, p: cl.subscribe([(t, 1) for t in topics.central_subscriptions(False)])
        c.on_message = self._on_message
        # Why fast retries: after a broker restart the responder must not be what the terminal waits for.
        c.reconnect_delay_set(min_delay=0.02, max_delay=0.1)  # type: ignore[arg-type]  # paho says int; floats work
        c.max_inflight_messages_set(1000)
        self.client = c
        self.subscribed = threading.Event()
        c.on_subscribe = lambda *a: self.subscribed.set()
        c.connect("127.0.0.1", broker.port, keepalive=30, clean_start=False, properties=_session_props())
        c.loop_start()
        if not self.subscribed.wait(WAIT_S):
            self.stop()
            raise TimeoutError("the responder did not subscribe")

    def _on_message(self, client, userdata, msg) -> None:
        try:
            kind = topics.parse(msg.topic).kind
            if kind not in ("req", "evt"):
                return
            # Why plain dicts: the baseline answers as fast as Python can (no dataclass copies), so
            # that it stays the ceiling the central service is compared with.
            req = json.loads(msg.payload)
            res = {"id": envelope.new_id(), "type": "res", "op": req["op"], "v": envelope.VERSION,
                   "ts": envelope.now_iso(), "terminal": req["terminal"], "corr": req["id"], "idem": req.get("idem"),
                   "body": {"ok": True, "result": RESULT if kind == "req" else {}}}
            client.publish(topics.res(req["terminal"]), json.dumps(res, separators=(",", ":")).encode(), qos=1)
            self.answered += 1
        except Exception:  # a callback exception would kill paho's thread; the request times out
            pass

    def stop(self) -> None:
        """Disconnect and stop the loop."""
        self.client.disconnect()
        self.client.loop_stop()


class RawClient:
    """The baseline: a bare paho v5 client with TCP_NODELAY doing request/response by hand."""

    def __init__(self, broker: Broker, terminal: str = "BENCH-RAW-0001", default_reconnect: bool = False) -> None:
        self.terminal = terminal
        self._cond = threading.Condition()
        self._answers: set[str | None] = set()  # None: an answer without corr
        self.connected = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=terminal, protocol=mqtt.MQTTv5)
        c.on_socket_open = _nodelay
        c.on_connect = self._on_connect
        c.on_disconnect = lambda *a: self.connected.clear()
        c.on_message = self._on_message
        c.max_inflight_messages_set(1000)
        if not default_reconnect:
            c.reconnect_delay_set(min_delay=0.1, max_delay=5)  # type: ignore[arg-type]  # paho says int; floats work
        self.client = c
        c.connect("127.0.0.1", broker.port, keepalive=30, clean_start=False, properties=_session_props())
        c.loop_start()
        if not self.connected.wait(WAIT_S):
            self.stop()
            raise TimeoutError("the bare paho client did not connect")

    def _on_connect(self, client, userdata, flags, rc, props) -> None:
        client.subscribe(topics.res(self.terminal), qos=1)
        self.connected.set()

    def _on_message(self, client, userdata, msg) -> None:
        try:
            corr = Envelope.from_bytes(msg.payload).corr
        except Exception:
            return
        with self._cond:
            self._answers.add(corr)
            self._cond.notify_all()

    def send(self) -> str:
        """Publish one request; returns its id."""
        env = Envelope("req", OP, self.terminal, BODY)
        self.client.publish(topics.req(self.terminal, OP), env.to_bytes(), qos=1)
        return env.id

    def wait(self, ids: set[str], timeout_s: float = WAIT_S) -> bool:
        """Wait until every id in ``ids`` was answered."""
        with self._cond:
            ok = self._cond.wait_for(lambda: ids <= self._answers, timeout_s)
            self._answers -= ids
            return ok

    def request(self, timeout_s: float = WAIT_S) -> bool:
        """One request/response round trip; True when answered."""
        return self.wait({self.send()}, timeout_s)

    def stop(self) -> None:
        """Disconnect and stop the loop."""
        self.client.disconnect()
        self.client.loop_stop()


def _first_success(fn, deadline: float) -> float:
    """Call ``fn`` until it succeeds; the perf_counter time of the success."""
    while time.perf_counter() < deadline:
        try:
            if fn():
                return time.perf_counter()
        except NetworkError:
            pass
        time.sleep(0.005)  # why: polling an offline link; 5 ms is the resolution of the figure
    raise TimeoutError("no successful request after the broker came back")


def _wait_offline(online: threading.Event, timeout_s: float = WAIT_S) -> None:
    """Wait until the gateway has seen the broker go (its offline event clears ``online``)."""
    deadline = time.perf_counter() + timeout_s
    while online.is_set():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the gateway did not notice the broker stop within {timeout_s} s")
        time.sleep(0.005)  # why polled: there is no event for "cleared"; 5 ms against a 1 s outage


def _drain_once(broker: Broker, gw: Gateway, online: threading.Event, drained: threading.Event, rows: int,
                responder: Responder | None) -> float:
    """Queue ``rows`` events with the broker down, bring it back; seconds from online to empty.

    With ``responder`` the gateway is (re)started only once the responder has subscribed again.
    """
    broker.stop()
    _wait_offline(online)
    for i in range(rows):
        gw.emit_event("device.recovered", {"device": "bench", "n": i})
    drained.clear()
    if responder is not None:
        responder.subscribed.clear()
    broker.start()
    if responder is not None:
        if not responder.subscribed.wait(WAIT_S):
            raise TimeoutError("the responder did not subscribe again")
        gw.start()
    if not online.wait(60):
        raise TimeoutError("the gateway did not come back")
    t_online = time.perf_counter()
    if not drained.wait(120):
        raise TimeoutError(f"the outbox did not drain (depth {gw.outbox_depth()})")
    return time.perf_counter() - t_online


def run(quick: bool = False) -> dict[str, Figure]:
    """Measure the network figures."""
    n = 300 if quick else 3000
    outages = 1 if quick else 5
    rows = 200 if quick else 2000
    work = Path(tempfile.mkdtemp(prefix="kiosk-bench-mqtt-"))
    broker = Broker(workdir=work / "broker", persistence=True).start()
    bus = EventBus()
    online, drained = threading.Event(), threading.Event()
    bus.subscribe("network.online", lambda e: online.set())
    bus.subscribe("network.offline", lambda e: online.clear())
    bus.subscribe("network.outbox", lambda e: drained.set() if e.data.get("depth") == 0 else None)
    responder = raw = paho_default = gw = None
    try:
        responder = Responder(broker)
        raw = RawClient(broker)
        paho_default = RawClient(broker, "BENCH-PAHO-DEFAULT", default_reconnect=True)
        gw = Gateway("BENCH-GW-0001", broker.url, ["410100"], work / "gw", bus)
        gw.start()
        if not online.wait(WAIT_S):
            raise TimeoutError("the gateway did not connect")
        gw_req = lambda: gw.request(OP, BODY, timeout_s=WAIT_S)  # noqa: E731
        for _ in range(50):  # warm-up: schema validators, paho buffers
            gw_req()
            raw.request()
        gw_ms, raw_ms = [], []
        for _ in range(5):  # interleaved blocks: a noisy neighbour hurts both alike
            gw_ms += time_calls_ms(gw_req, n // 5)
            raw_ms += time_calls_ms(raw.request, n // 5)

        reconnect_ms, paho_ms = [], []
        for _ in range(outages):
            broker.stop()
            _wait_offline(online)
            time.sleep(DOWN_S)  # the outage itself (its length is the measurement's condition, not a wait)
            broker.start()
            t0 = time.perf_counter()
            deadline = t0 + 60
            reconnect_ms.append((_first_success(lambda: online.is_set() and gw_req(), deadline) - t0) * 1000)
            paho_ms.append((_first_success(lambda: paho_default.connected.is_set() and
                                           paho_default.request(2.0), deadline) - t0) * 1000)

        # Outbox: rows queued while the broker is down, drained after it is back.
        race_s = None
        if not quick:
            race_s = _drain_once(broker, gw, online, drained, rows, responder=None)
        # The drain figure proper: the central side is subscribed again before the terminal
        # reconnects (a terminal restarted during the outage), so no row waits for a retry.
        gw.stop()
        gw = Gateway("BENCH-GW-0001", broker.url, ["410100"], work / "gw", bus)
        drain_s = _drain_once(broker, gw, online, drained, rows, responder=responder)
        drain_per_s = rows / drain_s
        raw.connected.wait(WAIT_S)
        t0 = time.perf_counter()
        if not raw.wait({raw.send() for _ in range(rows)}, 120):
            raise TimeoutError("the bare paho client's pipelined requests were not all answered")
        raw_pipelined_per_s = rows / (time.perf_counter() - t0)
    finally:
        for part in (gw, paho_default, raw, responder):
            if part is not None:
                part.stop()
        broker.cleanup()
        import shutil
        shutil.rmtree(work, ignore_errors=True)

    p = percentile
    return {
        "mqtt.gateway_p50_ms": Figure("mqtt.gateway_p50_ms", p(gw_ms, 0.5), "ms", "bare paho p50", p(raw_ms, 0.5),
                                      note=f"{len(gw_ms)} {OP} round trips through Gateway.request"),
        "mqtt.raw_p50_ms": Figure("mqtt.raw_p50_ms", p(raw_ms, 0.5), "ms",
                                  note="bare paho v5, QoS 1, TCP_NODELAY, same broker and responder"),
        "mqtt.gateway_p99_ms": Figure("mqtt.gateway_p99_ms", p(gw_ms, 0.99), "ms", "bare paho p99", p(raw_ms, 0.99)),
        "mqtt.raw_p99_ms": Figure("mqtt.raw_p99_ms", p(raw_ms, 0.99), "ms"),
        "mqtt.reconnect_ms": Figure("mqtt.reconnect_ms", max(reconnect_ms), "ms", "bare paho, default reconnect",
                                    max(paho_ms),
                                    note=f"worst of {outages} outages of {DOWN_S:g} s (broker listening -> first "
                                         f"answered request); all: {[round(x) for x in reconnect_ms]} ms, "
                                         f"paho defaults: {[round(x) for x in paho_ms]} ms",
                                    extra={"all_ms": [round(x, 1) for x in reconnect_ms],
                                           "paho_default_ms": [round(x, 1) for x in paho_ms]}),
        "outbox.drain_per_s": Figure("outbox.drain_per_s", drain_per_s, "/s", "bare paho pipelined",
                                     raw_pipelined_per_s,
                                     note=f"{rows} events queued offline, from online to empty outbox"
                                          + (f"; {race_s:.1f} s when terminal and central reconnect at once"
                                             if race_s else ""),
                                     extra={"rows": rows, "race_drain_s": race_s and round(race_s, 2)}),
    }
