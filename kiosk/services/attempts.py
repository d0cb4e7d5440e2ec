"""Idempotency keys of citizens' durable requests: one key per attempt of one citizen's request.

An attempt is one citizen asking for one thing: book this slot, check in for this appointment,
take a number of this line, send this form. Its key is reused only when the *same* attempt is
tried again without a definitive answer (:class:`~kiosk.network.errors.Timeout`: the request is
still in the outbox and will be sent; a retry must not be applied twice). The key is dropped

- when the central service answered, with a result or with a definitive no (the central service
  keeps the first answer of a key for 30 days and replays it: a key kept after "already booked"
  made every later booking on the terminal "already booked");
- when anything the request says changes (another citizen, item, slot, line, text): the request
  body is part of the attempt's identity;
- when the visit ends: the session ends, or the kiosk goes back home (:meth:`Attempts.reset`);
- after :data:`MAX_AGE_S`, so that a citizen who never identified (a walk-in ticket) does not
  hand a key to the next one on a terminal nobody took back home.

Keys live in memory only: they are as long-lived as the citizen standing at the terminal.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from kiosk.events import EventBus
from kiosk.network.errors import Timeout
from kiosk.network.operations import DurableOp

if TYPE_CHECKING:  # the gateway's link imports paho: services load without it
    from kiosk.network.gateway import Gateway

#: Why 120 s: the longest a citizen keeps retrying one thing (the elder session timeout); later
#: it is someone else, or the same person asking again on purpose.
MAX_AGE_S = 120.0


class Attempts:
    """The open attempts of the terminal: (operation, session, request body) -> key."""

    def __init__(self, bus: EventBus | None = None, *, max_age_s: float = MAX_AGE_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str, str], tuple[str, float]] = {}
        if bus is not None:
            bus.subscribe("session.ended", lambda e: self.reset())

    def submit(self, gateway: Gateway, op: DurableOp, body: Mapping[str, Any], wait_s: float,
               session: str | None = None) -> dict[str, Any]:
        """Send durable ``op`` with ``body`` under the key of this attempt and wait for the answer.

        Raises what ``Pending.wait`` raises; only a Timeout leaves the attempt open."""
        scope = (op, session or "", json.dumps(body, sort_keys=True, ensure_ascii=False))
        key = self._key(scope)
        try:
            result = gateway.submit(op, body, idem=key).wait(wait_s)
        except Timeout:
            raise  # still queued: a retry of this very attempt must reuse the key
        except BaseException:
            self._close(scope, key)
            raise
        self._close(scope, key)
        return result

    def key_of(self, op: str, body: dict[str, Any], session: str | None = None) -> str | None:
        """The key an open attempt holds (tests and diagnostics), or None."""
        scope = (op, session or "", json.dumps(body, sort_keys=True, ensure_ascii=False))
        with self._lock:
            entry = self._open.get(scope)
        return entry[0] if entry else None

    def reset(self) -> None:
        """The visit ended: no later request reuses a key of this one."""
        with self._lock:
            self._open.clear()

    def __len__(self) -> int:
        return len(self._open)

    def _key(self, scope: tuple[str, str, str]) -> str:
        now = self._monotonic()
        with self._lock:
            # Expired attempts go first: the dict stays as small as the citizen's open requests.
            for s in [s for s, (_, t0) in self._open.items() if now - t0 > self.max_age_s]:
                del self._open[s]
            entry = self._open.get(scope)
            if entry is None:
                entry = (uuid.uuid4().hex, now)
                self._open[scope] = entry
            return entry[0]

    def _close(self, scope: tuple[str, str, str], key: str) -> None:
        with self._lock:
            if self._open.get(scope, ("",))[0] == key:
                del self._open[scope]
