"""What the central service accepts: every message decoded and judged ALONE, before any batch.

:func:`judge` turns one MQTT message into an :class:`Accepted` message (decoded, schema-valid,
its sender known) or a :class:`Refused` one, and never raises: whatever a terminal sends can
cost only its own message, never the batch it would have joined nor another terminal's answer.

The sender is the TOPIC's terminal (``kiosk/v1/{terminal}/...``), which the broker binds to the
terminal's certificate (ACL ``pattern readwrite kiosk/v1/%u/#``); the envelope's ``terminal``
field only has to agree with it. Everything stored or answered is keyed by the topic's terminal,
and a refusal goes to the topic terminal's own ``res`` topic, never to one the envelope names.

A refusal is answered on that ``res`` topic when the message has a usable reply path: a request
or an event whose envelope ``id`` is a valid reference (the terminal matches answers by it).
Otherwise it is dropped and counted by :class:`Refused.reason`; the service keeps the counts in its
stats and log. What is answered and what is dropped is the contract's rule (docs/asyncapi.yaml,
"Answers and silences", from kiosk/network/schemas/operations.json): a payload the contract does
not read at all is dropped whatever id it holds: over ``MAX_BYTES``, not UTF-8, not JSON (``NaN``
and ``Infinity`` are not JSON, although Python reads them), not an object, or nested deeper than
``MAX_DEPTH`` containers (the contract's limits, kiosk.network.envelope). Why not answer those when
Python happens to find the id: another central team's strict JSON parser, or one that stops at
the depth limit, cannot, and the contract states what every implementation does.

Checks beyond the schemas, each for an input that passes ``json.loads`` + the schemas yet breaks
later, answered ``invalid`` when the message has a reply path: integers of more than the contract's
20 digits and numbers beyond the double range, wherever they are (beyond 4,300 digits ``json.loads``
raises ValueError; here they are read as a marker so the envelope's reply path survives), lone surrogates (cannot be encoded or stored) and NUL characters
(PostgreSQL text refuses them).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from kiosk.network import envelope, schemas, topics
from kiosk.network.envelope import MAX_BYTES, MAX_DEPTH, TYPES, VERSION, Envelope, new_id, now_iso
from kiosk.network.errors import InvalidMessage

#: The contract's limit (kiosk.network.envelope): an integer of more digits is answered invalid,
#: wherever it is (a member the contract does not define included: a cold attacker's 25-digit
#: integer and ``1e400`` beside the envelope or an event's data were taken). Python itself refuses
#: more than 4,300 digits (``json.loads`` raises ValueError).
MAX_INT_DIGITS = envelope.MAX_INT_DIGITS
#: Each digit as ``1``, ``e``/``E`` as ``e``, ``+`` kept, every other byte ``0``
#: (:func:`_may_hold_big_number`).
_NUMBER_MARKS = bytes(ord("1") if chr(b).isdigit() and b < 128 else ord("e") if b in b"eE"
                      else ord("+") if b == ord("+") else ord("0") for b in range(256))
_LONG_RUN = b"1" * (MAX_INT_DIGITS + 1)


def _may_hold_big_number(payload: bytes) -> bool:
    """True if ``payload`` may hold a number the contract refuses: a run of more than
    MAX_INT_DIGITS digits, or an exponent of three digits or more (1e308 is the double range's
    order). Only then are the numbers read one by one (the hooks of :func:`_loads`); the C scanner
    reads every other message at full speed. Why bytes.translate and substring searches and not a
    regular expression: ``[0-9]{21}`` cost 0.65 ms on a 66 KB photo chunk, this 0.04 ms."""
    marks = payload.translate(_NUMBER_MARKS)
    return _LONG_RUN in marks or b"e111" in marks or b"e+111" in marks
#: What a reply path needs: the envelope id the terminal will match the answer by (common.json's
#: ref) and an operation name (envelope.json's op), in their strict form (whole string, ASCII).
_REF_RE = re.compile(r"[A-Za-z0-9_.:-]{1,128}", re.ASCII)
_OP_RE = re.compile(r"[a-z][a-z0-9_.]{1,63}", re.ASCII)
#: A JSON escape that can make a lone surrogate (\uD800-\uDFFF) or a NUL: only then are strings walked.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")
#: The kinds a terminal sends to the central service (res, cmd, bcast go the other way).
INBOUND = ("req", "evt", "state", "telemetry")


@dataclass(slots=True)
class Accepted:
    """A message to apply: ``terminal`` is the topic's (the sender), ``env.terminal`` equals it."""

    kind: str
    terminal: str
    env: Envelope


