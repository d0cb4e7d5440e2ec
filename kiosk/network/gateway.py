"""The MQTT gateway: the terminal's one link to the central service (the ONLY module importing paho).

Offline-first: :meth:`Gateway.start` returns at once; a network thread owned here connects,
reconnects with capped backoff and full jitter (:class:`hall_common.backoff.Backoff`; paho's own
reconnect has none) and runs paho's ``loop()``. paho callbacks only enqueue (each wrapped so an
exception cannot kill the network thread); one worker thread does the rest: subscriptions, the
birth message, matching responses by our own envelope ids (paho's ``mid`` is 16-bit and wraps),
PUBACK reason codes (0x87 = not delivered, the outbox row stays), SUBACK reason codes (a refused
subscription of our own is logged as :class:`SubscriptionRefused` naming the fix and listed by
:meth:`Gateway.refused_subscriptions`; a refused ``res`` makes :meth:`Gateway.request` fail at
once, since no answer could reach us), retries of the outbox in order. Answers that arrive
together are settled in one outbox transaction. An answer that cannot be read (fails the
contract's schemas, an unknown error code, garbage) fails its request: an online request at once
(:class:`InvalidMessage`), a durable row counts a failure and after ``dead_letter_after`` of them
is set aside as a dead letter (kiosk.network.outbox), never resent forever.

Online operations go through :meth:`request` (raises Offline at once with no link). Operations
that must not be lost go through :meth:`submit` / :meth:`emit_event`: written to the outbox first,
removed only when the central service answers. Bus events: ``network.online``, ``network.offline``,
``network.command``, ``network.broadcast``, ``network.result``, ``network.outbox``, and
``network.not_delivered`` (a publish the broker refused), ``network.subscription_refused`` (a
SUBSCRIBE of our own the broker refused: the terminal is missing from the broker's ACLs), and from
the outbox ``network.outbox_alarm`` (bound reached, disk fault, corrupt file moved aside) and
``network.dead_letter``.

Mobile profile: ``submit(..., sealed=True)`` stores the body encrypted (kiosk.network.sealed) and
decrypts it only to send. Photo chunks (``upload.chunk`` rows) are flow-controlled: at most
``upload_window`` of them are in flight; the rest (and every row queued behind them, to keep the
order) leave as acknowledgements come back, so after a drop only unacknowledged chunks are resent.
"""
from __future__ import annotations

import json
import logging
import queue
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hall_common.backoff import Backoff
from kiosk.events import EventBus
from kiosk.network import schemas, topics
from kiosk.network.catalogue import CatalogueCache
from kiosk.network.envelope import Envelope, EnvelopeError, new_id, now_iso
from kiosk.network.errors import InvalidMessage, NetworkError, Offline, Rejected, Timeout
from kiosk.network.outbox import DEAD_LETTER_AFTER, Outbox
from kiosk.network.sealed import SealError, Sealer
from kiosk.storage import StorageError

log = logging.getLogger("kiosk.network.gateway")

#: Why 0.2 s: paho's loop() wakes on traffic anyway (its socket pair); this only bounds how long
#: stop() waits for the network thread.
_LOOP_TIMEOUT_S = 0.2
#: Why 1 s: how long stop() lets the goodbye (offline state, DISCONNECT) flush to the broker.
_STOP_GRACE_S = 1.0
#: Why 1 s: the worker's timer tick for retries and checkpoints; retries themselves wait
#: ``retry_after_s``.
_TICK_S = 1.0
#: The operation whose rows are flow-controlled by ``upload_window`` (photos in 48 KiB chunks).
CHUNK_OP = "upload.chunk"
#: Why 256: answers waiting together are settled in one transaction (one fsync); the bound keeps
#: one batch's delete well under SQLite's parameter limit and its latency small.
_BATCH_MAX = 256
#: The request id named by a damaged answer that is not JSON any more (truncated, garbled).
_CORR_RE = re.compile(rb'"corr"\s*:\s*"([A-Za-z0-9_-]{1,64})"')


