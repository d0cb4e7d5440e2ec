"""The outbox pump: what must not be lost goes from the outbox to the broker until it is answered.

kiosk.network.outbox owns the rows on disk; the pump owns sending them. It is the one publish path
for envelopes (it remembers when each left, for the retry timer and the window), stores a durable
operation before its first send, drains the waiting rows in order (all of them on reconnect, those
unanswered for ``retry_after_s`` on each tick; a row that cannot be opened, sealed under a lost
key, is counted and skipped), settles the answers that arrived together in one outbox transaction,
records a publish the broker refused on its row (``network.not_delivered``), and counts an answer
that cannot be read against its row (set aside as a dead letter after ``dead_letter_after``).

The upload window: at most ``upload_window`` photo chunks (``upload.chunk`` rows) in flight (0 = no
limit). A full window holds that row and every row queued behind it, to keep the order; they leave
as answers free a place, so after a drop only unanswered chunks are resent.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from kiosk.events import EventBus
from kiosk.network import operations, topics
from kiosk.network.envelope import Envelope
from kiosk.network.link import MqttLink
from kiosk.network.outbox import Outbox
from kiosk.network.sealed import SealError
from kiosk.storage import StorageError

#: Why the gateway's name: these log lines kept the logger they had before the gateway was split.
log = logging.getLogger("kiosk.network.gateway")

#: The operation whose rows are flow-controlled by ``upload_window`` (photos in 48 KiB chunks).
CHUNK_OP = operations.UPLOAD_CHUNK


class Pump:
    """Sends the outbox's rows in order, retries them, settles them, keeps the upload window."""

    def __init__(self, terminal_id: str, outbox: Outbox, link: MqttLink, bus: EventBus, *,
                 online: Callable[[], bool], retry_after_s: float, upload_window: int = 0) -> None:
        """``online()``: whether the gateway is online (subscribed, birth sent) right now."""
        self.terminal_id, self.outbox, self.link, self.bus = terminal_id, outbox, link, bus
        self._online = online
        #: Why a separate retry delay: a row without an answer is resent (same id and idem) after
        #: this long while online; reconnects resend at once.
        self.retry_after_s = retry_after_s
        #: Chunk rows in flight at most (0 = no limit); why a window: 100 photo chunks of 64 KB
        #: sent at once would stall check-ins behind them on a 2G link and all be resent after a drop.
        self.upload_window = upload_window
        self._lock = threading.Lock()
        self._chunks_inflight: set[str] = set()  # envelope ids of chunk rows sent and not answered
        self._last_sent: dict[str, float] = {}  # envelope id -> monotonic time of the last send
        self.held = False  # a chunk row waits for the window: later rows wait behind it (order)

    # -- sending ------------------------------------------------------------------------------
    def send(self, topic: str, env: Envelope, qos: int = 1, retain: bool = False) -> int:
        """Publish an envelope and remember it left (under the lock: an answer settled meanwhile
        finds it in the window). Returns paho's rc."""
        payload = env.to_bytes()
        with self._lock:
            rc = self.link.publish(topic, payload, qos=qos, retain=retain, key=env.id)
            if env.type in ("req", "evt"):  # why not state/telemetry: never retried, never forgotten
                self._last_sent[env.id] = time.monotonic()
            if env.op == CHUNK_OP and env.type == "req":
                self._chunks_inflight.add(env.id)
        return rc

    def forget(self, env_id: str) -> None:
        """An online request is over (answered or given up): nothing to retry."""
        with self._lock:
            self._last_sent.pop(env_id, None)

    def store(self, env: Envelope, kind: str, body: dict[str, Any], *, sealed: bool = False) -> None:
        """Write a durable operation (``req``) or event (``evt``) to the outbox before it is sent;
        raises what the outbox raises (OutboxFull, PersonalDataRefused, StorageError)."""
        assert env.idem is not None  # a durable request or event always carries its idempotency key
        self.outbox.put(env.id, env.op, kind, env.idem, body, sealed=sealed)
        self.bus.publish("network.outbox", {"depth": self.outbox.depth()}, source="network")

    def send_stored(self, topic: str, env: Envelope, *, windowed: bool = True) -> None:
        """Send a row just stored, if online and (``windowed``) nothing is held ahead of it."""
        if not self._online():
            return
        if windowed:
            with self._lock:
                if self.upload_window and env.op == CHUNK_OP and len(self._chunks_inflight) >= self.upload_window:
                    self.held = True
                if self.held:  # a held row is ahead of this one: the drain sends both in order
                    return
        self.send(topic, env)
        self.outbox.record_attempt(env.id)

    def drain(self, force: bool) -> None:
        """Send waiting rows in order; ``force`` (on reconnect) resends all, else only stale ones."""
        now = time.monotonic()
        held, sent = False, []
        try:
            rows = self.outbox.pending()
        except StorageError:
            return  # the outbox logged it once; the next tick tries again
        for row in rows:
            if not self._online():
                held = self.held
                break
            # A row this process never sent leaves now. (Defaulting its last send to 0.0 held
            # every new row for retry_after_s after boot: monotonic time starts near zero there.)
            last = self._last_sent.get(row.id)
            if not force and last is not None and now - last < self.retry_after_s:
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
            self.send(topic, env)
            sent.append(row.id)
        self.held = held
        self.outbox.record_attempts(sent)  # one transaction for the whole drain (never raises)

    def tick(self) -> None:
        """The worker's timer: resend what waited too long, checkpoint the outbox."""
        if self._online():
            self.drain(force=False)
        self.outbox.maybe_checkpoint()

    def link_lost(self) -> None:
        """Nothing is in flight on a dead link: the window's chunks are resent on reconnect."""
        with self._lock:
            self._chunks_inflight.clear()

    # -- answers ------------------------------------------------------------------------------
    def settle(self, ids: Iterable[str]) -> set[str]:
        """Remove the answered rows in one transaction; the ids that were waiting."""
        return self.outbox.settle(ids)

    def answered(self, env_id: str) -> bool:
        """``env_id`` was answered: no retry; True if it held a place in the upload window."""
        self._last_sent.pop(env_id, None)
        with self._lock:
            was_chunk = env_id in self._chunks_inflight
            self._chunks_inflight.discard(env_id)
        return was_chunk

    def window_freed(self) -> None:
        """Answers freed places in the window: a held chunk leaves now, not at the next tick."""
        if self.held and self._online():
            self.drain(force=False)

    def unreadable_answer(self, env_id: str, reason: str) -> None:
        """The answer to row ``env_id`` could not be read: counted; a dead letter at the bound."""
        if self.outbox.record_failure(env_id, f"unreadable answer: {reason}") == "dead":
            self._last_sent.pop(env_id, None)
            with self._lock:
                self._chunks_inflight.discard(env_id)
            self.bus.publish("network.outbox", {"depth": self.outbox.depth()}, source="network")

    def not_delivered(self, env_id: str, why: str) -> bool:
        """The broker refused the publish of ``env_id``: its row (kept, retried later) counts the
        attempt; ``network.not_delivered`` is announced. False when it was no row (online request)."""
        try:
            row = self.outbox.get(env_id)
        except StorageError:
            row = None
        if row is not None:
            self.outbox.record_attempt(env_id, why)
        self.bus.publish("network.not_delivered", {"id": env_id, "op": row.op if row else "", "reason": why},
                         source="network")
        return row is not None
