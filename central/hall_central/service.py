"""The reference central service: MQTT in, group-committed SQLite, MQTT out.

Two processes per instance. The front (:mod:`hall_central.front`, a child process) owns the MQTT
connection and the door: it judges every message alone (:mod:`hall_central.intake`: decode,
schemas, the sender is the topic's terminal) and answers or counts a refusal at once, so poison
never reaches this process. This process owns the database. Its reader thread files each accepted
message in its sender's lane (:mod:`hall_central.lanes`: one bounded lane per terminal, a flood
beyond the bound shed and counted); one writer thread takes each batch round robin over the lanes,
so a terminal that floods the service delays only itself, applies the batch in ONE transaction (a
savepoint per request), then hands all the batch's answers to the front to publish. A message that
still fails inside the batch is taken out and the rest retried without it: one bad message never
costs another terminal its answer. Why batches: a per-request commit is an fsync per check-in and
cannot reach 1,000 check-ins/s on two cores; a batch commit can. Why two processes: the front's
docstring (one interpreter lock for the network and the database made every answer wait on poison).
Responses leave only after their commit, so an answer always describes a durable state.

Several instances share the load through the MQTT v5 shared subscription ``$share/central/...``
and may share one SQLite file (their batches serialise on BEGIN IMMEDIATE); the idempotency
table makes a replay to another instance answer with the first answer.
"""
from __future__ import annotations

import logging
import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

from hall_central import intake, lanes
from hall_central.clock import Clock, iso_utc
from hall_central.domain import Domain, OpError
from hall_central.front import Frames, frame, unseal
from hall_central.store import SqlStore, body_hash
from hall_central.stores import open_store
from hall_common.throttle import Throttle
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
#: Why 60 s: one log line per minute about shed messages tells an operator who floods, without
#: letting the flood flood the log.
LOG_EVERY_S = 60.0
#: How long stop() waits for the front to publish the last answers and disconnect before it is killed.
FRONT_STOP_S = 10.0
#: Why 30 s: the front reads its end of the socket pair all the time (answers leave as soon as they
#: come); a frame that finds no room for 30 s means the front is frozen (stopped, a hung thread),
#: not busy. The service then kills it and says it no longer serves (a cold attacker SIGSTOPped the
#: front: the writer blocked in sendall holding the send lock, and a SIGTERM then hung for good).
FRONT_STALL_S = 30.0


class FrontFailed(ConnectionError):
    """The front could not connect (TLS files, a refused handshake, no route), or died: its words."""


