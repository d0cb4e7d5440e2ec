"""The reference central service: MQTT in, group-committed SQLite, MQTT out.

Threads: paho's network thread only enqueues (callbacks never block or touch the database);
one writer thread drains the queue in batches and applies each batch in ONE transaction (a
savepoint per request), then publishes all the batch's responses. Why: a per-request commit is
an fsync per check-in and cannot reach 1,000 check-ins/s on two cores; a batch commit can.
Responses leave only after their commit, so an answer always describes a durable state.

Several instances share the load through the MQTT v5 shared subscription ``$share/central/...``
and may share one SQLite file (their batches serialise on BEGIN IMMEDIATE); the idempotency
table makes a replay to another instance answer with the first answer.
"""
from __future__ import annotations

import json
import logging
import queue
import socket
import sqlite3
import threading
import time
import uuid
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

from kiosk.network import envelope, schemas, topics
from kiosk.network.errors import InvalidMessage
from kiosk.network.envelope import Envelope, EnvelopeError
from hall_central.clock import Clock, iso_utc
from hall_central.domain import Domain, OpError
from hall_central.store import Store, body_hash, open_store

log = logging.getLogger("kiosk.central.service")

#: Why 512: large enough to amortise one commit over a burst, small enough to answer in a few ms.
MAX_BATCH = 512
#: How often a batch that hits "database is locked" (another instance's long batch) is retried.
COMMIT_RETRIES = 5
_STOP = object()


