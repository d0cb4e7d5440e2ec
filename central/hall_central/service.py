"""The reference central service: MQTT in, group-committed SQLite, MQTT out.

Threads: paho's network thread only enqueues (callbacks never block or touch the database), each
message in its sender's lane (:mod:`hall_central.lanes`: one bounded lane per terminal, a flood
beyond the bound shed and counted). One writer thread takes each batch round robin over the
lanes, so a terminal that floods the service delays only itself; it judges each message ALONE
(:mod:`hall_central.intake`: decode, schemas, the sender is the topic's terminal; a refusal is
answered or counted at once), applies the accepted ones as one batch in ONE transaction (a
savepoint per request), then publishes all the batch's responses. A message that still fails
inside the batch is taken out and the rest retried without it: one bad message never costs
another terminal its answer. Why batches: a per-request commit is an fsync per check-in and
cannot reach 1,000 check-ins/s on two cores; a batch commit can.
Responses leave only after their commit, so an answer always describes a durable state.

Several instances share the load through the MQTT v5 shared subscription ``$share/central/...``
and may share one SQLite file (their batches serialise on BEGIN IMMEDIATE); the idempotency
table makes a replay to another instance answer with the first answer.
"""
from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt

from hall_central import intake, lanes
from hall_central.clock import Clock, iso_utc
from hall_central.domain import Domain, OpError
from hall_central.store import SqlStore, body_hash
from hall_central.stores import open_store
from kiosk.config import broker_address
from kiosk.network import envelope, schemas, topics
from kiosk.network.envelope import Envelope

log = logging.getLogger("kiosk.central.service")

#: Why 512: large enough to amortise one commit over a burst, small enough to answer in a few ms.
MAX_BATCH = 512
#: Group commit (PostgreSQL's commit_delay, Kafka's linger.ms): when the writer finds fewer than
#: BATCH_FILL messages waiting, it waits up to BATCH_LINGER_S for more before it takes a batch.
#: Why: a batch costs ~0.3 ms of the writer's CPU beyond its messages (transaction, day check,
#: waking the thread), and at 1,000 check-ins/s open loop the writer took ~700 batches of 1-2
#: messages a second: 75% busy, so any extra load (poison from other terminals, issue 13) tipped
#: it into saturation and every answer waited seconds. Lingering 5 ms makes batches of ~5 there
#: (the writer ~45% busy); a citizen's answer waits at most 5 ms more, and under load, when
#: BATCH_FILL are already waiting, it does not wait at all.
BATCH_FILL = 16
BATCH_LINGER_S = 0.005
#: How often a batch that hits "database is locked" (another instance's long batch) is retried.
COMMIT_RETRIES = 5
#: Why 60 s: one log line per refusal reason per minute tells an operator who sends what, without
#: letting a flood of bad messages flood the log.
LOG_EVERY_S = 60.0


def parse_broker_url(url: str) -> tuple[str, int]:
    """``mqtt://host[:port]`` or ``mqtts://host[:port]`` -> (host, port), an IPv6 host in brackets:
    the terminal's parser (:func:`kiosk.config.broker_address`), so both accept the same URLs and
    refuse the same (a port outside 1-65535 is a ValueError, never the default port)."""
    host, port, _tls = broker_address(url)
    return host, port


def apply_tls(client: mqtt.Client, url: str, tls: dict | None) -> None:
    """Use TLS 1.2+ with the central's client certificate for ``mqtts://`` (kiosk.trust.tls)."""
    if tls is None and not url.startswith("mqtts://"):
        return
    from kiosk.trust.tls import client_context
    tls = tls or {}
    client.tls_set_context(client_context(tls.get("ca"), tls.get("cert"), tls.get("key"), bool(tls.get("insecure"))))