@dataclass(slots=True)
class Refused:
    """A message refused at the door: ``reply`` (topic, payload) to publish, or None (dropped)."""

    reason: str
    reply: tuple[str, bytes] | None = None
    detail: str = ""


class _NotJson(ValueError):
    """NaN, Infinity or -Infinity: Python reads them, JSON (and the contract) has no such values."""


def _refuse_constant(name: str) -> None:
    raise _NotJson(f"{name} is not JSON")


#: The fast path: the C scanner with the default integer parsing; only the constants are refused.
_STRICT = json.JSONDecoder(parse_constant=_refuse_constant)


def _loads(text: str, suspect: bool = True) -> tuple[object, str]:
    """Parse; (object, '') or, for a number the contract refuses (an integer of more than
    MAX_INT_DIGITS digits, a number beyond the double range), (object, why it is invalid).

    Why not let such a number raise: it is valid JSON, usually deep in the body, and the envelope
    around it still names the request the terminal waits for an answer to. A ``suspect`` message
    (:func:`_may_hold_big_number`) is read with hooks that read the offending numbers as 0. NaN and
    Infinity raise :class:`_NotJson` (a ValueError): not JSON, so dropped like any other non-JSON.
    """
    if not suspect:
        try:
            return _STRICT.decode(text), ""
        except ValueError as e:
            if isinstance(e, (json.JSONDecodeError, _NotJson)):
                raise
            # else Python's int-string limit
    why: list[str] = []

    def parse_int(s: str) -> int:
        if len(s.lstrip("-")) > MAX_INT_DIGITS:
            why.append(f"an integer of {len(s.lstrip('-'))} digits")
            return 0
        return int(s)

    def parse_float(s: str) -> float:
        value = float(s)
        if not math.isfinite(value):
            why.append("a number beyond the double range")
            return 0.0
        return value

    obj = json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=_refuse_constant)
    return obj, why[0] if why else ""


#: Every byte but the quotes and the brackets, deleted; and braces read as brackets (matched in
#: valid JSON, so the nesting stays as it was).
_NOT_MARK = bytes(b for b in range(256) if b not in b'"[]{}')
_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")


def _nested_at_most(depth: int) -> re.Pattern[bytes]:
    """Balanced brackets nested at most ``depth`` deep: a regular language (its depth is finite).
    Possessive repeats: a bracket that cannot be taken fails the match at once, with nothing to
    try again (no backtracking), so the match is one pass over the brackets, in C."""
    pattern = b""
    for _ in range(depth):
        pattern = rb"(?:\[" + pattern + rb"\])*+"
    return re.compile(pattern)


_WITHIN_DEPTH = _nested_at_most(MAX_DEPTH)


#: Why 4 KiB: a message nested too deep is usually so from its first bytes (the issue's arrays 5,000
#: and 100,000 deep, 10 and 200 KB); judging its head first costs a few microseconds instead of a
#: pass over all of it (~0.4 ms for 200 KB), and a head within the limit costs about a check-in.
HEAD_BYTES = 4096


def _too_deep(payload: bytes) -> bool:
    """True if the containers of ``payload`` nest deeper than :data:`MAX_DEPTH` (the envelope
    itself at depth 1); exact for valid JSON, and judged on the raw bytes BEFORE parsing.

    Only containers count, as in the contract's limit (kiosk.network.envelope): a scalar inside the
    32nd level is within it. Why on the bytes and not by walking the parsed object: a terminal may
    send 80,000 empty arrays in one message (240 KB); walking them took 40 ms (170 ms on a loaded
    machine) of the service's one writer (issue 13). Why before parsing: a payload deeper than the
    limit is not read at all, and parsing it was most of its cost (an array 5,000 deep: the parser's
    RecursionError, 0.05 ms, and garbage collections; 4,000 chains 31 arrays deep, 250 KB: ~50 ms,
    for a message dropped anyway). The head first (:data:`HEAD_BYTES`): a prefix nested too deep is
    enough, whatever follows.
    """
    if len(payload) > HEAD_BYTES and (payload.count(b"[", 0, HEAD_BYTES) + payload.count(b"{", 0, HEAD_BYTES)
                                      > MAX_DEPTH) and _deepest_over(payload[:HEAD_BYTES]):
        return True
    return payload.count(b"[") + payload.count(b"{") > MAX_DEPTH and _deepest_over(payload)


