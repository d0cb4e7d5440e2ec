"""The one envelope every contract message travels in (pure, no I/O).

```json
{"id": "9f1c...", "type": "req", "op": "checkin", "v": 1, "ts": "2026-11-24T06:01:02.123Z",
 "terminal": "ZM-0001", "corr": null, "idem": "5d2e...", "body": {...}}
```

- ``id``: unique per message (uuid4 hex). A retried request keeps its id, so the response that
  finally arrives still matches it.
- ``type``: ``req`` | ``res`` | ``evt`` | ``cmd`` | ``state`` | ``telemetry`` | ``bcast``.
- ``op``: the operation (requests and their responses), the event or command name.
- ``corr``: on a response, the ``id`` of the request it answers.
- ``idem``: the idempotency key of an operation that changes something (check-in, booking,
  feedback...). The terminal makes it once per citizen action; the central service applies a key
  once, answers a replay with the first answer and rejects a reused key with another body.
- ``body``: the payload, validated against the operation's JSON Schema (kiosk/network/schemas).
  A response body is ``{"ok": true, "result": {...}}`` or
  ``{"ok": false, "error": {"code": "...", "message": "..."}}``.

Citizens' data: the central service is the authority and receives an ID number in the body of
an online look-up (``citizen.lookup``); everything that goes through the durable outbox carries
only references the central service issued (``citizen_ref``, ``appointment_id``,
``application_no``), so nothing personal is ever written to the terminal's disk.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

VERSION = 1
TYPES = ("req", "res", "evt", "cmd", "state", "telemetry", "bcast")
#: Why a cap: a broker's default max packet is large, but a kiosk never needs more than this for
#: one message (a photo chunk in the mobile profile is at most 64 KiB before base64).
MAX_BYTES = 256 * 1024


class EnvelopeError(ValueError):
    """A message that is not a valid contract envelope."""


def new_id() -> str:
    """A fresh message or idempotency id (uuid4, hex)."""
    return uuid.uuid4().hex


def now_iso() -> str:
    """UTC now, ISO 8601 with milliseconds and ``Z``."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


@dataclass
class Envelope:
    """One contract message."""

    type: str
    op: str
    terminal: str
    body: dict = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    v: int = VERSION
    ts: str = field(default_factory=now_iso)
    corr: str | None = None
    idem: str | None = None

    def to_bytes(self) -> bytes:
        """Compact UTF-8 JSON."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def to_dict(self) -> dict:
        """As a plain dict (for schema validation)."""
        return asdict(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Envelope":
        """Parse and check the envelope fields (not the body: see kiosk.network.schemas)."""
        if len(data) > MAX_BYTES:
            raise EnvelopeError(f"message of {len(data)} bytes exceeds {MAX_BYTES}")
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise EnvelopeError(f"not UTF-8 JSON: {e}") from None
        if not isinstance(obj, dict):
            raise EnvelopeError("envelope is not an object")
        try:
            env = cls(type=obj["type"], op=obj["op"], terminal=obj["terminal"], body=obj.get("body") or {},
                      id=obj["id"], v=obj["v"], ts=obj["ts"], corr=obj.get("corr"), idem=obj.get("idem"))
        except (KeyError, TypeError) as e:
            raise EnvelopeError(f"missing envelope field {e}") from None
        if env.type not in TYPES:
            raise EnvelopeError(f"unknown type {env.type!r}")
        if env.v != VERSION:
            raise EnvelopeError(f"unsupported version {env.v!r}")
        if not isinstance(env.body, dict) or not isinstance(env.id, str) or not isinstance(env.op, str):
            raise EnvelopeError("bad field types")
        return env


def request(terminal: str, op: str, body: dict, idem: str | None = None) -> Envelope:
    """A request envelope."""
    return Envelope("req", op, terminal, body, idem=idem)


def response(req_env: Envelope, result: Any = None, error: dict | None = None) -> Envelope:
    """The response to ``req_env``: ok with ``result``, or not ok with ``error``."""
    body = {"ok": error is None}
    if error is None:
        body["result"] = result if result is not None else {}
    else:
        body["error"] = error
    return Envelope("res", req_env.op, req_env.terminal, body, corr=req_env.id, idem=req_env.idem)
