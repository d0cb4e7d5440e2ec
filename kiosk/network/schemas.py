"""The contract's JSON Schemas (kiosk/network/schemas/, 2020-12): loaded once, validators here.

Files: ``envelope.json``; ``response.json`` (ok/error wrapper), ``event.json``, ``command.json``,
``state.json``, ``telemetry.json``, ``broadcast.json``; shared ``$defs`` in ``common.json``;
``operations.json``, the error codes, events, commands and reply rules of the whole contract; and
one file per operation, ``ops/<op>.json``: its description, whether it is durable, its own error
codes, its request body and its result. Each operation file is read as two schema documents,
``<op>.request.json`` and ``<op>.result.json`` (:func:`schema_files`; their ``$id`` and ``title``
come from the file's name), and its entry of ``operations.json``'s ``operations``: one file is
what an operation adds to the contract (docs/ARCHITECTURE.md, "How to add a central operation").
``operations.json`` lists every error code the central service answers, per operation
(:func:`error_codes`): a response with a code its operation does not list is invalid.
docs/asyncapi.yaml and kiosk/network/operations.py are generated from the same files
(tools/gen_asyncapi.py, tools/gen_operations.py), so they cannot drift.
The central service (central/hall_central) validates with the same functions.
"""
from __future__ import annotations

import functools
import json
from datetime import datetime
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
#: One file per operation (``ops/<op>.json``).
OPS_DIR = SCHEMA_DIR / "ops"
#: The ``$id`` of every contract document is this base and its name: relative ``$ref``s such as
#: ``common.json#/$defs/ref`` resolve against it.
ID_BASE = "https://hall-kiosk.invalid/schemas/v1/"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: What an operation file holds; anything else is a mistake (a misspelt key would be ignored).
_OP_KEYS = {"description", "durable", "errors", "request", "result"}
#: What only the file's name says: an operation's schemas that set them would say it twice.
_DERIVED = {"$schema", "$id", "title"}


class ContractFileError(ValueError):
    """A contract file that does not have the shape the loader reads (a developer's mistake)."""


def _operation_docs(op: str, spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """An operation file read as its ``operations.json`` entry and its two schema documents.

    The request's ``description`` defaults to the operation's; ``$schema``, ``$id`` and ``title``
    come from the operation's name."""
    if set(spec) != _OP_KEYS:
        raise ContractFileError(f"ops/{op}.json: keys must be {sorted(_OP_KEYS)}, found {sorted(spec)}")
    entry = {"durable": spec["durable"], "description": spec["description"], "errors": spec["errors"]}
    docs = {}
    for kind, title in (("request", f"{op} request body"), ("result", f"{op} result")):
        schema = spec[kind]
        if _DERIVED & set(schema):
            raise ContractFileError(f"ops/{op}.json: {kind} sets {sorted(_DERIVED & set(schema))}, which the "
                                    "file's name gives")
        head = {"$schema": _DIALECT, "$id": f"{ID_BASE}{op}.{kind}.json", "title": title}
        if kind == "request" and "description" not in schema:
            head["description"] = spec["description"]
        docs[f"{op}.{kind}.json"] = head | schema
    return entry, docs


@functools.lru_cache(maxsize=1)
def _load() -> tuple[dict[str, dict[str, Any]], Registry]:
    docs = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMA_DIR.glob("*.json"))}
    meta = docs["operations.json"]
    if "operations" in meta:
        raise ContractFileError("operations.json lists no operations: each has its file ops/<op>.json")
    meta["operations"] = {}
    for p in sorted(OPS_DIR.glob("*.json")):
        op = p.name[:-len(".json")]
        entry, op_docs = _operation_docs(op, json.loads(p.read_text(encoding="utf-8")))
        meta["operations"][op] = entry
        docs.update(op_docs)
    resources = [(d["$id"], Resource.from_contents(d)) for d in docs.values() if "$id" in d]
    return docs, Registry().with_resources(resources)


def schema_files() -> dict[str, dict[str, Any]]:
    """Every contract document by name (a copy-free view: do not mutate): the files, an operation
    file as ``<op>.request.json`` and ``<op>.result.json``, and ``operations.json`` with every
    operation's entry (``operations``)."""
    return _load()[0]


