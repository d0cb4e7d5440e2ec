"""The validators with ``$ref``s inlined, and the compiled jsonschema-rs fast path beside them (both
for speed), judge exactly like the schemas as written."""
from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from kiosk.network import schemas
from kiosk.network.errors import InvalidMessage

from .conftest import sample_result
from .test_schemas import REQUESTS


def _reference(name: str):
    """A validator over the schema file as written, resolving ``$ref`` through the registry."""
    docs, registry = schemas._load()
    return jsonschema.validators.validator_for(docs[name])(docs[name], registry=registry)


def _verdict(validator, instance) -> list[tuple]:
    """Every error as (instance path, keyword), sorted: what _check reports is derived from this."""
    return sorted((tuple(map(str, e.absolute_path)), e.validator) for e in validator.iter_errors(instance))


def _agree(name: str, instance) -> None:
    """The inlined validator finds the same errors, and the fast path gives the same verdict."""
    expected = _verdict(_reference(name), instance)
    assert _verdict(schemas._validator(name), instance) == expected, name
    fast = schemas._fast(name)
    assert fast is not None, name
    assert fast.is_valid(instance) == (not expected), (name, instance, expected)
    if expected:  # the refusal names the fast path's first error: one jsonschema finds too
        with pytest.raises(InvalidMessage) as refused:
            schemas._check(name, instance, "x")
        where, _, keyword = str(refused.value.args[0]).removeprefix("x: ").rpartition(": fails ")
        path = () if where == "<root>" else tuple(where.split("/"))
        assert (path, keyword.strip("'")) in expected, (name, instance, refused.value, expected)


@pytest.mark.parametrize("field,value", [
    ("terminal", "ZM-0001\n"),                 # Python's $ matches before a final newline
    ("ts", "٢٠٢٤-01-01T00:00:00Z"),            # Python's \d matches Arabic-Indic digits
    ("ts", "２０２６-01-01T00:00:00Z"),          # ... and full-width ones
    ("id", "a" * 32 + "\n"),
    ("op", "catalogue.sync\n"),
])
def test_python_re_quirks_fail_in_both_validators(field, value):
    # The patterns use explicit ASCII classes and end with $(?!\n): jsonschema (Python's re,
    # re.search) and jsonschema-rs (Rust) both reject what only one of them used to.
    env = {"id": "a" * 32, "type": "res", "op": "catalogue.sync", "v": 1, "ts": "2024-01-01T00:00:00Z",
           "terminal": "ZM-0001", "body": {}}
    _agree("envelope.json", env)
    env[field] = value
    assert _verdict(_reference("envelope.json"), env) == [((field,), "pattern")]
    _agree("envelope.json", env)
    with pytest.raises(InvalidMessage):
        schemas.validate_envelope(env)


def test_every_schema_compiles_for_the_fast_path():
    for name in schemas.schema_files():
        if name != "operations.json":
            assert schemas._fast(name) is not None, name


def test_no_reference_to_a_contract_file_is_left():
    for name in schemas.schema_files():
        if name != "operations.json":
            assert '"$ref"' not in json.dumps(schemas._validator(name).schema), name


def _samples() -> list[tuple[str, object]]:
    """Valid samples of every request and result, each also broken in a few typical ways."""
    out: list[tuple[str, object]] = []
    for op, body in REQUESTS.items():
        for name, inst in ((f"{op}.request.json", body), (f"{op}.result.json", sample_result(op, body))):
            out.append((name, inst))
            for key in list(inst)[:3]:
                out += [(name, inst | {key: None}), (name, inst | {key: "x" * 200}), (name, inst | {key: ["?"]})]
            out.append((name, {k: v for k, v in inst.items() if k != next(iter(inst), None)}))
    return out


def test_inlined_validators_agree_on_samples_and_broken_samples():
    for name, inst in _samples():
        _agree(name, inst)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
                    max_leaves=8)