def parse_broker_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` -> (host, port)."""
    u = urlparse(url)
    if u.scheme not in ("mqtt", "tcp", "mqtts") or not u.hostname:
        raise ValueError(f"broker URL must be mqtt://host:port or mqtts://host:port, got {url!r}")
    return u.hostname, u.port or (8883 if u.scheme == "mqtts" else 1883)


def apply_tls(client: mqtt.Client, url: str, tls: dict | None) -> None:
    """Use TLS 1.2+ with the central's client certificate for ``mqtts://`` (kiosk.trust.tls)."""
    if tls is None and not url.startswith("mqtts://"):
        return
    from kiosk.trust.tls import client_context
    tls = tls or {}
    client.tls_set_context(client_context(tls.get("ca"), tls.get("cert"), tls.get("key"), bool(tls.get("insecure"))))


def _fields(env: Envelope) -> dict:
    """The envelope's fields as a dict for validation, without ``to_dict``'s deep copy of the body.

    Why: ``dataclasses.asdict`` copied every body recursively, ~0.1 ms per check-in; the
    validators only read. (Envelope is a plain dataclass: its ``__dict__`` holds its fields.)
    """
    return dict(vars(env))


def _encode(env: Envelope) -> bytes:
    """``env.to_bytes()`` without its deep copy: the same bytes for the JSON-only bodies we build.

    Why: ``to_bytes`` runs ``dataclasses.asdict`` (a recursive copy) before ``json.dumps``, the
    largest remaining cost per check-in after validation (~0.08 ms).
    """
    return json.dumps(vars(env), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class CentralService:
    """One instance of the central service (``start()`` / ``stop()``)."""

    def __init__(self, broker_url: str, db_url: str, *, clock: Clock | None = None, instance: str = "c1",
                 max_batch: int = MAX_BATCH, tls: dict | None = None, signer=None) -> None:
        self.broker_url, self.db_url, self.instance = broker_url, db_url, instance
        #: ``{"ca", "cert", "key"}`` for mqtts:// (the central's certificate from central/hall_central/pki.py).
        self.tls = tls
        #: A :class:`hall_central.keys.CentralKeys` (signs check-in codes) or None (unsigned codes).
        self.signer = signer
        self.clock = clock or Clock()
        self.max_batch = max_batch
        self.queue: queue.Queue = queue.Queue()
        self.stats = {"requests": 0, "events": 0, "batches": 0, "replays": 0, "dropped": 0}
        self._subscribed = threading.Event()
        self._writer: threading.Thread | None = None
        self._client: mqtt.Client | None = None
        self.store: Store | None = None
        self.domain: Domain | None = None

    # --- life cycle -----------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> "CentralService":
        """Open (and seed) the database, connect, subscribe; return when subscribed."""
        self.store = open_store(self.db_url)
        self.domain = Domain(self.store, self.clock, signer=self.signer)
        with self.store.transaction():
            self.domain.ensure_seeded()
            self.domain.new_day_if_needed()
        host, port = parse_broker_url(self.broker_url)
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"central-{self.instance}-{uuid.uuid4().hex[:8]}",
                        protocol=mqtt.MQTTv5)
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        c.on_connect, c.on_message, c.on_subscribe = self._on_connect, self._on_message, self._on_subscribe
        c.on_socket_open = self._on_socket_open
        apply_tls(c, self.broker_url, self.tls)
        self._client = c
        self._writer = threading.Thread(target=self._write_loop, name=f"central-{self.instance}-writer", daemon=True)
        self._writer.start()
        # Clean start: the central service keeps no broker session; unanswered requests are
        # replayed by the terminals' outboxes and answered from the idempotency table.
        c.connect(host, port, keepalive=30, clean_start=True)
        c.loop_start()
        if not self._subscribed.wait(timeout_s):
            self.stop()
            raise TimeoutError(f"central {self.instance}: no SUBACK from {self.broker_url} within {timeout_s} s")
        log.info("central service ready", extra={"instance": self.instance, "broker": self.broker_url})
        return self

    def stop(self) -> None:
        """Drain what is queued, disconnect, close the database."""
        if self._writer and self._writer.is_alive():
            self.queue.put(_STOP)
            self._writer.join(10)
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
        if self.store is not None:
            self.store.close()
            self.store = None

    def __enter__(self) -> "CentralService":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- paho callbacks (network thread: enqueue only) ------------------------------------
    def _on_socket_open(self, client, userdata, sock) -> None:
        try:  # PITFALLS.md: 44-88 ms per round trip without TCP_NODELAY
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        try:
            if reason_code.is_failure:
                log.warning("broker refused the connection", extra={"reason": str(reason_code)})
                return
            client.subscribe([(t, 1) for t in topics.central_subscriptions()])
        except Exception:  # a callback exception would kill paho's thread silently
            log.exception("on_connect failed")

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(rc.is_failure for rc in reason_codes):
            log.error("subscription refused", extra={"codes": str(reason_codes)})
            return
        self._subscribed.set()

    def _on_message(self, client, userdata, msg) -> None:
        try:
            self.queue.put((msg.topic, bytes(msg.payload)))
        except Exception:
            log.exception("enqueue failed")

    # --- the writer thread ----------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            first = self.queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self.queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            try:
                out = self._apply_batch(batch)
            except Exception:
                log.exception("batch failed; the terminals will retry", extra={"size": len(batch)})
                out = []
            for topic, payload in out:
                if self._client is not None:
                    self._client.publish(topic, payload, qos=1)
            if stop:
                return

    def _apply_batch(self, batch: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        for attempt in range(COMMIT_RETRIES):
            out: list[tuple[str, bytes]] = []
            try:
                with self.store.transaction():
                    self.domain.new_day_if_needed()
                    for topic, payload in batch:
                        res = self._process(topic, payload)
                        if res is not None:
                            out.append(res)
                self.stats["batches"] += 1
                return out
            except sqlite3.OperationalError as e:
                log.warning("batch commit failed, retrying", extra={"error": str(e), "attempt": attempt + 1})
                self.domain._day_done = None
                time.sleep(0.05 * (attempt + 1))
        raise RuntimeError("database stayed locked")

    def _process(self, topic: str, payload: bytes) -> tuple[str, bytes] | None:
        """Handle one message inside the batch's transaction; return the response to publish."""
        try:
            parsed = topics.parse(topic)
            env = Envelope.from_bytes(payload)
        except (topics.TopicError, EnvelopeError) as e:
            self.stats["dropped"] += 1
            log.warning("dropped a malformed message", extra={"topic": topic, "error": str(e)})
            return None
        now = iso_utc(self.clock.now())
        if parsed.kind == "state":
            if env.body:
                self.store.set_terminal_state(env.terminal, env.body, now)
            return None
        if parsed.kind == "telemetry":
            self.store.set_terminal_telemetry(env.terminal, env.body, now)
            return None
        if parsed.kind == "evt":
            return self._event(topic, env, now)
        if parsed.kind != "req":
            return None
        self.stats["requests"] += 1
        return topics.res(env.terminal), _encode(self._request(topic, env))

    def _event(self, topic: str, env: Envelope, now: str) -> tuple[str, bytes]:
        self.stats["events"] += 1
        try:
            schemas.validate_message(topic, _fields(env))
        except InvalidMessage as e:
            return topics.res(env.terminal), _encode(envelope.response(env, error={"code": "invalid", "message": str(e)}))
        if self.store.add_event(env.terminal, env.idem or env.id, env.op, env.body["data"], env.body["at"], now):
            log.info("terminal event", extra={"terminal": env.terminal, "event": env.op})
        return topics.res(env.terminal), _encode(envelope.response(env, {}))

    def _request(self, topic: str, env: Envelope) -> Envelope:
        try:
            schemas.validate_message(topic, _fields(env))
        except InvalidMessage as e:
            return envelope.response(env, error={"code": "invalid", "message": str(e)})
        durable = schemas.is_durable(env.op)
        bhash = body_hash(env.op, env.body)
        if durable:
            seen = self.store.idem_get(env.terminal, env.idem)
            if seen is not None:
                if seen[0] != bhash:
                    return envelope.response(env, error={"code": "conflict",
                                                         "message": "idempotency key reused with another body"})
                self.stats["replays"] += 1
                return Envelope("res", env.op, env.terminal, seen[1], corr=env.id, idem=env.idem)
        try:
            with self.store.savepoint():
                result = self.domain.handle(env.terminal, env.op, env.body)
            res = envelope.response(env, result)
        except OpError as e:
            res = envelope.response(env, error=e.to_dict())
        except sqlite3.OperationalError:
            raise  # the whole batch retries
        except Exception:
            # A bug must not poison the key: nothing is recorded, the terminal's retry may succeed.
            log.exception("operation failed", extra={"op": env.op, "terminal": env.terminal})
            return envelope.response(env, error={"code": "internal", "message": "internal error"})
        if durable:
            self.store.idem_put(env.terminal, env.idem, env.op, bhash, res.body, self.clock.now().timestamp())
        return res