class NotDelivered(NetworkError):
    """The broker refused a publish (PUBACK reason code >= 0x80, e.g. 0x87 not authorised)."""

    code = "network.not_delivered"

    def __init__(self, reason: str) -> None:
        super().__init__(reason, action="technician: check the broker's ACL for this terminal")


class SubscriptionRefused(NetworkError):
    """The broker refused one of the terminal's own subscriptions (SUBACK reason code >= 0x80).

    Typically 0x87: the broker's ACLs do not know this terminal (a certificate was issued, the
    broker's dynamic-security config was not updated). The broker says so only in the SUBACK; the
    terminal would otherwise wait for answers and commands that can never arrive.
    """

    code = "network.subscription_refused"

    def __init__(self, terminal: str, topic: str, detail: str) -> None:
        super().__init__(
            f"the broker refused SUBSCRIBE {topic}: {detail}",
            action=f"add terminal {terminal} to the broker's dynamic-security config "
                   f"(python -m hall_central.pki --dynsec-commands add --terminals {terminal}; config/broker/README.md); "
                   "the broker then disconnects the terminal, which reconnects and subscribes again")
        self.terminal, self.topic, self.detail = terminal, topic, detail

    def to_dict(self) -> dict:
        """The typed error plus the refused topic."""
        return {**super().to_dict(), "topic": self.topic}


@dataclass
class Pending:
    """A durable operation on its way: ``wait()`` for the central service's answer."""

    id: str
    idem: str
    op: str
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _result: dict | None = field(default=None, repr=False)
    _error: Exception | None = field(default=None, repr=False)

    def _resolve(self, result: dict | None = None, error: Exception | None = None) -> None:
        self._result, self._error = result, error
        self._done.set()

    @property
    def done(self) -> bool:
        """True once the central service answered."""
        return self._done.is_set()

    def wait(self, timeout_s: float) -> dict:
        """The result; raises Timeout (the row stays and is retried), Rejected (row removed) or
        InvalidMessage (an answer that cannot be read: retried, set aside after the bound)."""
        if not self._done.wait(timeout_s):
            raise Timeout(f"{self.op}: no answer within {timeout_s} s; kept in the outbox and retried")
        if self._error is not None:
            raise self._error
        return self._result or {}


def _wrap(fn):
    """Wrap a paho callback: an exception must never reach (and kill) paho's thread."""
    def wrapped(*args, **kwargs):
        try:
            fn(*args, **kwargs)
        except Exception:  # pragma: no cover - defensive by design
            log.exception("paho callback %s failed", fn.__name__)
    wrapped.__name__ = fn.__name__
    return wrapped


