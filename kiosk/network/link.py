"""The MQTT link: the terminal's one connection to the broker (the ONLY module importing paho).

Owns the connection and nothing about what the messages mean: paho's MQTT v5 client for the
broker kiosk.network.broker names (a persistent session: ``clean_start=False`` and an explicit
Session Expiry Interval; the retained offline will; at most 100 messages in paho's in-memory
queue), ``TCP_NODELAY`` on every socket, and two threads. The network thread connects offline-first and reconnects as a
:class:`hall_common.reconnect.ReconnectSupervisor` says (capped backoff with full jitter; paho's
own reconnect has none; a refused identity waits the longest). paho's callbacks only enqueue (each
wrapped: an exception must not kill the network thread); the worker thread subscribes after each
CONNACK (one topic per SUBSCRIBE, so each SUBACK names its topic), turns paho's 16-bit ``mid``
back into our own keys, checks PUBACK reason codes (>= 0x80: not delivered) and SUBACK reason
codes (a refused subscription of our own is logged as :class:`SubscriptionRefused` naming the
fix, announced as ``network.subscription_refused`` and kept in :attr:`MqttLink.refused`), hands
messages that arrive together over as one batch, and ticks once a second. What to do with all
that is the owner's (kiosk.network.gateway), through the callbacks it passes in.

:func:`probe` is `kiosk doctor`'s broker check with the same client: one CONNECT, one SUBSCRIBE.
"""
from __future__ import annotations

import logging
import os
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, ParamSpec

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hall_common.reconnect import LinkState, ReconnectSupervisor
from kiosk.events import EventBus
from kiosk.network.broker import Broker
from kiosk.network.errors import SubscriptionRefused

#: Why the gateway's name: the link's log lines kept the logger they had before the gateway was split.
log = logging.getLogger("kiosk.network.gateway")
_P = ParamSpec("_P")
#: paho's client class, for annotations outside this module (the one paho user)
Client = mqtt.Client

#: Why 0.2 s: paho's loop() wakes on traffic anyway (its socket pair); this only bounds how long
#: stop() waits for the network thread.
_LOOP_TIMEOUT_S = 0.2
#: Why 1 s: how long stop() lets the goodbye (offline state, DISCONNECT) flush to the broker.
_STOP_GRACE_S = 1.0
#: Why 1 s: the worker's timer tick for retries and checkpoints (the owner's ``on_tick``).
_TICK_S = 1.0
#: Why 256: messages waiting together are handed over as one batch (the outbox settles answers in
#: one transaction, one fsync); the bound keeps a batch well under SQLite's parameter limit.
_BATCH_MAX = 256
#: CONNACK reason codes that refuse who we are (MQTT v5 3.2.2.2): client id not valid, bad user
#: name or password, not authorised, banned, bad authentication method. Retrying soon cannot help.
_IDENTITY_REFUSED = frozenset({0x85, 0x86, 0x87, 0x8A, 0x8C})


def _wrap(fn: Callable[_P, None]) -> Callable[_P, None]:
    """Wrap a paho callback: an exception must never reach (and kill) paho's thread."""
    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:  # pragma: no cover - defensive by design
            log.exception("paho callback %s failed", fn.__name__)
    wrapped.__name__ = fn.__name__
    return wrapped


@_wrap
def _on_socket_open(client: mqtt.Client, userdata: Any, sock: Any) -> None:  # sock: SocketLike, may lack setsockopt
    # PITFALLS.md: 44-88 ms per round trip with Nagle + delayed ACK, ~1 ms without.
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        log.debug("TCP_NODELAY not set", exc_info=True)