def _deepest_over(data: bytes) -> bool:
    """True if the brackets of ``data`` (a JSON text or the head of one) reach deeper than
    :data:`MAX_DEPTH` outside strings.

    How, every step in C and linear in the bytes (no step per string nor per bracket in Python, nor
    repeated over the payload: a 250 KB message of 87,000 short strings 900 deep cost 7-11 ms when
    each string was a regular-expression match, 4,000 chains 31 deep 13-20 ms when each level was
    a pass over the brackets): the escaped backslashes go, then the escaped quotes (left to right,
    as a reader reads them: what is left of a run of backslashes is one at most); every byte but
    quotes and brackets goes; then each pair of adjacent quotes (a string without brackets:
    removing two adjacent quotes changes on which side of a string no other byte is); what is still
    between quotes (a string holding brackets, or the cut one at the end of a head) goes; the
    containers still open at the end are closed (closing never goes deeper: this is how a head is
    judged); and what is left, the nesting alone, is matched against :data:`_WITHIN_DEPTH`. A text
    that is not JSON may be judged either way (it is dropped either way), except that one with more
    closing brackets than opening ones is left to the parser (it says "not JSON").
    """
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = data.translate(_AS_BRACKETS, _NOT_MARK).replace(b'""', b"")
    if b'"' in marks:
        marks = b"".join(marks.split(b'"')[::2])
    still_open = 2 * marks.count(b"[") - len(marks)
    if still_open < 0:
        return False
    return _WITHIN_DEPTH.fullmatch(marks + b"]" * still_open) is None


def _unstorable_string(obj: object) -> str:
    """Why a string (a key or a value) of ``obj`` cannot be stored ('' when every one can).

    Why by writing ``obj`` back and not by walking it: a terminal chooses how many nodes a message
    holds, and one escape of a genuine surrogate pair (an emoji, as ``ensure_ascii`` encoders write
    it) beside 80,000 empty objects made the walk 33 ms of Python at the door. ``json.dumps`` is C
    and keeps a lone surrogate as a character (which UTF-8 cannot encode) and a NUL as the escape
    ``\\u0000``; a backslash of the text is written ``\\\\``, the only escape that ends with a
    backslash, so once those pairs are gone (left to right, as a reader reads them) what is left of
    ``\\u0000`` is a NUL.
    """
    text = json.dumps(obj, ensure_ascii=False, check_circular=False)
    if "\\u0000" in text.replace("\\\\", ""):
        return "a string holds a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a string holds a lone surrogate (not encodable as UTF-8)"
    return ""


def _reply_path(kind: str, parsed: topics.Parsed, obj: dict) -> tuple[str, str, str | None] | None:
    """(op, corr, idem) of an answer the sender can match, or None when there is none."""
    if kind not in ("req", "evt"):
        return None  # state and telemetry are never answered
    rid = obj.get("id")
    if not isinstance(rid, str) or not _REF_RE.fullmatch(rid):
        return None
    op = parsed.operation if kind == "req" else obj.get("op")
    if not isinstance(op, str) or not _OP_RE.fullmatch(op):
        return None
    idem = obj.get("idem")
    return op, rid, idem if isinstance(idem, str) and _REF_RE.fullmatch(idem) else None


def refusal(terminal: str, path: tuple[str, str, str | None] | None, code: str, message: str,
            reason: str) -> Refused:
    """A refusal answered on ``terminal``'s own res topic when there is a reply path."""
    if path is None:
        return Refused(reason, None, message)
    op, corr, idem = path
    # Why a template: a refusal costs what a stream of poison costs the service; this is the bytes
    # encode(Envelope(...)) gives (a test holds them equal) at half the price. op, terminal, corr
    # and idem passed the strict patterns above: nothing in them needs escaping.
    payload = _REFUSAL % (op, terminal, code, json.dumps(message, ensure_ascii=False), new_id(), now_iso(), corr,
                          f'"{idem}"' if idem else "null")
    return Refused(reason, (topics.res(terminal), payload.encode("utf-8")), message)


_REFUSAL = ('{"type":"res","op":"%s","terminal":"%s","body":{"ok":false,"error":{"code":"%s","message":%s}},'
            '"id":"%s","v":1,"ts":"%s","corr":"%s","idem":%s}')