class Gateway:
    """Terminal side of the central-network link over MQTT v5."""

    def __init__(self, terminal_id: str, broker_url: str, regions: list[str], state_dir: str | Path,
                 bus: EventBus, *, keepalive_s: int = 30, request_timeout_s: float = 5.0,
                 reconnect_min_s: float = 0.1, reconnect_max_s: float = 5.0,
                 session_expiry_s: int = 604800, outbox_max_rows: int = 10000, tls: dict | None = None,
                 profile: str = "kiosk", version: str = "0.1.0", retry_after_s: float | None = None,
                 sealer: Sealer | None = None, upload_window: int = 0,
                 dead_letter_after: int = DEAD_LETTER_AFTER) -> None:
        topics.res(terminal_id)  # raises TopicError for an id the contract does not allow
        self.terminal_id = terminal_id
        self.regions = list(regions)
        self.bus = bus
        self.keepalive_s = keepalive_s
        self.request_timeout_s = request_timeout_s
        self.session_expiry_s = session_expiry_s
        self.profile, self.version = profile, version
        #: Why a separate retry delay: a row without an answer is resent (same id and idem) after
        #: this long while online; reconnects resend at once.
        self.retry_after_s = retry_after_s if retry_after_s is not None else max(request_timeout_s, 1.0)
        url = urlparse(broker_url)
        try:
            port = url.port  # raises ValueError beyond 65535
        except ValueError:
            port = 0
        if url.scheme not in ("mqtt", "mqtts") or not url.hostname or port == 0:
            raise ValueError(f"broker URL must be mqtt://host[:port] or mqtts://host[:port] with a port "
                             f"of 1-65535, got {broker_url!r}")
        self.host, self.port = url.hostname, port or (8883 if url.scheme == "mqtts" else 1883)
        self.state_dir = Path(state_dir)
        self.outbox = Outbox(self.state_dir / "outbox.sqlite3", outbox_max_rows, bus, sealer=sealer,
                             dead_letter_after=dead_letter_after)
        #: Chunk rows in flight at most (0 = no limit); why a window: 100 photo chunks of 64 KB
        #: sent at once would stall check-ins behind them on a 2G link and all be resent after a drop.
        self.upload_window = upload_window
        self._chunks_inflight: set[str] = set()  # envelope ids of chunk rows sent and not answered
        self._held = False  # a chunk row waits for the window: later rows wait behind it (order)
        self.catalogue = CatalogueCache(self.state_dir)
        self._backoff = Backoff(base_s=reconnect_min_s, cap_s=reconnect_max_s)
        self._events: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._online = False
        self._online_since: str | None = None
        self._started_mono = time.monotonic()
        self._started_at = now_iso()
        self._waiters: dict[str, tuple[str, Any]] = {}  # envelope id -> (op, Pending)
        self._waiters_lock = threading.Lock()
        self._pub_lock = threading.Lock()
        self._mids: dict[int, str] = {}  # paho mid -> our envelope id (until its PUBACK)
        self._last_sent: dict[str, float] = {}  # envelope id -> monotonic time of the last send
        self._sub_mids: dict[int, str] = {}  # paho mid of our SUBSCRIBE -> topic (worker thread only)
        #: Our topics the broker refused -> SUBACK detail. Replaced, never mutated: other threads read it.
        self._refused: dict[str, str] = {}
        self._threads: list[threading.Thread] = []
        self.client = self._make_client(tls if tls is not None else ({} if url.scheme == "mqtts" else None))

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg, bus: EventBus) -> "Gateway":
        """Build from the ``[network]`` section of a :class:`kiosk.config.Config`."""
        g = cfg.get
        tls = None
        if g("network.broker", "").startswith("mqtts://"):
            tls = {"ca": g("network.ca_file") or None, "cert": g("network.cert_file") or None,
                   "key": g("network.key_file") or None, "insecure": bool(g("network.tls_insecure"))}
        return cls(cfg.terminal_id, g("network.broker"), cfg.regions, g("runtime.state_dir"), bus,
                   sealer=Sealer.from_config(cfg), upload_window=int(g("mobile.upload_window", 0) or 0),
                   keepalive_s=g("network.keepalive_s"), request_timeout_s=g("network.request_timeout_s"),
                   reconnect_min_s=g("network.reconnect_min_s"), reconnect_max_s=g("network.reconnect_max_s"),
                   session_expiry_s=g("network.session_expiry_s"), outbox_max_rows=g("network.outbox_max_rows"),
                   dead_letter_after=g("network.dead_letter_after", DEAD_LETTER_AFTER),
                   tls=tls, profile=g("terminal.profile", "kiosk"))

    def _make_client(self, tls: dict | None) -> mqtt.Client:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.terminal_id, protocol=mqtt.MQTTv5)
        will = Envelope("state", "state", self.terminal_id, {"online": False})
        c.will_set(topics.state(self.terminal_id), will.to_bytes(), qos=1, retain=True)
        if tls is not None:
            # TLS 1.2+, broker certificate and name verified (kiosk.trust.tls); insecure only in development.
            from kiosk.trust.tls import client_context
            c.tls_set_context(client_context(tls.get("ca"), tls.get("cert"), tls.get("key"),
                                             bool(tls.get("insecure"))))
        # Why: our own queue is the durable one; paho's in-memory queue must not grow without bound.
        c.max_inflight_messages_set(100)
        c.on_socket_open = _wrap(self._on_socket_open)
        c.on_connect = _wrap(self._on_connect)
        c.on_disconnect = _wrap(self._on_disconnect)
        c.on_message = _wrap(self._on_message)
        c.on_publish = _wrap(self._on_publish)
        c.on_subscribe = _wrap(self._on_subscribe)
        return c

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
        """Say goodbye (retained offline state), disconnect, join the threads, close the stores."""
        if self._online:
            try:
                off = Envelope("state", "state", self.terminal_id, {"online": False})
                self.client.publish(topics.state(self.terminal_id), off.to_bytes(), qos=1, retain=True)
            except Exception:
                log.debug("offline state not published", exc_info=True)
        self._stop.set()
        self._events.put(("stop", None))  # wake the worker now, not at its next tick
        try:
            self.client.disconnect()
        except Exception:
            log.debug("disconnect failed", exc_info=True)
        for t in self._threads:
            t.join(10)
        self._threads = []
        self._set_offline()
        self.outbox.close()
        self.catalogue.close()

    @property
    def online(self) -> bool:
        """True while connected to the broker (CONNACK received)."""
        return self._online

    def outbox_depth(self) -> int:
        """Rows waiting for the central service's answer."""
        return self.outbox.depth()

    def outbox_health(self) -> dict:
        """For staff and operators: dead letters (count, the newest few) and the outbox's alarms."""
        return {"dead_letters": self.outbox.dead_count(), "recent_dead_letters": self.outbox.dead_letters(5),
                "alarms": self.outbox.alarms()}

    def refused_subscriptions(self) -> list[dict]:
        """Our subscriptions the broker refused at the last connection, as typed-error dicts
        (``code``, ``reason``, ``action``, ``topic``): empty when all were granted."""
        return [SubscriptionRefused(self.terminal_id, t, d).to_dict() for t, d in sorted(self._refused.items())]

    # -- network thread (owns connect/reconnect and paho's loop) ------------------------------
    def _net_main(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        first = True
        while not self._stop.is_set():
            try:
                if first:
                    self.client.connect(self.host, self.port, self.keepalive_s, clean_start=False,
                                        properties=props)
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
                log.debug("connect to %s:%d failed: %s", self.host, self.port, e)
            except Exception:
                log.exception("network loop failed")
            if self._stop.is_set():
                break
            self._events.put(("disconnected", None))
            self._stop.wait(self._backoff.next())

    # -- paho callbacks: enqueue only ---------------------------------------------------------
    def _on_socket_open(self, client, userdata, sock) -> None:
        # PITFALLS.md: 44-88 ms per round trip with Nagle + delayed ACK, ~1 ms without.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            log.debug("TCP_NODELAY not set", exc_info=True)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self._events.put(("connected", reason_code))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._events.put(("disconnected", reason_code))

    def _on_message(self, client, userdata, msg) -> None:
        self._events.put(("message", (msg.topic, msg.payload)))

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._events.put(("puback", (mid, reason_code)))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
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
                    self._set_offline()
                elif kind == "message":
                    self._handle_messages(arg)
                elif kind == "puback":
                    self._handle_puback(*arg)
                elif kind == "suback":
                    self._handle_suback(*arg)
                if time.monotonic() - last_tick >= _TICK_S:
                    last_tick = time.monotonic()
                    self._tick()
            except Exception:
                log.exception("network worker failed on %s", kind)

    def _handle_connected(self, reason_code) -> None:
        if reason_code.is_failure:
            log.warning("broker refused the connection: %s", reason_code)
            return
        self._backoff.reset()
        for t in topics.terminal_subscriptions(self.terminal_id, self.regions):
            # One topic per SUBSCRIBE, so each SUBACK names its topic. The SUBACK event is queued
            # behind this handler on the same worker thread: the mid is recorded before it is read.
            rc, mid = self.client.subscribe(t, qos=1)
            if rc == mqtt.MQTT_ERR_SUCCESS and mid is not None:
                self._sub_mids[mid] = t
        birth = Envelope("state", "state", self.terminal_id, {
            "online": True, "version": self.version, "profile": self.profile,
            "regions": self.regions, "started_at": self._started_at})
        self._publish(topics.state(self.terminal_id), birth, retain=True)
        was = self._online
        self._online, self._online_since = True, now_iso()
        if not was:
            log.info("online: %s:%d", self.host, self.port)
            self.bus.publish("network.online", {"broker": f"{self.host}:{self.port}"}, source="network")
        self._drain(force=True)

    def _set_offline(self) -> None:
        with self._pub_lock:
            self._chunks_inflight.clear()  # nothing is in flight on a dead link: resend on reconnect
        self._sub_mids.clear()  # SUBACKs of a dead link never come; we subscribe again on reconnect
        if self._online:
            self._online, self._online_since = False, None
            log.warning("offline: lost %s:%d; outbox keeps %d rows", self.host, self.port, self.outbox.depth())
            self.bus.publish("network.offline", {"outbox_depth": self.outbox.depth()}, source="network")

    def _tick(self) -> None:
        if self._online:
            self._drain(force=False)
        self.outbox.maybe_checkpoint()

    def _drain(self, force: bool) -> None:
        """Send waiting rows in order; ``force`` (on reconnect) resends all, else only stale ones."""
        now = time.monotonic()
        held, sent = False, []
        try:
            rows = self.outbox.pending()
        except StorageError:
            return  # the outbox logged it once; the next tick tries again
        for row in rows:
            if not self._online:
                held = self._held
                break
            if not force and now - self._last_sent.get(row.id, 0.0) < self.retry_after_s:
                continue
            if row.op == CHUNK_OP and self.upload_window and row.id not in self._chunks_inflight \
                    and len(self._chunks_inflight) >= self.upload_window:
                held = True  # the window is full: this row and every later one wait (order kept)
                break
            try:
                body = self.outbox.open_body(row)
            except SealError as e:
                log.error("outbox row cannot be opened; not sent", extra={"id": row.id, "op": row.op})
                self.outbox.record_attempt(row.id, e.reason)
                continue
            env = Envelope("req" if row.kind == "req" else "evt", row.op, self.terminal_id, body,
                           id=row.id, idem=row.idem)
            topic = topics.req(self.terminal_id, row.op) if row.kind == "req" else topics.evt(self.terminal_id)
            self._publish(topic, env)
            sent.append(row.id)
        self._held = held
        self.outbox.record_attempts(sent)  # one transaction for the whole drain (never raises)

    def _publish(self, topic: str, env: Envelope, qos: int = 1, retain: bool = False) -> int:
        """Publish and remember mid -> our id (under the lock, so a fast PUBACK waits for it)."""
        with self._pub_lock:
            info = self.client.publish(topic, env.to_bytes(), qos=qos, retain=retain)
            if qos > 0:
                self._mids[info.mid] = env.id
            self._last_sent[env.id] = time.monotonic()
            if env.op == CHUNK_OP and env.type == "req":
                self._chunks_inflight.add(env.id)
        return info.rc

    def _handle_puback(self, mid: int, reason_code) -> None:
        with self._pub_lock:
            env_id = self._mids.pop(mid, None)
        if env_id is None or not reason_code.is_failure:
            return
        why = f"PUBACK {reason_code} (0x{reason_code.value:02x})"
        log.warning("publish %s not delivered: %s", env_id, why)
        try:
            row = self.outbox.get(env_id)
        except StorageError:
            row = None
        if row is not None:
            self.outbox.record_attempt(env_id, why)  # the row stays: retried later
        self.bus.publish("network.not_delivered", {"id": env_id, "op": row.op if row else "", "reason": why},
                         source="network")
        if row is not None:
            return
        # An online request (no outbox row): fail its caller now rather than after the timeout.
        with self._waiters_lock:
            entry = self._waiters.pop(env_id, None)
        if entry is not None:
            entry[1]._resolve(error=NotDelivered(f"{entry[0]}: {why}"))

    def _handle_suback(self, mid: int, reason_codes: list) -> None:
        topic = self._sub_mids.pop(mid, None)
        if topic is None or not reason_codes:
            return
        rc = reason_codes[0]
        if not rc.is_failure:
            if topic in self._refused:
                self._refused = {t: d for t, d in self._refused.items() if t != topic}
                log.info("subscription granted again: %s", topic)
            return
        detail = f"SUBACK {rc} (0x{rc.value:02x})"
        err = SubscriptionRefused(self.terminal_id, topic, detail)
        log.error("%s; %s", err.reason, err.action, extra={"code": err.code, "topic": topic})
        self.bus.publish("network.subscription_refused", err.to_dict(), source="network")
        # Last: whoever sees the refusal in refused_subscriptions() finds it logged and announced.
        self._refused = {**self._refused, topic: detail}

    def _handle_messages(self, batch: list[tuple[str, bytes]]) -> None:
        """Messages that arrived together: answers are settled in one outbox transaction."""
        answers: list[Envelope] = []
        for topic, payload in batch:
            try:
                env = Envelope.from_bytes(payload)
                schemas.validate_message(topic, vars(env))  # not to_dict(): no deep copy of each answer
            except (EnvelopeError, InvalidMessage) as e:
                self._unreadable(topic, payload, e)
                continue
            kind = topics.parse(topic).kind
            if kind == "res":
                answers.append(env)
            elif kind == "cmd":
                self.bus.publish("network.command", env.to_dict(), source="network")
            elif kind == "bcast":
                self.bus.publish("network.broadcast", env.to_dict(), source="network",
                                 region=topics.parse(topic).region)
        if answers:
            self._settle(answers)

    def _unreadable(self, topic: str, payload: bytes, error: Exception) -> None:
        """An answer we cannot read fails the request it names (when it names one): an online
        request at once; a durable row counts a failure and becomes a dead letter at the bound."""
        err = error if isinstance(error, InvalidMessage) else InvalidMessage(str(error))
        corr = _corr_of(payload)
        log.warning("dropped message on %s: %s", topic, err.reason, extra={"corr": corr})
        if corr is None:
            return  # names no request: nothing to fail (a durable row is retried as unanswered)
        with self._waiters_lock:
            entry = self._waiters.pop(corr, None)
        if entry is not None:
            entry[1]._resolve(error=err)
        if topic.endswith("/res") and self.outbox.record_failure(corr, f"unreadable answer: {err.reason}") == "dead":
            self._last_sent.pop(corr, None)
            with self._pub_lock:
                self._chunks_inflight.discard(corr)
            self.bus.publish("network.outbox", {"depth": self.outbox.depth()}, source="network")

    def _settle(self, answers: list[Envelope]) -> None:
        waiting = self.outbox.settle(env.corr for env in answers)  # one transaction for the batch
        removed, was_chunk = bool(waiting), False
        for env in answers:
            body = env.body
            error = None if body["ok"] else Rejected(body["error"]["code"], body["error"].get("message", ""), env.op)
            self._last_sent.pop(env.corr, None)
            with self._pub_lock:
                was_chunk |= env.corr in self._chunks_inflight
                self._chunks_inflight.discard(env.corr)
            with self._waiters_lock:
                entry = self._waiters.pop(env.corr, None)
            if entry is not None:
                entry[1]._resolve(body.get("result"), error)
            if env.corr in waiting:
                waiting.discard(env.corr)  # a duplicate in the same batch is not announced twice
                self.bus.publish("network.result", {"id": env.corr, "op": env.op, "ok": body["ok"],
                                                    "result": body.get("result"), "error": body.get("error")},
                                 source="network")
            elif entry is None:
                log.debug("response %s matches nothing waiting (a duplicate or late answer)", env.corr)
        if removed:
            self.bus.publish("network.outbox", {"depth": self.outbox.depth()}, source="network")
        if was_chunk and self._held and self._online:
            self._drain(force=False)  # the window has room: the next chunk leaves now, not at the tick

    # -- public API ---------------------------------------------------------------------------
    def request(self, op: str, body: dict, timeout_s: float | None = None) -> dict:
        """Online request/response: the result dict, or Offline/Timeout/Rejected/InvalidMessage."""
        schemas.validate_request(op, body)
        if not self._online:
            raise Offline(f"{op}: not connected to the broker")
        res_topic = topics.res(self.terminal_id)
        refused = self._refused.get(res_topic)
        if refused is not None:  # the answer could never reach us: fail now, not after the timeout
            raise SubscriptionRefused(self.terminal_id, res_topic, refused)
        env = Envelope("req", op, self.terminal_id, body, idem=new_id() if schemas.is_durable(op) else None)
        waiter = Pending(env.id, env.idem or "", op)
        with self._waiters_lock:
            self._waiters[env.id] = (op, waiter)
        try:
            self._publish(topics.req(self.terminal_id, op), env)
            timeout = self.request_timeout_s if timeout_s is None else timeout_s
            if not waiter._done.wait(timeout):
                raise Timeout(f"{op}: no answer within {timeout} s")
        finally:
            with self._waiters_lock:
                self._waiters.pop(env.id, None)
            with self._pub_lock:
                self._last_sent.pop(env.id, None)
        return waiter.wait(0)

    def submit(self, op: str, body: dict, idem: str | None = None, *, sealed: bool = False) -> Pending:
        """Durable operation: stored in the outbox first, then sent; ``Pending.wait()`` for the answer.

        ``sealed``: the body is stored encrypted (it may carry personal data; mobile profile)."""
        if not schemas.is_durable(op):
            raise InvalidMessage(f"{op} is not a durable operation; use request()")
        schemas.validate_request(op, body)
        env = Envelope("req", op, self.terminal_id, body, idem=idem or new_id())
        pending = Pending(env.id, env.idem, op)
        with self._waiters_lock:
            self._waiters[env.id] = (op, pending)
        try:
            self.outbox.put(env.id, op, "req", env.idem, body, sealed=sealed)
        except Exception:
            with self._waiters_lock:
                self._waiters.pop(env.id, None)
            raise
        self.bus.publish("network.outbox", {"depth": self.outbox.depth()}, source="network")
        if self._online:
            with self._pub_lock:
                full = self.upload_window and op == CHUNK_OP and len(self._chunks_inflight) >= self.upload_window
                if full:
                    self._held = True
                wait = self._held
            if not wait:  # else a held row is ahead of this one: the drain sends both in order
                self._publish(topics.req(self.terminal_id, op), env)
                self.outbox.record_attempt(env.id)
        return pending

    def emit_event(self, name: str, data: dict) -> str:
        """Durable event (acknowledged by the central service); returns its envelope id."""
        body = {"data": dict(data), "at": now_iso()}
        eid = new_id()
        env = Envelope("evt", name, self.terminal_id, body, id=eid, idem=eid)
        schemas.validate_message(topics.evt(self.terminal_id), env.to_dict())
        self.outbox.put(eid, name, "evt", eid, body)
        self.bus.publish("network.outbox", {"depth": self.outbox.depth()}, source="network")
        if self._online:
            self._publish(topics.evt(self.terminal_id), env)
            self.outbox.record_attempt(eid)
        return eid

    def publish_telemetry(self, data: dict) -> bool:
        """Send health at QoS 0 (dropped when offline); True if handed to the broker link."""
        body = {"uptime_s": round(time.monotonic() - self._started_mono, 3), "devices": {},
                "outbox_depth": self.outbox.depth(), "online_since": self._online_since}
        body.update(data)
        env = Envelope("telemetry", "telemetry", self.terminal_id, body)
        schemas.validate_message(topics.telemetry(self.terminal_id), env.to_dict())
        if not self._online:
            return False
        self._publish(topics.telemetry(self.terminal_id), env, qos=0)
        return True

    def sync_catalogue(self, timeout_s: float | None = None) -> bool:
        """Ask catalogue.sync with the cached version and store the answer; True if it changed."""
        result = self.request("catalogue.sync", {"since_version": self.catalogue.version}, timeout_s)
        return self.catalogue.store(result)


def _corr_of(payload: bytes) -> str | None:
    """The request id an answer names, even when it is not valid JSON any more (truncated)."""
    try:
        corr = json.loads(payload).get("corr")
        return corr if isinstance(corr, str) else None
    except Exception:
        m = _CORR_RE.search(payload)
        return m.group(1).decode() if m else None
