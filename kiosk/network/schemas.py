"""The contract's JSON Schemas (kiosk/network/schemas/*.json, 2020-12): loaded once, validators here.

Files: ``envelope.json``; ``<op>.request.json`` and ``<op>.result.json`` for every operation in
``operations.json``; ``response.json`` (ok/error wrapper), ``event.json``, ``command.json``,
``state.json``, ``telemetry.json``, ``broadcast.json``; shared ``$defs`` in ``common.json``.
``operations.json`` also lists every error code the central service answers, per operation
(:func:`error_codes`): a response with a code its operation does not list is invalid.
docs/asyncapi.yaml is generated from the same files (tools/gen_asyncapi.py), so they cannot drift.
The central service (central/hall_central) validates with the same functions.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import jsonschema
from referencing import Registry, Resource

try:  # Why: compiled validation (~3 us against ~0.15 ms per envelope); jsonschema alone still works
    import jsonschema_rs
except ImportError:  # pragma: no cover - the dependency is declared; a trimmed install falls back
    jsonschema_rs = None  # type: ignore[assignment]  # the optional-import idiom: None = not installed

from kiosk.network import topics
from kiosk.network.errors import InvalidMessage, WrongTerminal

SCHEMA_DIR = Path(__file__).with_name("schemas")


@functools.lru_cache(maxsize=1)
def _load() -> tuple[dict[str, dict[str, Any]], Registry]:
    docs = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMA_DIR.glob("*.json"))}
    resources = [(d["$id"], Resource.from_contents(d)) for d in docs.values() if "$id" in d]
    return docs, Registry().with_resources(resources)


def schema_files() -> dict[str, dict[str, Any]]:
    """Every schema file by name (a copy-free view: do not mutate)."""
    return _load()[0]


def operations() -> dict[str, dict[str, Any]]:
    """Operation name -> {durable: bool, description}."""
    ops: dict[str, dict[str, Any]] = schema_files()["operations.json"]["operations"]
    return ops


def is_durable(op: str) -> bool:
    """True for operations that go through the outbox with an idempotency key."""
    return bool(operations().get(op, {}).get("durable"))


@functools.cache
def error_codes(op: str) -> tuple[str, ...]:
    """Every error code the central service may answer to ``op``, in the contract's order.

    For an operation: the codes every request may get (invalid, forbidden, internal), conflict
    for a durable one, and the operation's own. For anything else (``op`` of an event's
    acknowledgement, or of a request topic naming no operation): the event acknowledgement's.
    """
    meta = schema_files()["operations.json"]
    info = meta["operations"].get(op)
    if info is None:
        codes = set(meta["event_ack_errors"])
    else:
        codes = set(meta["every_request_errors"]) | set(info["errors"])
        if info["durable"]:
            codes |= set(meta["durable_request_errors"])
    return tuple(c for c in meta["errors"] if c in codes)


#: Keywords that never fail a validation: a ``$ref`` beside only these is merged, not wrapped.
_ANNOTATIONS = frozenset({"title", "description", "examples", "default", "deprecated", "$comment"})


def _resolved(node: Any, base: str, docs_by_id: dict[str, dict[str, Any]], stack: tuple[str, ...] = ()) -> Any:
    """``node`` with every ``$ref`` to another contract file replaced by the schema it names.

    Why: jsonschema resolves a ``$ref`` through ``referencing`` on every validation, which cost
    more than half of the validation time of a message (0.27 -> 0.11 ms per envelope measured
    here). Each ``$ref`` becomes ``allOf: [<target>]`` beside the node's other keywords (or the
    target itself where only annotations stand beside it), which 2020-12 defines as the same
    check; errors keep their instance path and keyword. A cycle, an anchor or a foreign URI is
    left as a ``$ref`` (the registry still resolves it). Every check of the files is kept.
    """
    if isinstance(node, list):
        return [_resolved(v, base, docs_by_id, stack) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in ("enum", "const") else _resolved(v, base, docs_by_id, stack))
           for k, v in node.items() if k != "$ref"}
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return out
    uri, _, pointer = urljoin(base, ref).partition("#")
    target = docs_by_id.get(uri)
    if target is None or uri + "#" + pointer in stack or not pointer.startswith("/") and pointer:
        out["$ref"] = ref  # not one of ours, or a cycle: keep the reference
        return out
    for part in filter(None, pointer.split("/")):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    inlined = _resolved(target, uri, docs_by_id, stack + (uri + "#" + pointer,))
    inlined = {k: v for k, v in inlined.items() if k not in ("$id", "$schema")} if isinstance(inlined, dict) else inlined
    if isinstance(inlined, dict) and not set(out) - _ANNOTATIONS:
        return inlined | out  # only annotations beside the $ref: one level less to descend
    out["allOf"] = [inlined, *out.get("allOf", [])]
    return out


@functools.cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    docs, registry = _load()
    if name not in docs:
        raise InvalidMessage(f"no schema {name}")
    doc = docs[name]
    docs_by_id = {d["$id"]: d for d in docs.values() if "$id" in d}
    schema = _resolved(doc, doc.get("$id", ""), docs_by_id)
    cls = jsonschema.validators.validator_for(doc)
    return cls(schema, registry=registry)


@functools.cache
def _fast(name: str) -> jsonschema_rs.Validator | None:
    """jsonschema-rs compiled from the same inlined schema (None if unavailable or not compilable).

    It only answers "valid": an instance it rejects goes through jsonschema, which reports the
    error as before, so the messages and the judgement of an invalid message do not change.
    """
    if jsonschema_rs is None:
        return None
    try:
        return jsonschema_rs.validator_for(_for_rust(_validator(name).schema), validate_formats=False, offline=True)
    except Exception:  # a construct it does not compile: jsonschema alone checks this schema
        return None


#: The end anchor of every contract pattern. The lookahead is there for Python's ``re``, whose
#: ``$`` also matches before a final newline; Rust's ``$`` is the end of the text already.
_END = "$(?!\\n)"


def _for_rust(node: Any) -> Any:
    """``node`` with each pattern's ``$(?!\\n)`` ending as plain ``$``: the same language in
    Rust's regex, where the lookahead would make jsonschema-rs use its backtracking engine
    (10 us per envelope instead of 2 measured here). The differential tests hold both to one verdict."""
    if isinstance(node, list):
        return [_for_rust(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in ("enum", "const") else _for_rust(v)) for k, v in node.items()}
    if isinstance(out.get("pattern"), str) and out["pattern"].endswith(_END):
        out["pattern"] = out["pattern"][:-len(_END)] + "$"
    return out


def _check(name: str, instance: Any, what: str) -> None:
    fast = _fast(name)
    try:
        if fast is not None and fast.is_valid(instance):
            return
    except (ValueError, TypeError, OverflowError):  # a value JSON cannot hold (e.g. a set): jsonschema decides
        pass
    errors = sorted(_validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "<root>"
        # Why only the path and the validator keyword: the message text may quote the value,
        # which could be a citizen's data (an ID number in citizen.lookup).
        raise InvalidMessage(f"{what}: {where}: fails '{e.validator}' ({len(errors)} error(s))")


def _known(op: str) -> None:
    if op not in operations():
        raise InvalidMessage(f"unknown operation {op!r}")


def validate_request(op: str, body: Any) -> None:
    """Raise InvalidMessage unless ``body`` is a valid request body of ``op``."""
    _known(op)
    _check(f"{op}.request.json", body, f"{op} request")


def validate_result(op: str, result: Any) -> None:
    """Raise InvalidMessage unless ``result`` is a valid result of ``op``."""
    _known(op)
    _check(f"{op}.result.json", result, f"{op} result")


def validate_envelope(envelope: Any) -> None:
    """Raise InvalidMessage unless ``envelope`` (a dict) is a valid contract envelope."""
    _check("envelope.json", envelope, "envelope")


def validate_response_body(op: str, body: Any) -> None:
    """Check a ``res`` body: the result when ``op`` is an operation (event acks carry ``{}``), and
    that an error's code is one the contract lists for ``op`` (:func:`error_codes`)."""
    _check("response.json", body, f"{op} response")
    if body["ok"]:
        if op in operations():
            validate_result(op, body["result"])
    elif body["error"]["code"] not in error_codes(op):
        raise InvalidMessage(f"{op} response: error code {body['error']['code']!r} is not one the contract lists "
                             f"for {op}")