def encode(env: Envelope) -> bytes:
    """``env.to_bytes()`` without its deep copy: the same bytes for the JSON-only bodies we build.

    Why: ``to_bytes`` runs ``dataclasses.asdict`` (a recursive copy) before ``json.dumps``, the
    largest remaining cost per check-in after validation (~0.08 ms).
    """
    return json.dumps(vars(env), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _envelope_fault(obj: dict) -> str:
    """Why the envelope's own fields break the envelope schema ('' if these do not), judged cheaply.

    Why before the schemas: a schema refusal was worded by jsonschema, ~0.1-0.5 ms a message
    against ~0.02 ms for a valid one, so a stream of envelopes with a broken ``terminal`` cost
    the service more than the same stream of check-ins (jsonschema-rs words it now). These checks use the contract's own
    module for terminal ids; the schemas still decide everything else (and these again). Only
    rules of the envelope schema itself belong here: the contract answers ``forbidden`` to an
    envelope that passes it but names another terminal, before its type, op, idem or body are
    compared with the topic (schemas.validate_message keeps that order).
    """
    terminal = obj.get("terminal")
    if not isinstance(terminal, str):
        return "envelope: terminal: not a string"
    try:
        topics.res(terminal)  # the contract's own check of a terminal id
    except topics.TopicError:
        return "envelope: terminal: not a terminal id"
    op = obj.get("op")
    if not isinstance(op, str) or not _OP_RE.fullmatch(op):
        return "envelope: op: not an operation name"
    if obj.get("type") not in TYPES:
        return "envelope: type: not a message type"
    v = obj.get("v")
    # true == 1 in Python, not in JSON; 1.0 is the JSON number 1 (and the schema's integer 1).
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != VERSION:
        return "envelope: v: not the number 1"
    if not isinstance(obj.get("body"), dict):
        return "envelope: body: not an object"
    return ""


def _envelope_valid(obj: dict) -> bool:
    try:
        schemas.validate_envelope(obj)
    except InvalidMessage:
        return False
    return True


def judge(topic: str, payload: bytes) -> Accepted | Refused | None:
    """Decode and check one message; None for a cleared retained state (nothing to do)."""
    try:
        parsed = topics.parse(topic)
    except topics.TopicError:
        return Refused("bad_topic")
    kind = parsed.kind
    if kind not in INBOUND:
        return Refused("not_inbound")
    if not payload:
        # An empty retained message clears a state topic: nothing to record. Elsewhere: nothing to read.
        return None if kind == "state" else Refused("not_json")
    if len(payload) > MAX_BYTES:
        return Refused("too_large", detail=f"{len(payload)} bytes")
    # Beyond the contract's depth limit: not read at all, whatever id it holds (the module docstring),
    # so judged before parsing (_too_deep says why).
    if _too_deep(payload):
        return Refused("too_deep", detail=f"nested deeper than {MAX_DEPTH} levels")
    try:
        obj, why = _loads(payload.decode("utf-8"), _may_hold_big_number(payload))
    except RecursionError:
        return Refused("too_deep", detail="nested too deep to parse")
    except _NotJson as e:  # NaN or Infinity: the name of the constant, nothing of the payload
        return Refused("not_json", detail=str(e))
    except ValueError as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return Refused("not_json", detail=type(e).__name__)
    if not isinstance(obj, dict):
        return Refused("not_envelope")
    terminal = parsed.terminal
    fault = _envelope_fault(obj)
    if obj.get("terminal") != terminal and not fault and _envelope_valid(obj):
        # The contract's order: an envelope that passes the envelope schema but names another
        # terminal is forbidden before anything else about the message is judged (its type, op,
        # idem, and its body, unreadable numbers and strings in it included).
        return refusal(terminal, _reply_path(kind, parsed, obj), "forbidden",
                       "the envelope names another terminal than the topic it came on", "forbidden")
    if why:
        return refusal(terminal, _reply_path(kind, parsed, obj), "invalid", why, "invalid")
    # Why this pre-check on the raw bytes: a bad escape is rare, and walking every node costs more
    # than validating a check-in; only a payload that could carry one is walked.
    if _SUSPECT_ESCAPE.search(payload):
        why = _unstorable_string(obj)
        if why:
            return refusal(terminal, _reply_path(kind, parsed, obj), "invalid", why, "invalid")
    if fault:
        return refusal(terminal, _reply_path(kind, parsed, obj), "invalid", fault, "invalid")
    try:
        schemas.validate_message(topic, obj)
    except InvalidMessage as e:  # never WrongTerminal: the terminals were compared above
        return refusal(terminal, _reply_path(kind, parsed, obj), "invalid", str(e), "invalid")
    env = Envelope(type=obj["type"], op=obj["op"], terminal=terminal, body=obj["body"], id=obj["id"],
                   v=VERSION, ts=obj["ts"], corr=obj.get("corr"), idem=obj.get("idem"))
    return Accepted(kind, terminal, env)
