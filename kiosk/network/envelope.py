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

Reading bytes (:meth:`Envelope.from_bytes`) never raises anything but :class:`EnvelopeError`,
whatever they are: over ``MAX_BYTES``, not UTF-8 JSON, nested deeper than ``MAX_DEPTH``, an integer
of more than ``MAX_INT_DIGITS`` digits, a lone surrogate, ``v`` that is not the number 1 (``true``
is not), a field of the wrong type. When the message was a JSON object with a valid ``id``, the
error carries it (and ``idem``, ``op``, ``corr``), so that the receiver can answer ``invalid``.

Citizens' data: the central service is the authority and receives an ID number in the body of
an online look-up (``citizen.lookup``); everything that goes through the durable outbox carries
only references the central service issued (``citizen_ref``, ``appointment_id``,
``application_no``), so nothing personal is ever written to the terminal's disk.
"""
from __future__ import annotations

import json
import math
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from kiosk.network.topics import OPERATION_PATTERN

VERSION = 1
TYPES = ("req", "res", "evt", "cmd", "state", "telemetry", "bcast")
#: Why a cap: a broker's default max packet is large, but a kiosk never needs more than this for
#: one message (a photo chunk in the mobile profile is at most 64 KiB before base64).
MAX_BYTES = 256 * 1024
#: Why 32: the deepest message of the contract (a catalogue item's linkage levels) is 7 levels
#: deep, a signed key set in a command 6; CPython's parser gives up near 1,000 levels with a
#: RecursionError, and every consumer that walks a message recursively (json.dumps, the
#: validators) pays per level. A deeper payload is not read at all.
MAX_DEPTH = 32
#: Why 20: no integer of the contract has more digits (the schemas bound them by 2^53); Python
#: refuses to convert more than 4,300 digits and converting many is quadratic in the length.
MAX_INT_DIGITS = 20
#: An opaque reference (``id``, ``corr``, ``idem``): the same as ``common.json#/$defs/ref``.
REF_PATTERN = "[A-Za-z0-9_.:-]{1,128}"
_REF_RE = re.compile(REF_PATTERN)
_OP_RE = re.compile(OPERATION_PATTERN)


class EnvelopeError(ValueError):
    """A message that is not a valid contract envelope.

    ``id``, ``corr``, ``idem`` and ``op`` hold the message's own fields when it could be read
    as a JSON object and they are valid (a reference, a name), else None: with ``id`` the
    receiver can still answer ``invalid`` to the request, without it nothing can be correlated.
    """

    def __init__(self, reason: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        fields = fields or {}
        self.id = _valid(_REF_RE, fields.get("id"))
        self.corr = _valid(_REF_RE, fields.get("corr"))
        self.idem = _valid(_REF_RE, fields.get("idem"))
        self.op = _valid(_OP_RE, fields.get("op"))


def _valid(regex: re.Pattern[str], value: Any) -> str | None:
    return value if isinstance(value, str) and regex.fullmatch(value) else None


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
    body: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    v: int = VERSION
    ts: str = field(default_factory=now_iso)
    corr: str | None = None
    idem: str | None = None

    def to_bytes(self) -> bytes:
        """Compact UTF-8 JSON."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        """As a plain dict (for schema validation)."""
        return asdict(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        """Parse and check the envelope fields' types (not the patterns nor the body: see
        kiosk.network.schemas). Raises :class:`EnvelopeError` for anything else, never another
        exception, whatever the bytes."""
        obj = _parse(data)
        try:
            env = cls(type=obj["type"], op=obj["op"], terminal=obj["terminal"], body=obj["body"],
                      id=obj["id"], v=obj["v"], ts=obj["ts"], corr=obj.get("corr"), idem=obj.get("idem"))
        except KeyError as e:
            raise EnvelopeError(f"missing envelope field {e}", obj) from None
        if type(env.id) is not str or _REF_RE.fullmatch(env.id) is None:
            # Without a valid id nothing can be correlated with this message: no answer can name it.
            raise EnvelopeError("the id is not a reference", obj)
        if env.type not in TYPES:
            raise EnvelopeError(f"unknown type {env.type!r}", obj)
        # Why the type tests: True == 1 in Python, and true is not the contract's version 1. 1.0
        # is: JSON has one number type, the schema's integer 1 is 1.0 too, and a JavaScript
        # peer cannot even tell them apart.
        if isinstance(env.v, bool) or not isinstance(env.v, (int, float)) or env.v != VERSION:
            raise EnvelopeError(f"unsupported version {env.v!r}", obj)
        env.v = VERSION
        if type(env.op) is not str or type(env.terminal) is not str or type(env.ts) is not str \
                or (env.corr is not None and type(env.corr) is not str) \
                or (env.idem is not None and type(env.idem) is not str) or type(env.body) is not dict:
            raise EnvelopeError("bad field types", obj)
        return env


class _Unreadable(Exception):
    """What the parse hooks raise for a number no schema allows."""


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Unreadable(f"an integer of {len(text)} characters")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Unreadable("a number beyond the double range")
    return value


def _parse_constant(text: str) -> float:
    raise _Unreadable(f"{text} is not JSON")


def _zero(text: str) -> int:
    return 0


#: Built once: ``json.loads`` with hooks would build a decoder (and its scanner) on every call.
_STRICT = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
#: Reads a message whose numbers the strict decoder refused, only to name the request.
_LENIENT = json.JSONDecoder(parse_int=_zero, parse_float=_zero, parse_constant=_parse_constant)


def _parse(data: bytes) -> dict[str, Any]:
    """``data`` as a JSON object within the envelope's limits, or :class:`EnvelopeError`."""
    if not isinstance(data, (bytes, bytearray)):
        raise EnvelopeError("not bytes")
    if len(data) > MAX_BYTES:
        raise EnvelopeError(f"message of {len(data)} bytes exceeds {MAX_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise EnvelopeError(f"not UTF-8: {e.reason} at byte {e.start}") from None
    problem = None
    try:
        try:
            obj = _STRICT.decode(text)
        except _Unreadable as e:
            # The rest may be fine: read it again without the numbers, to name the request.
            problem = f"not a contract number: {e}"
            obj = _LENIENT.decode(text)
    except _Unreadable as e:
        raise EnvelopeError(str(e)) from None
    except (ValueError, RecursionError) as e:  # RecursionError: CPython's parser near 1,000 levels
        raise EnvelopeError(f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise EnvelopeError("envelope is not an object")
    # Why the count first: every container opens with one of these, so a message with few of
    # them (a check-in has 2) needs no walk.
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth_exceeds(obj, MAX_DEPTH):
        raise EnvelopeError(f"nested deeper than {MAX_DEPTH} levels")
    if problem is not None:
        raise EnvelopeError(problem, obj)
    # Why: the parser turns an escaped lone surrogate (\ud800) into a str that no UTF-8 encoder
    # accepts, so storing or answering it would fail far from here (a pair is joined into one
    # character, and raw UTF-8 bytes cannot hold a surrogate at all).
    if "\\u" in text and not _encodable(obj):
        raise EnvelopeError("a string holds a lone UTF-16 surrogate (not Unicode text)", obj)
    return obj


def _depth_exceeds(obj: Any, limit: int) -> bool:
    """True if containers nest deeper than ``limit`` in ``obj`` (itself at depth 1)."""
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in (node.values() if isinstance(node, dict) else node):
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def _encodable(obj: Any) -> bool:
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def request(terminal: str, op: str, body: dict[str, Any], idem: str | None = None) -> Envelope:
    """A request envelope."""
    return Envelope("req", op, terminal, body, idem=idem)


def response(req_env: Envelope, result: Any = None, error: dict[str, Any] | None = None) -> Envelope:
    """The response to ``req_env``: ok with ``result``, or not ok with ``error``."""
    body: dict[str, Any] = {"ok": error is None}
    if error is None:
        body["result"] = result if result is not None else {}
    else:
        body["error"] = error
    return Envelope("res", req_env.op, req_env.terminal, body, corr=req_env.id, idem=req_env.idem)