ENVELOPES = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(["a" * 32, "", "bad id", None]), "type": st.sampled_from(["req", "res", "nope"]),
    "op": st.sampled_from(["checkin", "X", 3]), "v": st.sampled_from([1, 2, "1"]),
    "ts": st.sampled_from(["2026-11-25T02:00:00Z", "yesterday"]), "terminal": st.sampled_from(["ZM-0001", "?"]),
    "corr": st.sampled_from([None, "c" * 32, "", 5]), "idem": st.sampled_from([None, "k" * 32, "x y"]),
    "body": JSON})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ENVELOPES)
def test_inlined_envelope_validator_agrees_on_any_envelope(env):
    _agree("envelope.json", env)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(REQUESTS)), st.dictionaries(st.sampled_from(["appointment_id", "line", "citizen_ref",
                                                                          "date", "item_code", "kind", "x"]),
                                                         JSON, max_size=4))
def test_inlined_request_validators_agree_on_any_body(op, body):
    _agree(f"{op}.request.json", body)


def _narrowed(node):
    """``node`` with every object closed and every collection at most 3 long: only narrower, so
    what it generates is valid for the schema as written, but hypothesis-jsonschema makes it in a
    fraction of the time (open result objects and 100-member free-form objects are slow)."""
    if isinstance(node, list):
        return [_narrowed(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in ("enum", "const") else _narrowed(v)) for k, v in node.items()}
    if "properties" in out:
        out.setdefault("additionalProperties", False)
    for key in ("maxItems", "maxProperties"):
        if key in out:
            out[key] = min(out[key], 3)
    return out


@functools.cache
def _generated(name: str):
    """A strategy of valid instances of schema file ``name`` (hypothesis-jsonschema)."""
    whole = schemas._validator(name).schema
    assert isinstance(whole, dict), name  # every contract schema is an object
    schema = {k: v for k, v in whole.items() if k not in ("$schema", "$id")}
    return from_schema(_narrowed(schema))


#: Values that one engine or the other used to judge differently, or that break a careless parser.
NASTY: st.SearchStrategy[Any] = st.sampled_from(["x\n", "１２", "٣", "", "a" * 3000, True, False, 1.0, 1.5, -1, 2 ** 53, 2 ** 63, None, [], {},
                         [[[[[[[[1]]]]]]]], "\u00e9", "ZM-0001\n", "2026-02-30", "2026-11-25\n", "A012\n"])


@pytest.mark.parametrize("name", sorted(n for n in schemas.schema_files() if n != "operations.json"))
@settings(max_examples=3, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_instances_and_their_mutations_get_one_verdict(name, data):
    # Valid instances drawn from the schemas themselves (hypothesis-jsonschema), then one value
    # replaced by a nasty one: the file as written, the inlined validator and jsonschema-rs agree.
    inst = data.draw(_generated(name), label="instance")
    assert _verdict(_reference(name), inst) == [], (name, inst)
    _agree(name, inst)
    if isinstance(inst, dict) and inst:
        key = data.draw(st.sampled_from(sorted(inst)), label="key")
        _agree(name, inst | {key: data.draw(NASTY, label="value")})


def test_the_fast_path_gets_patterns_without_lookahead():
    # Rust's $ is the end of the text: the (?!\n) for Python's re is dropped there, so that
    # jsonschema-rs keeps its linear-time engine. Same language: the tests above hold both to one verdict.
    def patterns(node):
        if isinstance(node, dict):
            yield from ([node["pattern"]] if isinstance(node.get("pattern"), str) else [])
            for v in node.values():
                yield from patterns(v)
        elif isinstance(node, list):
            for v in node:
                yield from patterns(v)
    for name in schemas.schema_files():
        if name != "operations.json":
            found = list(patterns(schemas._for_rust(schemas._validator(name).schema)))
            assert all("(?!" not in p and p.endswith("$") for p in found), (name, found)