def _written_by_the_loop(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """paho's on_socket_register_write, set so that paho only queues what another thread sends.

    Why: with no paho thread running (the network thread calls ``loop()`` itself), paho 2.x writes
    a ``publish``/``subscribe``/``disconnect`` from the CALLER's thread, while the network thread
    may be reading or writing the same socket. Two threads in one TLS connection corrupt it: the
    broker logged "decryption failed or bad record mac" and dropped the terminal right after it came
    online (its first request raced the handshake's session tickets; 1 run in ~10 of the ::1 TLS
    test). With this callback set, paho queues the packet and wakes ``loop()``'s select through its
    socket pair; every byte then leaves from the network thread, whose select waits for writability
    whenever something is queued.
    """


def _client(client_id: str, tls: dict[str, Any] | None) -> mqtt.Client:
    """paho's MQTT v5 client as the terminal uses it: TLS (1.2+, the broker's certificate and name
    verified by kiosk.trust.tls; insecure only in development), TCP_NODELAY, and the socket used by
    one thread only (:func:`_written_by_the_loop`)."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if tls is not None:
        from kiosk.trust.tls import client_context
        c.tls_set_context(client_context(tls.get("ca"), tls.get("cert"), tls.get("key"), bool(tls.get("insecure"))))
    c.on_socket_open = _on_socket_open
    c.on_socket_register_write = _written_by_the_loop
    return c


def _identity_refused(error: BaseException) -> bool:
    """A TLS failure about certificates: ours refused by the broker, or the broker's by us."""
    return isinstance(error, ssl.SSLCertVerificationError) or (
        isinstance(error, ssl.SSLError) and "CERTIFICATE" in str(error.reason or "").upper())


class MqttLink:
    """paho's client, the network and worker threads, subscriptions and reason codes."""

    def __init__(self, client_id: str, broker: Broker, bus: EventBus, supervisor: ReconnectSupervisor, *,
                 subscriptions: list[str], will: tuple[str, bytes], tls: dict[str, Any] | None = None,
                 keepalive_s: int = 30, session_expiry_s: int = 604800,
                 on_up: Callable[[], None], on_down: Callable[[], None],
                 on_messages: Callable[[list[tuple[str, bytes]]], None],
                 on_not_delivered: Callable[[str, str], None], on_tick: Callable[[], None]) -> None:
        """``on_up`` runs after a CONNACK and the SUBSCRIBEs; ``on_down`` after each lost or failed
        connection; ``on_not_delivered(key, why)`` for a refused PUBACK. All on the worker thread."""
        self.client_id, self.broker, self.bus, self.supervisor = client_id, broker, bus, supervisor
        self.subscriptions = list(subscriptions)
        self.keepalive_s, self.session_expiry_s = keepalive_s, session_expiry_s
        self._on_up, self._on_down, self._on_messages = on_up, on_down, on_messages
        self._on_not_delivered, self._on_tick = on_not_delivered, on_tick
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._mids: dict[int, str] = {}  # paho mid -> our key (until its PUBACK)
        self._sub_mids: dict[int, str] = {}  # paho mid of our SUBSCRIBE -> topic (worker thread only)
        #: Our topics the broker refused -> SUBACK detail. Replaced, never mutated: other threads read it.
        self.refused: dict[str, str] = {}
        self.client = _client(client_id, tls if tls is not None else ({} if broker.tls else None))
        self.client.will_set(will[0], will[1], qos=1, retain=True)
        # Why: our own queue is the durable one; paho's in-memory queue must not grow without bound.
        self.client.max_inflight_messages_set(100)
        self.client.on_connect = _wrap(self._on_connect)
        self.client.on_disconnect = _wrap(self._on_disconnect)
        self.client.on_message = _wrap(self._on_message)
        self.client.on_publish = _wrap(self._on_publish)
        self.client.on_subscribe = _wrap(self._on_subscribe)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the network and worker threads; returns at once (offline-first)."""
        if self._threads:
            return
        self._stop.clear()
        for name, target in (("kiosk-net", self._net_main), ("kiosk-net-worker", self._worker_main)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Disconnect and join the threads (what was published just before still leaves)."""
        self._stop.set()
        self._events.put(("stop", None))  # wake the worker now, not at its next tick
        try:
            self.client.disconnect()
        except Exception:
            log.debug("disconnect failed", exc_info=True)
        for t in self._threads:
            t.join(10)
        self._threads = []
        self._sub_mids.clear()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False, key: str | None = None) -> int:
        """Hand a message to paho; its PUBACK is reported under ``key`` (paho's mid wraps). Returns
        paho's rc (``MQTT_ERR_NO_CONN`` offline: paho keeps a QoS 1 message queued anyway)."""
        with self._lock:  # so a fast PUBACK finds its key
            info = self.client.publish(topic, payload, qos=qos, retain=retain)
            if qos > 0 and key is not None:
                self._mids[info.mid] = key
        return info.rc

    # -- network thread (owns connect/reconnect and paho's loop) ------------------------------
    def _net_main(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        host, port, first = self.broker.host, self.broker.port, True
        self.supervisor.reset()
        while not self._stop.is_set():
            try:
                if first:
                    self.client.connect(host, port, self.keepalive_s, clean_start=False, properties=props)
                    first = False
                else:
                    self.client.reconnect()
                grace_until = None
                while self.client.loop(_LOOP_TIMEOUT_S) == mqtt.MQTT_ERR_SUCCESS:
                    if self._stop.is_set():
                        # Why a grace period: let stop()'s offline state and DISCONNECT leave.
                        grace_until = grace_until or time.monotonic() + _STOP_GRACE_S
                        if self.client.socket() is None or time.monotonic() > grace_until:
                            break
            except (OSError, ssl.SSLError, mqtt.WebsocketConnectionError) as e:
                self.supervisor.failed(f"connect failed: {e}", auth=_identity_refused(e))
            except Exception as e:
                log.exception("network loop failed")
                self.supervisor.failed(f"network loop failed: {e!r}")
            if self._stop.is_set():
                break
            if self.supervisor.state == LinkState.CONNECTED:
                self.supervisor.lost("connection lost")
            else:  # closed before any CONNACK (a refused CONNACK was already reported: no change)
                self.supervisor.failed("the broker closed the connection before CONNACK")
            self._events.put(("disconnected", None))
            if self.supervisor.wait(self._stop):
                break

    # -- paho callbacks: enqueue only (and tell the supervisor, on this same network thread) ----
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason_code: ReasonCode,
                    properties: Properties | None) -> None:
        if reason_code.is_failure:
            self.supervisor.failed(f"broker refused the connection: {reason_code}",
                                   auth=reason_code.value in _IDENTITY_REFUSED)
        else:
            self.supervisor.connected()
        self._events.put(("connected", reason_code))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags,
                       reason_code: ReasonCode, properties: Properties | None) -> None:
        self._events.put(("disconnected", reason_code))

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._events.put(("message", (msg.topic, msg.payload)))

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason_code: ReasonCode,
                    properties: Properties) -> None:
        self._events.put(("puback", (mid, reason_code)))

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: list[ReasonCode],
                      properties: Properties | None) -> None:
        self._events.put(("suback", (mid, list(reason_codes))))

    # -- worker thread ------------------------------------------------------------------------
    def _worker_main(self) -> None:
        last_tick = time.monotonic()
        carry = None  # an event taken from the queue behind a run of messages: handled next
        while not self._stop.is_set():
            if carry is not None:
                (kind, arg), carry = carry, None
            else:
                try:
                    kind, arg = self._events.get(timeout=_TICK_S)
                except queue.Empty:
                    kind, arg = None, None
            if kind == "message":  # the messages waiting behind it are handled together (one fsync)
                arg = [arg]
                while len(arg) < _BATCH_MAX:
                    try:
                        nxt = self._events.get_nowait()
                    except queue.Empty:
                        break
                    if nxt[0] != "message":
                        carry = nxt
                        break
                    arg.append(nxt[1])
            try:
                if kind == "connected":
                    self._handle_connected(arg)
                elif kind == "disconnected":
                    if arg is not None:  # paho's word on why (a takeover, the broker's limits...)
                        log.info("disconnected: %s", arg)
                    self._sub_mids.clear()  # SUBACKs of a dead link never come; we subscribe again
                    self._on_down()
                elif kind == "message":
                    self._on_messages(arg)
                elif kind == "puback":
                    self._handle_puback(*arg)
                elif kind == "suback":
                    self._handle_suback(*arg)
                if time.monotonic() - last_tick >= _TICK_S:
                    last_tick = time.monotonic()
                    self._on_tick()
            except Exception:
                log.exception("network worker failed on %s", kind)

    def _handle_connected(self, reason_code: ReasonCode) -> None:
        if reason_code.is_failure:
            return  # the supervisor logged it and scheduled the next attempt
        for t in self.subscriptions:
            # One topic per SUBSCRIBE, so each SUBACK names its topic. The SUBACK event is queued
            # behind this handler on the same worker thread: the mid is recorded before it is read.
            rc, mid = self.client.subscribe(t, qos=1)
            if rc == mqtt.MQTT_ERR_SUCCESS and mid is not None:
                self._sub_mids[mid] = t
        self._on_up()

    def _handle_puback(self, mid: int, reason_code: ReasonCode) -> None:
        with self._lock:
            key = self._mids.pop(mid, None)
        if key is None or not reason_code.is_failure:
            return
        why = f"PUBACK {reason_code} (0x{reason_code.value:02x})"
        log.warning("publish %s not delivered: %s", key, why)
        self._on_not_delivered(key, why)

    def _handle_suback(self, mid: int, reason_codes: list[ReasonCode]) -> None:
        topic = self._sub_mids.pop(mid, None)
        if topic is None or not reason_codes:
            return
        rc = reason_codes[0]
        if not rc.is_failure:
            if topic in self.refused:
                self.refused = {t: d for t, d in self.refused.items() if t != topic}
                log.info("subscription granted again: %s", topic)
            return
        detail = f"SUBACK {rc} (0x{rc.value:02x})"
        err = SubscriptionRefused(self.client_id, topic, detail)
        log.error("%s; %s", err.reason, err.action, extra={"code": err.code, "topic": topic})
        self.bus.publish("network.subscription_refused", err.to_dict(), source="network")
        # Last: whoever sees the refusal in `refused` finds it logged and announced.
        self.refused = {**self.refused, topic: detail}


