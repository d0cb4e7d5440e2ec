"""The central benchmark's load generator: ``terminals`` bare paho-mqtt v5 clients (one per
terminal, own client id and topics, TCP_NODELAY, QoS 1 like the gateway) driven by ONE thread
with ``select`` over their sockets, so that it costs little of the 2 cores it shares with the
service and the broker. It sends check-ins of prepared appointments, closed loop or open loop,
and keeps each answer's latency (hall_demo.bench.central runs the phases).
"""
from __future__ import annotations

import json
import select
import socket
import time
from typing import Any

import paho.mqtt.client as mqtt

from hall_demo.broker import Broker
from kiosk.network import topics
from kiosk.network.envelope import Envelope, new_id

READY_TIMEOUT_S = 30.0


def _no_delay(client: object, userdata: object, sock: Any) -> None:
    """paho's on_socket_open: Nagle off (sock: paho's SocketLike, a socket here)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class LoadGen:
    """``terminals`` bare paho clients sending check-ins, all driven by the calling thread."""

    def __init__(self, broker: Broker, terminals: int, appointments: list[tuple[str, str]]) -> None:
        self.appointments = appointments
        self._next_appt = 0
        self.sent: dict[str, tuple[float, int]] = {}  # envelope id -> (send time, terminal index)
        self.latencies_ms: list[float] = []
        self.ok = self.failed = 0
        self.ran_out = False  # the prepared appointments ran out during a phase: its rate is a lower bound
        self.answered_in_time = 0
        self.idle: list[int] = []  # closed loop: terminals whose answer came back
        self._subacks = 0
        self._last_misc = time.perf_counter()
        self.lost: list[str] = []  # generator clients the broker disconnected, with the reason
        self.clients: list[mqtt.Client] = []
        self.ids = [f"BENCH-T{k:04d}" for k in range(terminals)]
        for tid in self.ids:
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=tid, protocol=mqtt.MQTTv5)
            c.on_socket_open = _no_delay
            c.on_connect = lambda cl, u, f, rc, p, tid=tid: cl.subscribe(topics.res(tid), qos=1)
            c.on_subscribe = self._on_subscribe
            c.on_message = self._on_message
            c.on_disconnect = lambda cl, u, f, rc, p, tid=tid: self.lost.append(f"{tid}: {rc}")
            c.max_inflight_messages_set(100)
            c.connect("127.0.0.1", broker.port, keepalive=60, clean_start=True)
            self.clients.append(c)
        self._by_sock: dict[Any, mqtt.Client] = {c.socket(): c for c in self.clients}  # connected: real sockets
        deadline = time.monotonic() + READY_TIMEOUT_S
        while self._subacks < terminals:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self._subacks}/{terminals} generator clients subscribed")
            self.pump(0.05)

    def _on_subscribe(self, *args) -> None:
        self._subacks += 1

    def _on_message(self, client, userdata, msg) -> None:
        now = time.perf_counter()
        body = json.loads(msg.payload)
        entry = self.sent.pop(body.get("corr"), None)
        if entry is None:
            return
        self.latencies_ms.append((now - entry[0]) * 1000)
        if body.get("body", {}).get("ok"):
            self.ok += 1
        else:
            self.failed += 1
        self.idle.append(entry[1])

    def send(self, k: int, keep: int = 0) -> bool:
        """Publish one check-in from terminal ``k``; False when the appointments ran out (only
        ``keep`` are left: those are another phase's)."""
        if self._next_appt >= len(self.appointments) - keep:
            self.ran_out = True
            return False
        appt, ref = self.appointments[self._next_appt]
        self._next_appt += 1
        env = Envelope("req", "checkin", self.ids[k], {"appointment_id": appt, "citizen_ref": ref}, idem=new_id())
        self.sent[env.id] = (time.perf_counter(), k)
        self.clients[k].publish(topics.req(self.ids[k], "checkin"), env.to_bytes(), qos=1)
        return True

    def pump(self, timeout_s: float) -> None:
        """One round of socket I/O for every client (paho's external-loop API), and once a second
        paho's keepalive bookkeeping. Why here: with the external loop nothing else sends PINGREQ,
        and a phase that waits long for answers (a settle behind a backlog) sends nothing else;
        the broker drops a client silent for 1.5x its keepalive."""
        if self.lost:  # a closed socket would make select fail with a bare "fd -1"
            raise ConnectionError(f"{len(self.lost)} generator client(s) lost their connection, first {self.lost[0]}")
        now = time.perf_counter()
        if now - self._last_misc > 1.0:
            self._last_misc = now
            for c in self.clients:
                c.loop_misc()
        socks = list(self._by_sock)
        wsocks = [s for s, c in self._by_sock.items() if c.want_write()]
        r, w, _ = select.select(socks, wsocks, [], timeout_s)
        for s in r:
            self._by_sock[s].loop_read()
        for s in w:
            self._by_sock[s].loop_write()

    def reset(self) -> None:
        """Forget counts and latencies (between phases)."""
        self.latencies_ms, self.ok, self.failed = [], 0, 0

    def closed_loop(self, duration_s: float, keep: int = 0) -> float:
        """Every terminal keeps one check-in in flight; returns answered check-ins per second.
        ``keep``: appointments this phase leaves for the later ones (reaching it sets ``ran_out``).
        Why: a faster machine than the budget assumed must not starve the open-loop phases that
        follow (at 3,500/s the two-instance open loop once had none left and measured nothing)."""
        self.reset()
        self.idle = []
        t0 = time.perf_counter()
        for k in range(len(self.clients)):
            self.send(k, keep)
        end = t0 + duration_s
        while time.perf_counter() < end:
            self.pump(0.01)
            idle, self.idle = self.idle, []
            for k in idle:
                self.send(k, keep)
        return (self.ok + self.failed) / (time.perf_counter() - t0)

    def open_loop(self, rate_per_s: float, duration_s: float) -> tuple[float, int]:
        """Send at ``rate_per_s`` round-robin over the terminals; returns (achieved rate, unanswered)."""
        self.reset()
        t0 = time.perf_counter()
        n = 0
        end = t0 + duration_s
        while time.perf_counter() < end:
            due = int((time.perf_counter() - t0) * rate_per_s)
            while n < due:
                if not self.send(n % len(self.clients)):
                    break
                n += 1
            self.pump(0.001)
        self.answered_in_time = self.ok + self.failed  # answered within the phase: its valid throughput
        drain_until = time.perf_counter() + 5.0  # let the last answers arrive (not counted in time)
        while self.sent and time.perf_counter() < drain_until:
            self.pump(0.01)
        unanswered = len(self.sent)
        self.sent.clear()
        return n / duration_s, unanswered

    def settle(self, timeout_s: float = 120.0) -> None:
        """Wait until the service has worked off any backlog: a probe from each of a few terminals
        is answered (one instance answers in order). Why: an open loop the machine could not serve
        leaves requests queued in the service, and the next phase must not inherit their wait."""
        self.drain(1.0)
        self.reset()
        probes = min(4, len(self.clients))
        for k in range(probes):
            self.send(k)
        until = time.perf_counter() + timeout_s
        while self.ok + self.failed < probes and time.perf_counter() < until:
            self.pump(0.01)
        self.sent.clear()
        self.reset()

    def drain(self, timeout_s: float = 10.0) -> None:
        """Wait for the answers still in flight (between phases)."""
        until = time.perf_counter() + timeout_s
        while self.sent and time.perf_counter() < until:
            self.pump(0.01)
        self.sent.clear()

    def close(self) -> None:
        """Disconnect every client."""
        for c in self.clients:
            try:
                c.disconnect()
                c.loop_write()
            except Exception:
                pass
            sock = c.socket()
            if sock is not None:
                sock.close()


#: The baseline's responder, run as its own process like the service (in this process it would
#: share the load generator's GIL and cap itself): answers until its stdin closes.
