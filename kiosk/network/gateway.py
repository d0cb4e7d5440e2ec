"""The gateway: the terminal's one link to the central service, as the rest of the runtime sees it.

A thin facade composing the parts, each owning one job:

- :mod:`kiosk.network.broker`: where the broker is (``network.broker``, its TLS files);
- :mod:`kiosk.network.link`: the MQTT link (the only paho user): connect and reconnect under a
  :class:`hall_common.reconnect.ReconnectSupervisor`, subscriptions, PUBACK/SUBACK reason codes,
  TCP_NODELAY, the network and worker threads (paho callbacks only enqueue);
- :mod:`kiosk.network.correlator`: request correlation by our own envelope ids, timeouts, typed
  failures, answers that cannot be read;
- :mod:`kiosk.network.pump`: the outbox pump: drain in order, retry, dead letters, batched
  settlement, the upload window;
- :mod:`kiosk.network.outbox` and :mod:`kiosk.network.catalogue`: the durable queue and the
  catalogue cache on disk.

The facade keeps the public API, the online state (CONNACK handled, subscriptions sent, the
retained birth message published), what comes in (answers, commands, broadcasts), telemetry and the
catalogue sync. Offline-first: :meth:`Gateway.start` returns at once.

Online operations go through :meth:`request` (raises Offline at once with no link). Operations
that must not be lost go through :meth:`submit` / :meth:`emit_event`: written to the outbox first,
removed only when the central service answers. Bus events: ``network.online``, ``network.offline``,
``network.command``, ``network.broadcast``, ``network.result``, ``network.outbox``, and
``network.not_delivered`` (a publish the broker refused), ``network.subscription_refused`` (a
SUBSCRIBE of our own the broker refused: the terminal is missing from the broker's ACLs), and from
the outbox ``network.outbox_alarm`` (bound reached, disk fault, corrupt file moved aside) and
``network.dead_letter``. Mobile profile: ``submit(..., sealed=True)`` stores the body encrypted
(kiosk.network.sealed) and decrypts it only to send; photo chunks keep to the upload window.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from hall_common.backoff import Backoff
from hall_common.reconnect import ReconnectSupervisor
from kiosk.config import Config
from kiosk.events import EventBus
from kiosk.network import schemas, topics
from kiosk.network.broker import Broker, tls_settings
from kiosk.network.catalogue import CatalogueCache
from kiosk.network.correlator import Correlator, Pending, outcome
from kiosk.network.envelope import Envelope, EnvelopeError, new_id, now_iso
from kiosk.network.errors import (
    InvalidMessage,
    NotDelivered,
    Offline,
    SubscriptionRefused,
)
from kiosk.network.link import Client, MqttLink
from kiosk.network.operations import CATALOGUE_SYNC, DurableOp, Op
from kiosk.network.outbox import DEAD_LETTER_AFTER, Outbox
from kiosk.network.pump import CHUNK_OP, Pump
from kiosk.network.sealed import Sealer

__all__ = ["CHUNK_OP", "Gateway", "NotDelivered", "Pending", "SubscriptionRefused"]

log = logging.getLogger("kiosk.network.gateway")


def _plain(body: Mapping[str, Any]) -> dict[str, Any]:
    """A request body as the envelope holds it. A TypedDict of kiosk.network.operations is a plain
    dict at run time (nothing is copied); type checkers see a Mapping."""
    return cast("dict[str, Any]", body)


class Gateway:
    """Terminal side of the central-network link over MQTT v5."""

    def __init__(self, terminal_id: str, broker_url: str, regions: list[str], state_dir: str | Path,
                 bus: EventBus, *, keepalive_s: int = 30, request_timeout_s: float = 5.0,
                 reconnect_min_s: float = 0.1, reconnect_max_s: float = 5.0,
                 session_expiry_s: int = 604800, outbox_max_rows: int = 10000, tls: dict[str, Any] | None = None,
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
        broker = Broker.parse(broker_url)
        self.host, self.port = broker.host, broker.port
        self.state_dir = Path(state_dir)
        self.outbox = Outbox(self.state_dir / "outbox.sqlite3", outbox_max_rows, bus, sealer=sealer,
                             dead_letter_after=dead_letter_after)
        self.catalogue = CatalogueCache(self.state_dir)
        self.correlator = Correlator()
        self._online = False
        self._online_since: str | None = None
        self._started_mono = time.monotonic()
        self._started_at = now_iso()
        will = Envelope("state", "state", terminal_id, {"online": False})
        self.link = MqttLink(
            terminal_id, broker, bus,
            ReconnectSupervisor(f"mqtt link {self.host}:{self.port}",
                                Backoff(base_s=reconnect_min_s, cap_s=reconnect_max_s), log=log),
            subscriptions=topics.terminal_subscriptions(terminal_id, self.regions),
            will=(topics.state(terminal_id), will.to_bytes()), tls=tls, keepalive_s=keepalive_s,
            session_expiry_s=session_expiry_s, on_up=self._link_up, on_down=self._set_offline,
            on_messages=self._handle_messages, on_not_delivered=self._not_delivered, on_tick=self._tick)
        self.pump = Pump(terminal_id, self.outbox, self.link, bus, online=lambda: self._online,
                         retry_after_s=retry_after_s if retry_after_s is not None else max(request_timeout_s, 1.0),
                         upload_window=upload_window)

    @classmethod
    def from_config(cls, cfg: Config, bus: EventBus) -> Gateway:
        """Build from the ``[network]`` section of a :class:`kiosk.config.Config`."""
        g = cfg.get
        return cls(cfg.terminal_id, g("network.broker"), cfg.regions, g("runtime.state_dir"), bus,
                   sealer=Sealer.from_config(cfg), upload_window=int(g("mobile.upload_window", 0) or 0),
                   keepalive_s=g("network.keepalive_s"), request_timeout_s=g("network.request_timeout_s"),
                   reconnect_min_s=g("network.reconnect_min_s"), reconnect_max_s=g("network.reconnect_max_s"),
                   session_expiry_s=g("network.session_expiry_s"), outbox_max_rows=g("network.outbox_max_rows"),
                   dead_letter_after=g("network.dead_letter_after", DEAD_LETTER_AFTER),
                   tls=tls_settings(cfg), profile=g("terminal.profile", "kiosk"))

    # -- the parts' settings, where callers and tests have always found them -------------------
    @property
    def client(self) -> Client:
        """paho's client (read-only use: ``client.socket()``)."""
        return self.link.client

    @property
    def retry_after_s(self) -> float:
        """Seconds an unanswered row waits before it is resent while online."""
        return self.pump.retry_after_s

    @retry_after_s.setter
    def retry_after_s(self, value: float) -> None:
        self.pump.retry_after_s = value

    @property
    def upload_window(self) -> int:
        """Photo chunks in flight at most (0 = no limit)."""
        return self.pump.upload_window

    @property
    def _waiters(self) -> dict[str, Any]:
        """Envelope id -> (op, Pending) of the callers waiting now (kept for tests)."""
        return self.correlator.waiting

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the link's threads; returns at once (offline-first)."""
        self.link.start()

    def stop(self) -> None:
        """Say goodbye (retained offline state), disconnect, join the threads, close the stores."""
        if self._online:
            try:
                off = Envelope("state", "state", self.terminal_id, {"online": False})
                self.link.publish(topics.state(self.terminal_id), off.to_bytes(), qos=1, retain=True)
            except Exception:
                log.debug("offline state not published", exc_info=True)
        self.link.stop()
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

    def outbox_health(self) -> dict[str, Any]:
        """For staff and operators: dead letters (count, the newest few) and the outbox's alarms."""
        return {"dead_letters": self.outbox.dead_count(), "recent_dead_letters": self.outbox.dead_letters(5),
                "alarms": self.outbox.alarms()}

    def refused_subscriptions(self) -> list[dict[str, Any]]:
        """Our subscriptions the broker refused at the last connection, as typed-error dicts
        (``code``, ``reason``, ``action``, ``topic``): empty when all were granted."""
        return [SubscriptionRefused(self.terminal_id, t, d).to_dict() for t, d in sorted(self.link.refused.items())]

    # -- the link's worker thread calls these -------------------------------------------------
    def _link_up(self) -> None:
        birth = Envelope("state", "state", self.terminal_id, {
            "online": True, "version": self.version, "profile": self.profile,
            "regions": self.regions, "started_at": self._started_at})
        self.pump.send(topics.state(self.terminal_id), birth, retain=True)
        was = self._online
        self._online, self._online_since = True, now_iso()
        if not was:
            log.info("online: %s:%d", self.host, self.port)
            self.bus.publish("network.online", {"broker": f"{self.host}:{self.port}"}, source="network")
        self.pump.drain(force=True)

    def _set_offline(self) -> None:
        self.pump.link_lost()
        if self._online:
            self._online, self._online_since = False, None
            log.warning("offline: lost %s:%d; outbox keeps %d rows", self.host, self.port, self.outbox.depth())
            self.bus.publish("network.offline", {"outbox_depth": self.outbox.depth()}, source="network")

    def _tick(self) -> None:
        self.pump.tick()

    def _not_delivered(self, env_id: str, why: str) -> None:
        if not self.pump.not_delivered(env_id, why):
            # An online request (no outbox row): fail its caller now rather than after the timeout.
            self.correlator.fail(env_id, lambda op: NotDelivered(f"{op}: {why}"))

    def _handle_messages(self, batch: list[tuple[str, bytes]]) -> None:
        """Messages that arrived together: answers are settled in one outbox transaction."""
        answers: list[Envelope] = []
        for topic, payload in batch:
            try:
                env = self.correlator.read(topic, payload)
            except (EnvelopeError, InvalidMessage) as e:
                corr, err = self.correlator.unreadable(topic, payload, e)
                if corr is not None and topic.endswith("/res"):
                    self.pump.unreadable_answer(corr, err.reason)
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
            self._settle(self._for_their_requests(answers))

    def _for_their_requests(self, answers: list[Envelope]) -> list[Envelope]:
        """The answers whose operation is their request's. One for another operation (a central
        service that cross-wired its answers) cannot settle the request it names: a feedback
        answer had settled a check-in row, and its caller took the feedback result for a
        check-in. It is an unreadable answer for that request (counted; a dead letter at the bound)."""
        expected: dict[str, str | None] = {env.corr: self.correlator.op_of(env.corr)
                                           for env in answers if env.corr is not None}
        unknown = [corr for corr, op in expected.items() if op is None]
        if unknown:  # no caller waits (a restarted terminal): the row's own operation
            expected.update(self.outbox.ops_of(unknown))
        keep = []
        for env in answers:
            op = expected.get(env.corr) if env.corr is not None else None
            if op is None or op == env.op:
                keep.append(env)
                continue
            assert env.corr is not None
            corr, err = self.correlator.unreadable(
                topics.res(self.terminal_id), env.to_bytes(),
                InvalidMessage(f"a {env.op} answer to a {op} request"))
            self.pump.unreadable_answer(env.corr, err.reason)
        return keep

    def _settle(self, answers: list[Envelope]) -> None:
        # one transaction for the batch (the contract lets corr be null: such an answer names nothing)
        waiting = self.pump.settle(env.corr for env in answers if env.corr is not None)
        removed, was_chunk = bool(waiting), False
        for env in answers:
            corr, body = env.corr, env.body
            if corr is None:
                log.debug("response %s matches nothing waiting (a duplicate or late answer)", corr)
                continue
            result, error = outcome(env)
            was_chunk |= self.pump.answered(corr)
            resolved = self.correlator.resolve(corr, result, error)
            if corr in waiting:
                waiting.discard(corr)  # a duplicate in the same batch is not announced twice
                self.bus.publish("network.result", {"id": corr, "op": env.op, "ok": body["ok"],
                                                    "result": body.get("result"), "error": body.get("error")},
                                 source="network")
            elif not resolved:
                log.debug("response %s matches nothing waiting (a duplicate or late answer)", corr)
        if removed:
            self.bus.publish("network.outbox", {"depth": self.outbox.depth()}, source="network")
        if was_chunk:
            self.pump.window_freed()

    # -- public API ---------------------------------------------------------------------------
    def request(self, op: Op, body: Mapping[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        """Online request/response: the result dict, or Offline/Timeout/Rejected/InvalidMessage.

        ``op`` is one of :mod:`kiosk.network.operations` (``operations.APPOINTMENTS_LIST``) and
        ``body`` its request TypedDict (``operations.AppointmentsListRequest``)."""
        schemas.validate_request(op, body)
        if not self._online:
            raise Offline(f"{op}: not connected to the broker")
        res_topic = topics.res(self.terminal_id)
        refused = self.link.refused.get(res_topic)
        if refused is not None:  # the answer could never reach us: fail now, not after the timeout
            raise SubscriptionRefused(self.terminal_id, res_topic, refused)
        env = Envelope("req", op, self.terminal_id, _plain(body), idem=new_id() if schemas.is_durable(op) else None)
        try:
            return self.correlator.call(env, lambda: self.pump.send(topics.req(self.terminal_id, op), env),
                                        self.request_timeout_s if timeout_s is None else timeout_s)
        finally:
            self.pump.forget(env.id)

    def submit(self, op: DurableOp, body: Mapping[str, Any], idem: str | None = None, *,
               sealed: bool = False) -> Pending:
        """Durable operation: stored in the outbox first, then sent; ``Pending.wait()`` for the answer.

        ``sealed``: the body is stored encrypted (it may carry personal data; mobile profile)."""
        if not schemas.is_durable(op):
            raise InvalidMessage(f"{op} is not a durable operation; use request()")
        schemas.validate_request(op, body)
        key = idem or new_id()
        env = Envelope("req", op, self.terminal_id, _plain(body), idem=key)
        pending = Pending(env.id, key, op)
        self.correlator.expect(pending)
        try:
            self.pump.store(env, "req", _plain(body), sealed=sealed)
        except Exception:
            self.correlator.forget(env.id)
            raise
        self.pump.send_stored(topics.req(self.terminal_id, op), env)
        return pending

    def emit_event(self, name: str, data: dict[str, Any]) -> str:
        """Durable event (acknowledged by the central service); returns its envelope id."""
        body = {"data": dict(data), "at": now_iso()}
        eid = new_id()
        env = Envelope("evt", name, self.terminal_id, body, id=eid, idem=eid)
        schemas.validate_message(topics.evt(self.terminal_id), env.to_dict())
        self.pump.store(env, "evt", body)
        self.pump.send_stored(topics.evt(self.terminal_id), env, windowed=False)
        return eid

    def publish_telemetry(self, data: dict[str, Any]) -> bool:
        """Send health at QoS 0 (dropped when offline); True if handed to the broker link."""
        body = {"uptime_s": round(time.monotonic() - self._started_mono, 3), "devices": {},
                "outbox_depth": self.outbox.depth(), "online_since": self._online_since}
        body.update(data)
        env = Envelope("telemetry", "telemetry", self.terminal_id, body)
        schemas.validate_message(topics.telemetry(self.terminal_id), env.to_dict())
        if not self._online:
            return False
        self.pump.send(topics.telemetry(self.terminal_id), env, qos=0)
        return True

    def sync_catalogue(self, timeout_s: float | None = None) -> bool:
        """Ask catalogue.sync with the cached version and store the answer; True if it changed."""
        result = self.request(CATALOGUE_SYNC, {"since_version": self.catalogue.version}, timeout_s)
        return self.catalogue.store(result)