_BODY_BY_KIND = {"evt": "event.json", "cmd": "command.json", "state": "state.json",
                 "telemetry": "telemetry.json", "bcast": "broadcast.json"}


def validate_message(topic: str, envelope: Any) -> None:
    """Check a whole message: the topic, the envelope, that they agree, and the body for its kind."""
    try:
        parsed = topics.parse(topic)
    except topics.TopicError as e:
        raise InvalidMessage(str(e)) from None
    validate_envelope(envelope)
    kind, op, body = parsed.kind, envelope["op"], envelope["body"]
    if parsed.terminal and envelope["terminal"] != parsed.terminal:
        # A valid id of another terminal (the schema checked the grammar), checked before anything
        # else about the message: the central service answers forbidden (the contract's rule).
        raise WrongTerminal("envelope terminal differs from the topic's terminal")
    if envelope["type"] != kind:
        raise InvalidMessage(f"envelope type {envelope['type']!r} on a {kind} topic")
    if kind == "req":
        if op != parsed.operation:
            raise InvalidMessage(f"envelope op {op!r} on topic of {parsed.operation!r}")
        validate_request(op, body)
        if is_durable(op) and not envelope.get("idem"):
            raise InvalidMessage(f"durable operation {op} without an idempotency key")
    elif kind == "res":
        if not envelope.get("corr"):
            raise InvalidMessage("response without corr")
        validate_response_body(op, body)
    else:
        _check(_BODY_BY_KIND[kind], body, f"{kind} {op}")
        if kind == "evt" and not envelope.get("idem"):
            raise InvalidMessage("event without an idempotency key")
        if kind == "bcast" and op != "announcement":
            raise InvalidMessage(f"broadcast op {op!r} is not 'announcement'")
