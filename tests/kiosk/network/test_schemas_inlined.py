"""The validators with ``$ref``s inlined (for speed) judge exactly like the schemas as written."""
from __future__ import annotations

import json

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.network import schemas

from .conftest import sample_result
from .test_schemas import REQUESTS


def _reference(name: str):
    """A validator over the schema file as written, resolving ``$ref`` through the registry."""
    docs, registry = schemas._load()
    return jsonschema.validators.validator_for(docs[name])(docs[name], registry=registry)


def _verdict(validator, instance) -> list[tuple]:
    """Every error as (instance path, keyword), sorted: what _check reports is derived from this."""
    return sorted((tuple(map(str, e.absolute_path)), e.validator) for e in validator.iter_errors(instance))


def test_no_reference_to_a_contract_file_is_left():
    for name in schemas.schema_files():
        if name != "operations.json":
            assert '"$ref"' not in json.dumps(schemas._validator(name).schema), name


def _samples() -> list[tuple[str, object]]:
    """Valid samples of every request and result, each also broken in a few typical ways."""
    out = []
    for op, body in REQUESTS.items():
        for name, inst in ((f"{op}.request.json", body), (f"{op}.result.json", sample_result(op, body))):
            out.append((name, inst))
            for key in list(inst)[:3]:
                out += [(name, inst | {key: None}), (name, inst | {key: "x" * 200}), (name, inst | {key: ["?"]})]
            out.append((name, {k: v for k, v in inst.items() if k != next(iter(inst), None)}))
    return out


def test_inlined_validators_agree_on_samples_and_broken_samples():
    for name, inst in _samples():
        assert _verdict(schemas._validator(name), inst) == _verdict(_reference(name), inst), name


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
    assert _verdict(schemas._validator("envelope.json"), env) == _verdict(_reference("envelope.json"), env)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(REQUESTS)), st.dictionaries(st.sampled_from(["appointment_id", "line", "citizen_ref",
                                                                          "date", "item_code", "kind", "x"]),
                                                         JSON, max_size=4))
def test_inlined_request_validators_agree_on_any_body(op, body):
    name = f"{op}.request.json"
    assert _verdict(schemas._validator(name), body) == _verdict(_reference(name), body)