def exit_status(returncode: int) -> str:
    """A child's end in words: ``exit status 1``, or ``killed by SIGKILL`` for a negative
    ``returncode`` (subprocess's way of saying a signal ended it)."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:  # a real-time signal, which has no name in the enum
        return f"killed by signal {-returncode}"


def parse_broker_url(url: str) -> tuple[str, int]:
    """``mqtt://host[:port]`` or ``mqtts://host[:port]`` -> (host, port), an IPv6 host in brackets:
    the terminal's parser (:func:`kiosk.config.broker_address`), so both accept the same URLs and
    refuse the same (a port outside 1-65535 is a ValueError, never the default port)."""
    host, port, _tls = broker_address(url)
    return host, port


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
        #: What the front accepted, for the writer: one lane per sending terminal (hall_central.lanes).
        self.queue = lanes.Lanes(quantum=lane_quantum)
        #: ``refusals``: messages refused at the door (counted by the front) or failed in a batch, by
        #: reason (hall_central.intake);
        #: ``dropped``: those of them that had no reply path and were only counted; ``shed``: messages
        #: not queued because their terminal's lane was full (by lane in ``self.queue.shed``).
        self.stats: dict[str, Any] = {"requests": 0, "events": 0, "batches": 0, "replays": 0, "dropped": 0,
                                      "shed": 0, "refusals": {}}
        #: What a flood would repeat is logged in summary, once per LOG_EVERY_S per kind of line (and
        #: terminal, for events); the counts are in the stats.
        self._log_due = Throttle(LOG_EVERY_S)
        self._subscribed = threading.Event()
        self._front_said = threading.Event()  # ready, failed or gone: start() waits for one
        #: Set when the front died or could not connect (``failure`` says why): the instance no longer
        #: serves; ``python -m hall_central`` exits so that its supervisor starts it again.
        self.failed = threading.Event()
        self.failure = ""
        self._stopping = False
        self._writer: threading.Thread | None = None
        self._reader: threading.Thread | None = None
        self._front: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self.store: SqlStore | None = None
        self.domain: Domain | None = None

    # --- life cycle -----------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0, log_level: str | None = None) -> CentralService:
        """Open (and seed) the database, start the front, return once it is subscribed.

        Raises :class:`FrontFailed` (a ConnectionError) with the front's words when it cannot
        connect, TimeoutError when no SUBACK came within ``timeout_s``."""
        self.store = store = open_store(self.db_url)
        self.domain = domain = Domain(store, self.clock, signer=self.signer)
        with store.transaction():
            domain.ensure_seeded()
            domain.new_day_if_needed()
        parse_broker_url(self.broker_url)  # a bad URL is a ValueError here, not the front's
        self._writer = threading.Thread(target=self._write_loop, name=f"central-{self.instance}-writer", daemon=True)
        self._writer.start()
        self._start_front(log_level or logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower())
        self._front_said.wait(timeout_s)
        if not self._subscribed.is_set():
            failure = self.failure
            self.stop()
            if failure:
                raise FrontFailed(failure)
            raise TimeoutError(f"central {self.instance}: no SUBACK from {self.broker_url} within {timeout_s} s")
        log.info("central service ready", extra={"instance": self.instance, "broker": self.broker_url,
                                                  "front": self._front.pid if self._front else None})
        return self

    def _start_front(self, log_level: str) -> None:
        mine, theirs = socket.socketpair()
        # The front imports what this process imports, from where this process found it.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        with theirs:
            self._front = subprocess.Popen([sys.executable, "-m", "hall_central.front", str(theirs.fileno())],
                                           pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL)
        self._sock = mine
        self._send({"broker_url": self.broker_url, "tls": self.tls, "log_level": log_level,
                    "client_id": f"central-{self.instance}-{uuid.uuid4().hex[:8]}"})
        self._reader = threading.Thread(target=self._read_loop, name=f"central-{self.instance}-reader", daemon=True)
        self._reader.start()

    def stop(self) -> None:
        """Drain what is queued, publish its answers, stop the front, close the database."""
        self._stopping = True
        if self._writer and self._writer.is_alive():
            self.queue.close()
            self._writer.join(10)
        if self._sock is not None:
            self._send(("stop",), FRONT_STOP_S)
        if self._front is not None:
            try:
                self._front.wait(FRONT_STOP_S)
            except subprocess.TimeoutExpired:
                log.error("the front did not stop; killed", extra={"instance": self.instance})
                self._front.kill()
                self._front.wait()
            self._front = None
        if self._reader is not None:
            self._reader.join(FRONT_STOP_S)
            self._reader = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self.store is not None:
            self.store.close()
            self.store = None
        log.info("central service stopped", extra={"instance": self.instance, **self.stats})

    def __enter__(self) -> CentralService:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- the reader thread: what the front hands on ---------------------------------------
    def _read_loop(self) -> None:
        assert self._sock is not None
        frames = Frames(self._sock)
        while True:
            try:
                items = frames.read()
            except (EOFError, OSError):
                break
            for item in items:
                self._on_front(item)
        if not self._stopping:
            how = self._front_ended()
            self.failure = self.failure or f"the network front exited ({how})"
            if self._subscribed.is_set():  # before that, start() says it
                log.error("the network front is gone (%s): this instance no longer serves and stops "
                          "(python -m hall_central exits 1 so that its supervisor starts it again)", how,
                          extra={"instance": self.instance, "failure": self.failure})
            self.failed.set()
        self._front_said.set()
        self.queue.close()

    def _front_ended(self) -> str:
        """How the front ended, once its end of the pair closed: its exit status or the signal that
        killed it (an operator's first question, which "exited" alone did not answer). Its end closes
        as it exits, so the wait is short; one still running after FRONT_STOP_S is killed."""
        front = self._front
        if front is None:
            return "no process"
        try:
            return exit_status(front.wait(FRONT_STOP_S))
        except subprocess.TimeoutExpired:
            front.kill()
            return f"closed its end but still ran after {FRONT_STOP_S:.0f} s: killed, " + exit_status(front.wait())

    def _on_front(self, item: tuple) -> None:
        """One item from the front (the wire: hall_central.front's docstring)."""
        kind = item[0]
        if kind == "msg":
            # The lane counts what the message holds in memory while queued: its sealed bytes
            # (at least its size on the wire).
            if not self.queue.put((item[1], item[3]), max(item[2], len(item[3]))):
                self._shed(item[1])
        elif kind == "refused":
            refusals = self.stats["refusals"]
            for reason, n in item[1].items():
                refusals[reason] = refusals.get(reason, 0) + n
            self.stats["dropped"] += item[2]
        elif kind == "ready":
            self._subscribed.set()
            self._front_said.set()
        elif kind == "failed":
            self.failure = item[1]
            self.failed.set()
            self._front_said.set()

    def _send(self, item: Any, stall_s: float | None = None) -> None:
        """One frame to the front; a front that takes none of it for ``stall_s`` (default
        :data:`FRONT_STALL_S`) is frozen: killed, and the reader then says this instance no longer
        serves. Never blocks for longer than that (a stop must end)."""
        sock = self._sock
        if sock is None:
            return
        stall_s = FRONT_STALL_S if stall_s is None else stall_s
        if not self._send_lock.acquire(timeout=stall_s):
            self._front_frozen(stall_s)
            return
        try:
            view = memoryview(frame(item))
            while view:
                if not select.select([], [sock], [], stall_s)[1]:
                    self._front_frozen(stall_s)
                    return
                try:
                    view = view[sock.send(view, socket.MSG_DONTWAIT):]
                except BlockingIOError:
                    continue  # room for less than we had: wait for more
        except (OSError, ValueError):  # ValueError: the pair closed by a stop meanwhile (fd -1)
            pass  # the front is gone: the reader says so; the terminals resend what stays unanswered
        finally:
            self._send_lock.release()

    def _front_frozen(self, stall_s: float) -> None:
        self.failure = self.failure or f"the network front took nothing for {stall_s:.0f} s and was killed"
        log.error("the network front is frozen: killed", extra={"instance": self.instance, "stall_s": stall_s})
        front = self._front
        if front is not None and front.poll() is None:
            front.kill()

    def _shed(self, topic: str) -> None:
        """Count a message its full lane did not take; one log line per LOG_EVERY_S at most."""
        self.stats["shed"] += 1
        if self._log_due.due("shed"):
            log.warning("shed a message: its terminal's lane is full, or the service is stopping (a terminal "
                        "resends what stays unanswered)",
                        extra={"lane": lanes.lane_of(topic), "shed": dict(self.queue.shed)})

    # --- the writer thread ----------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            taken = self.queue.take(self.max_batch, BATCH_FILL, BATCH_LINGER_S)
            if taken is None:
                return  # stopped, and what was queued is worked off
            work: list[intake.Accepted] = [unseal(m) for _topic, m in taken]
            try:
                out = self._apply_batch(work)
            except Exception:
                log.exception("batch failed; the terminals will retry", extra={"size": len(work)})
                out = []
            if out:
                self._publish(out)

    def _publish(self, replies: list[tuple[str, bytes]], qos: int = 1) -> None:
        """Hand a batch's answers to the front to publish, in order, in one frame."""
        self._send(("pubs", [(topic, payload, qos) for topic, payload in replies]))

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
                # Stored above; the log says it once a minute per terminal (a flood of events wrote
                # a line each: a cold attacker's 425 lines in one test).
                if self._log_due.due(f"evt:{m.terminal}"):
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