def probe(url: str, *, tls: dict[str, Any] | None = None, subscribe: str | None = None,
          timeout_s: float = 3.0) -> tuple[int, int | None]:
    """`kiosk doctor`'s broker check: (CONNACK reason code, SUBACK reason code of ``subscribe`` or None).

    The terminal's own client (MQTT v5, its certificate on ``mqtts://``: the broker takes the
    identity from it), so the doctor asks what the gateway would ask. Clean start and no session
    expiry: nothing of the probe stays on the broker. ``subscribe``: a topic of the terminal's own
    whose SUBACK shows whether the broker's ACLs grant the terminal its topics (>= 0x80 refused).
    Raises OSError (ConnectionError, TimeoutError, ssl.SSLError) when no CONNACK comes.
    """
    broker = Broker.parse(url)
    where = f"{broker.host}:{broker.port}"
    seen: dict[str, Any] = {}
    c = _client(f"kiosk-doctor-{os.getpid()}", tls if tls is not None else ({} if broker.tls else None))
    c.connect_timeout = timeout_s
    c.on_connect = lambda _c, _u, _f, rc, _p: seen.setdefault("connack", rc)
    c.on_subscribe = lambda _c, _u, _m, rcs, _p: seen.setdefault("suback", list(rcs))
    c.on_disconnect = lambda *_a: seen.setdefault("closed", True)
    # Why on_log: paho turns a failed read (a TLS alert: certificate revoked) into a log line only.
    c.on_log = lambda _c, _u, level, buf: seen.__setitem__("error", buf) if level == mqtt.MQTT_LOG_ERR else None
    deadline = time.monotonic() + timeout_s

    def until(key: str) -> Any:
        while key not in seen:
            rc = c.loop(0.1)
            if key in seen:
                break
            if rc != mqtt.MQTT_ERR_SUCCESS or "closed" in seen:
                raise ConnectionError(seen.get("error") or f"{where} closed the connection before {key.upper()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {key.upper()} from {where} within {timeout_s:g} s")
        return seen[key]

    try:
        c.connect(broker.host, broker.port, keepalive=10, clean_start=True)
        connack = until("connack")
        if connack.is_failure or not subscribe:
            return connack.value, None
        c.subscribe(subscribe, qos=1)
        return connack.value, until("suback")[0].value
    finally:
        try:
            c.disconnect()  # sent at once (no loop thread) and the socket closed
        except Exception:
            log.debug("probe: disconnect failed", exc_info=True)