def operations() -> dict[str, dict[str, Any]]:
    """Operation name -> {durable: bool, description, errors}, in the order of their names."""
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

    It judges and words every refusal (:func:`_check`): its first error, which the differential
    tests (tests/kiosk/network/test_schemas_inlined.py) hold to be one jsonschema finds too, with
    the same verdict. jsonschema only judges when this is unavailable or cannot read the value.
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
    """Raise InvalidMessage ``{what}: {where}: fails '{keyword}'`` unless ``instance`` is valid.

    Why the error is jsonschema-rs's own first one and not every error sorted by jsonschema, as it
    was: whoever sends a message chooses how much that enumeration costs. 80,000 empty objects in
    an event's free-form data beside one bad ``at`` (240 KB, within every limit) cost jsonschema 5 s
    to walk for the error's text, at the central service's door, which judges the whole fleet's
    messages one at a time; 120,000 wrong items cost even jsonschema-rs's ``iter_errors`` 1.5 s
    (it makes every error before the first is returned). ``validate`` stops at the first error: the
    cost of a refusal is that of a validation, in Rust. Hence no count of the errors either.
    """
    fast = _fast(name)
    if fast is not None:
        try:
            fast.validate(instance)
            _check_moments(name, instance, what)
            return
        except jsonschema_rs.ValidationError as e:  # a ValueError: caught before the next clause
            raise InvalidMessage(_worded(what, e.instance_path, _keyword(e.schema_path))) from None
        except (ValueError, TypeError, OverflowError):  # a value JSON cannot hold (e.g. a set): jsonschema decides
            pass
    # Only for a value no JSON text gives (a set, a lone surrogate): never what a message decodes to.
    first = min(_validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path), default=None)
    if first is not None:
        raise InvalidMessage(_worded(what, first.absolute_path, first.validator))
    _check_moments(name, instance, what)


#: Where a path of :func:`_moment_paths` takes every item of an array.
_EACH = object()


@functools.cache
def _moment_paths(name: str) -> tuple[tuple[Any, ...], ...]:
    """The instance paths of schema ``name`` that hold a timestamp (common.json's ``timestamp``),
    ``_EACH`` standing for every item of an array: where :func:`_check_moments` looks."""
    docs, _registry = _load()
    pattern = docs["common.json"]["$defs"]["timestamp"]["pattern"]
    found: set[tuple[Any, ...]] = set()

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if not isinstance(node, dict):
            return
        if node.get("pattern") == pattern:
            found.add(path)
        for sub_name, sub in (node.get("properties") or {}).items():
            walk(sub, path + (sub_name,))
        if isinstance(node.get("items"), dict):
            walk(node["items"], path + (_EACH,))
        for key in ("allOf", "anyOf", "oneOf"):  # the same value: a timestamp or null, an object of one form
            for sub in node.get(key) or ():
                walk(sub, path)

    walk(_validator(name).schema, ())
    return tuple(sorted(found, key=lambda p: [str(x) for x in p]))


def _check_moments(name: str, instance: Any, what: str) -> None:
    """Raise InvalidMessage when a timestamp of ``instance`` (valid against ``name``) names a
    moment that does not exist: the pattern lets 2026-02-30T00:00:00Z and year 0000 through, and
    the contract (1.2.0) answers any such timestamp invalid, not only the envelope's ``ts`` (a cold
    try: an event's ``at`` and application.submit's consent ``at`` of 2026-02-30 were stored)."""
    for path in _moment_paths(name):
        stack: list[tuple[Any, list[Any]]] = [(instance, [])]
        for step in path:
            nxt: list[tuple[Any, list[Any]]] = []
            for value, where in stack:
                if step is _EACH:
                    if isinstance(value, list):
                        nxt.extend((v, where + [i]) for i, v in enumerate(value))
                elif isinstance(value, dict) and step in value:
                    nxt.append((value[step], where + [step]))
            stack = nxt
        for value, where in stack:
            if isinstance(value, str):
                try:
                    datetime.fromisoformat(value)  # Python 3.11 reads Z and 1-6 fraction digits
                except ValueError:
                    raise InvalidMessage(f"{what}: {'/'.join(map(str, where))}: a moment that does not exist") from None


def _keyword(schema_path: Any) -> str:
    """The keyword that failed: the last name in jsonschema-rs's schema path (an index is not one)."""
    for part in reversed(schema_path):
        if isinstance(part, str):
            return part
    return "schema"


def _worded(what: str, path: Any, keyword: object) -> str:
    # Why only the path and the validator keyword: the message text may quote the value,
    # which could be a citizen's data (an ID number in citizen.lookup).
    where = "/".join(str(p) for p in path) or "<root>"
    return f"{what}: {where}: fails '{keyword}'"


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
    """Raise InvalidMessage unless ``envelope`` (a dict) is a valid contract envelope, its ``ts`` a
    moment that exists (the schema's pattern lets 2026-02-30T00:00:00Z and year 0000 through)."""
    _check("envelope.json", envelope, "envelope")  # its ts too (:func:`_check_moments`)


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
