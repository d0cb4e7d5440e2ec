"""Request correlation: which caller waits for which answer, matched by our own envelope ids.

Owns :class:`Pending` (a caller's handle on a durable operation), the table of callers waiting
(keyed by envelope id: paho's 16-bit ``mid`` wraps, our ids do not), the online round trip
(:meth:`Correlator.call`: send, wait, :class:`Timeout`), turning an answer into its result or a
typed failure (:class:`Rejected` with the contract's error code), and reading what arrives: a
message that is not an envelope or fails the contract's schemas (an unknown error code, a result
missing fields) is dropped and logged, and fails the request it names at once
(:class:`InvalidMessage`) instead of leaving it to time out; the request id is recovered even from
a payload that is not JSON any more (truncated, garbled). What happens to a durable row is the
pump's (kiosk.network.pump).
"""
from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hall_common.throttle import Throttle
from kiosk.network import schemas
from kiosk.network.envelope import Envelope
from kiosk.network.errors import InvalidMessage, Rejected, Timeout

#: Why the gateway's name: these log lines kept the logger they had before the gateway was split.
log = logging.getLogger("kiosk.network.gateway")

#: Why: a message naming no request fails nothing and nothing bounds how many come (a central
#: sending garbage wrote a warning per message: 43 in 10 s for three rows waiting, a cold try); one
#: warning in this many seconds says it, with how many were dropped since.
NAMELESS_LOG_EVERY_S = 60.0

#: The request id named by a damaged answer that is not JSON any more (truncated, garbled).
_CORR_RE = re.compile(rb'"corr"\s*:\s*"([A-Za-z0-9_-]{1,64})"')


@dataclass
class Pending:
    """A durable operation on its way: ``wait()`` for the central service's answer."""

    id: str
    idem: str
    op: str
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _result: dict[str, Any] | None = field(default=None, repr=False)
    _error: Exception | None = field(default=None, repr=False)

    def _resolve(self, result: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self._result, self._error = result, error
        self._done.set()

    @property
    def done(self) -> bool:
        """True once the central service answered."""
        return self._done.is_set()

    def wait(self, timeout_s: float) -> dict[str, Any]:
        """The result; raises Timeout (the row stays and is retried), Rejected (row removed) or
        InvalidMessage (an answer that cannot be read: retried, set aside after the bound)."""
        if not self._done.wait(timeout_s):
            raise Timeout(f"{self.op}: no answer within {timeout_s} s; kept in the outbox and retried")
        if self._error is not None:
            raise self._error
        return self._result or {}


def outcome(env: Envelope) -> tuple[dict[str, Any] | None, Exception | None]:
    """An answer's (result, error): a definitive no is :class:`Rejected` with the contract's code."""
    body = env.body
    if body["ok"]:
        return body.get("result"), None
    return body.get("result"), Rejected(body["error"]["code"], body["error"].get("message", ""), env.op)


def corr_of(payload: bytes) -> str | None:
    """The request id an answer names, even when it is not valid JSON any more (truncated)."""
    try:
        corr = json.loads(payload).get("corr")
        return corr if isinstance(corr, str) else None
    except (ValueError, AttributeError, RecursionError):  # not JSON, not an object, nested too deep
        m = _CORR_RE.search(payload)
        return m.group(1).decode() if m else None


class Correlator:
    """The callers waiting for answers, by envelope id (any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, tuple[str, Pending]] = {}  # envelope id -> (op, Pending)
        self._nameless = Throttle(NAMELESS_LOG_EVERY_S)  # unreadable messages naming no request

    @property
    def waiting(self) -> dict[str, tuple[str, Pending]]:
        """Envelope id -> (op, Pending) of the callers waiting now (a copy)."""
        with self._lock:
            return dict(self._waiters)

    def expect(self, pending: Pending) -> None:
        """``pending`` waits for the answer to its envelope id (register before sending)."""
        with self._lock:
            self._waiters[pending.id] = (pending.op, pending)

    def op_of(self, env_id: str) -> str | None:
        """The operation of the request ``env_id`` a caller waits for, or None."""
        with self._lock:
            entry = self._waiters.get(env_id)
        return entry[0] if entry is not None else None

    def forget(self, env_id: str) -> None:
        """Nobody waits for ``env_id`` any more (the caller gave up, or it was never sent)."""
        with self._lock:
            self._waiters.pop(env_id, None)

    def resolve(self, env_id: str, result: dict[str, Any] | None = None, error: Exception | None = None) -> bool:
        """Hand the caller waiting for ``env_id`` its result or error; False if nobody waited."""
        with self._lock:
            entry = self._waiters.pop(env_id, None)
        if entry is None:
            return False
        entry[1]._resolve(result, error)
        return True

    def fail(self, env_id: str, error_for: Callable[[str], Exception]) -> bool:
        """Fail the caller waiting for ``env_id`` with ``error_for(op)``; False if nobody waited."""
        with self._lock:
            entry = self._waiters.pop(env_id, None)
        if entry is None:
            return False
        entry[1]._resolve(error=error_for(entry[0]))
        return True

    def call(self, env: Envelope, send: Callable[[], object], timeout_s: float) -> dict[str, Any]:
        """An online round trip: ``send()`` the request, wait for its answer; Timeout, Rejected,
        InvalidMessage or NotDelivered as the answer (or its absence) says."""
        waiter = Pending(env.id, env.idem or "", env.op)
        self.expect(waiter)
        try:
            send()
            if not waiter._done.wait(timeout_s):
                raise Timeout(f"{env.op}: no answer within {timeout_s} s")
        finally:
            self.forget(env.id)
        return waiter.wait(0)

    def read(self, topic: str, payload: bytes) -> Envelope:
        """The envelope of a message on one of our topics, checked against the contract; raises
        EnvelopeError or InvalidMessage."""
        env = Envelope.from_bytes(payload)
        schemas.validate_message(topic, vars(env))  # not to_dict(): no deep copy of each answer
        return env

    def unreadable(self, topic: str, payload: bytes, error: Exception) -> tuple[str | None, InvalidMessage]:
        """A message we cannot read: logged and dropped; the online request it names (if it names
        one) fails now. Returns (the request id it names or None, the typed error)."""
        err = error if isinstance(error, InvalidMessage) else InvalidMessage(str(error))
        corr = corr_of(payload)
        if corr is None:  # names no request: nothing bounds how many come, so the log is bounded
            due, since = self._nameless.check()
            if not due:
                log.debug("dropped message on %s: %s", topic, err.reason)
                return None, err
            more = f" ({since} more such messages dropped since the last warning)" if since else ""
            log.warning("dropped message on %s: %s%s", topic, err.reason, more, extra={"corr": None})
            return None, err
        log.warning("dropped message on %s: %s", topic, err.reason, extra={"corr": corr})
        if corr is not None:
            self.resolve(corr, error=err)
        return corr, err