class CentralService:
    """One instance of the central service (``start()`` / ``stop()``)."""

    def __init__(self, broker_url: str, db_url: str, *, clock: Clock | None = None, instance: str = "c1",
                 max_batch: int = MAX_BATCH, tls: dict | None = None, signer=None,
                 lane_quantum: int = lanes.QUANTUM) -> None:
        self.broker_url, self.db_url, self.instance = broker_url, db_url, instance
        #: ``{"ca", "cert", "key"}`` for mqtts:// (the central's certificate from central/hall_central/pki.py).
        self.tls = tls
        #: A :class:`hall_central.keys.CentralKeys` (signs check-in codes) or None (unsigned codes).
        self.signer = signer
        self.clock = clock or Clock()
        self.max_batch = max_batch
        #: What paho hands the writer: one lane per sending terminal (hall_central.lanes).
        self.queue = lanes.Lanes(quantum=lane_quantum)
        #: ``refusals``: messages refused at the door or failed in a batch, by reason (hall_central.intake);
        #: ``dropped``: those of them that had no reply path and were only counted; ``shed``: messages
        #: not queued because their terminal's lane was full (by lane in ``self.queue.shed``).
        self.stats: dict[str, Any] = {"requests": 0, "events": 0, "batches": 0, "replays": 0, "dropped": 0,
                                      "shed": 0, "refusals": {}}
        self._logged: dict[str, float] = {}
        self._subscribed = threading.Event()
        self._writer: threading.Thread | None = None
        self._client: mqtt.Client | None = None
        self.store: SqlStore | None = None
        self.domain: Domain | None = None

    # --- life cycle -----------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> CentralService:
        """Open (and seed) the database, connect, subscribe; return when subscribed."""
        self.store = store = open_store(self.db_url)
        self.domain = domain = Domain(store, self.clock, signer=self.signer)
        with store.transaction():
            domain.ensure_seeded()
            domain.new_day_if_needed()
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
            self.queue.close()
            self._writer.join(10)
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
        if self.store is not None:
            self.store.close()
            self.store = None
        log.info("central service stopped", extra={"instance": self.instance, **self.stats})

    def __enter__(self) -> CentralService:
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
            if not self.queue.put((msg.topic, bytes(msg.payload))):
                self._shed(msg.topic)
        except Exception:
            log.exception("enqueue failed")

    def _shed(self, topic: str) -> None:
        """Count a message its full lane did not take; one log line per LOG_EVERY_S at most."""
        self.stats["shed"] += 1
        now = time.monotonic()
        if now - self._logged.get("shed", -LOG_EVERY_S) >= LOG_EVERY_S:
            self._logged["shed"] = now
            log.warning("shed a message: its terminal's lane is full, or the service is stopping (a terminal "
                        "resends what stays unanswered)",
                        extra={"lane": lanes.lane_of(topic), "shed": dict(self.queue.shed)})

    # --- the writer thread ----------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            raw = self.queue.take(self.max_batch, BATCH_FILL, BATCH_LINGER_S)
            if raw is None:
                return  # stopped, and what was queued is worked off
            # Each message is judged alone before it joins the batch: a refusal is answered (or
            # dropped and counted) at once and never reaches the batch's transaction.
            work: list[intake.Accepted] = []
            for topic, payload in raw:
                verdict = self._judge(topic, payload)
                if isinstance(verdict, intake.Accepted):
                    work.append(verdict)
                elif verdict is not None:
                    self._refused(verdict, topic)
            try:
                out = self._apply_batch(work) if work else []
            except Exception:
                log.exception("batch failed; the terminals will retry", extra={"size": len(work)})
                out = []
            for reply in out:
                self._publish(reply)

    def _judge(self, topic: str, payload: bytes) -> intake.Accepted | intake.Refused | None:
        try:
            return intake.judge(topic, payload)
        except Exception as e:  # judge() never raises by design; if it ever does, only this message pays
            log.exception("judging a message failed", extra={"topic": topic})
            return intake.Refused("internal", detail=type(e).__name__)

    def _publish(self, reply: tuple[str, bytes], qos: int = 1) -> None:
        if self._client is not None:
            self._client.publish(reply[0], reply[1], qos=qos)

    def _refused(self, r: intake.Refused, topic: str) -> None:
        """Answer a refusal on the sender's own res topic, or count it as dropped; log in summary."""
        refusals = self.stats["refusals"]
        refusals[r.reason] = refusals.get(r.reason, 0) + 1
        if r.reply is not None:
            # QoS 0: a refusal records nothing, and a sender that misses it asks again and gets the
            # same answer; a flood of bad messages must not also cost a PUBACK per refusal.
            self._publish(r.reply, qos=0)
        else:
            self.stats["dropped"] += 1
        # Why a summary at most every LOG_EVERY_S per reason: a terminal sending poison at 1,000/s
        # must not turn the log into its amplifier (nor its CPU cost).
        now = time.monotonic()
        if now - self._logged.get(r.reason, -LOG_EVERY_S) >= LOG_EVERY_S:
            self._logged[r.reason] = now
            log.warning("refused a message", extra={"reason": r.reason, "topic": topic, "detail": r.detail[:200],
                                                    "answered": r.reply is not None, "refusals": dict(refusals),
                                                    "dropped": self.stats["dropped"]})

    def _apply_batch(self, work: list[intake.Accepted]) -> list[tuple[str, bytes]]:
        """Apply ``work`` in one transaction; returns the answers to publish after the commit.

        A transient store error (lock, serialization failure, lost connection) retries the whole
        batch. Any other failure that escapes one message's own handling rolls the transaction
        back and retries the rest WITHOUT that message, which is answered ``internal`` (or counted):
        one bad message can cost the others a retry, never their answers.
        """
        store, domain = self._started()
        pending = list(work)
        culprits: list[tuple[str, bytes]] = []
        busy = 0
        strikes: dict[int, int] = {}
        while True:
            out: list[tuple[str, bytes]] = []
            current: intake.Accepted | None = None
            try:
                with store.transaction():
                    domain.new_day_if_needed()
                    for m in pending:
                        current = m
                        res = self._apply(m)
                        if res is not None:
                            out.append(res)
                    current = None
                self.stats["batches"] += 1
                return out + culprits
            except sqlite3.OperationalError as e:  # StoreBusy (both dialects) is one too
                domain._day_done = None
                # The same message failing twice in a row is the message, not the weather.
                if current is not None and strikes.get(id(current), 0) >= 1:
                    culprits += self._drop_culprit(pending, current, e)
                    continue
                if current is not None:
                    strikes = {id(current): 1}
                busy += 1
                if busy >= COMMIT_RETRIES:
                    raise RuntimeError("the store stayed busy") from e
                log.warning("batch commit failed, retrying", extra={"error": str(e), "attempt": busy})
                time.sleep(0.05 * busy)
            except Exception as e:
                domain._day_done = None
                if current is None:
                    raise  # outside any message (the day's set-up, COMMIT): the batch fails as one
                culprits += self._drop_culprit(pending, current, e)

    def _started(self) -> tuple[SqlStore, Domain]:
        """The store and the domain: start() opened them; batches run only between start and stop."""
        assert self.store is not None and self.domain is not None, "the central service is not started"
        return self.store, self.domain

    def _drop_culprit(self, pending: list, m: intake.Accepted, e: BaseException) -> list[tuple[str, bytes]]:
        """Take ``m`` out of the batch; its answer (``internal``), if it can have one."""
        log.error("a message failed inside the batch; retrying the batch without it",
                  extra={"terminal": m.terminal, "op": m.env.op, "error": f"{type(e).__name__}: {e}"[:300]})
        pending.remove(m)
        r = self._internal(m)
        refusals = self.stats["refusals"]
        refusals["failed_in_batch"] = refusals.get("failed_in_batch", 0) + 1
        if r is None:
            self.stats["dropped"] += 1
            return []
        return [r]

    @staticmethod
    def _internal(m: intake.Accepted) -> tuple[str, bytes] | None:
        if m.kind not in ("req", "evt"):
            return None
        env = envelope.response(m.env, error={"code": "internal", "message": "internal error"})
        return topics.res(m.terminal), intake.encode(env)

    def _apply(self, m: intake.Accepted) -> tuple[str, bytes] | None:
        """Handle one accepted message inside the batch's transaction; the answer to publish."""
        env, store = m.env, self._started()[0]
        if m.kind == "req":
            self.stats["requests"] += 1
            return topics.res(m.terminal), intake.encode(self._request(m.terminal, env))
        now = iso_utc(self.clock.now())
        if m.kind == "state":
            store.set_terminal_state(m.terminal, env.body, now)
            return None
        if m.kind == "telemetry":
            store.set_terminal_telemetry(m.terminal, env.body, now)
            return None
        if m.kind == "evt":
            self.stats["events"] += 1
            if store.add_event(m.terminal, env.idem or env.id, env.op, env.body["data"], env.body["at"], now):
                log.info("terminal event", extra={"terminal": m.terminal, "event": env.op})
            return topics.res(m.terminal), intake.encode(envelope.response(env, {}))
        return None

    def _request(self, terminal: str, env: Envelope) -> Envelope:
        store, domain = self._started()
        durable = schemas.is_durable(env.op)
        bhash = body_hash(env.op, env.body)
        idem = env.idem or ""  # used when durable: validate_message refuses a durable request without idem
        if durable:
            seen = store.idem_get(terminal, idem)
            if seen is not None:
                if seen[0] != bhash:
                    return envelope.response(env, error={"code": "conflict",
                                                         "message": "idempotency key reused with another body"})
                self.stats["replays"] += 1
                return Envelope("res", env.op, terminal, seen[1], corr=env.id, idem=env.idem)
        try:
            with store.savepoint():
                result = domain.handle(terminal, env.op, env.body)
            res = envelope.response(env, result)
        except OpError as e:
            res = envelope.response(env, error=e.to_dict())
        except sqlite3.OperationalError:
            raise  # the whole batch retries
        except Exception:
            # A bug must not poison the key: nothing is recorded, the terminal's retry may succeed.
            log.exception("operation failed", extra={"op": env.op, "terminal": terminal})
            return envelope.response(env, error={"code": "internal", "message": "internal error"})
        if durable:
            store.idem_put(terminal, idem, env.op, bhash, res.body, self.clock.now().timestamp())
        return res
