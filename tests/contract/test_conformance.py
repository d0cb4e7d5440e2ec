"""The contract tells the truth about the reference central service.

Every operation of docs/asyncapi.yaml is driven on a real Mosquitto against the real central
service with valid, realistic, broken and hostile requests, generated from the document's own
schemas (hypothesis-jsonschema) and derandomized (the same examples every run). Every answer,
error paths included, must be valid by the document's schema of that operation's response; the
document's reply rules decide what each message must get (a result or a listed code, invalid,
forbidden, or nothing at all), and an answer of ``internal`` is a failure of the service.

Bounded: EXAMPLES_PER_OP examples per operation, one round trip each (the message and a sentinel
request pipelined), plus the fixed cases of tests/contract/test_edges.py.
"""
from __future__ import annotations

import base64
import hashlib
from collections import Counter
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from kiosk.network import schemas, topics

from .conftest import (
    TERMINAL,
    World,
    doc,
    doc_operations,
    encode,
    exchange,
    request_env,
    request_valid,
    response_errors,
    schema_valid,
)

#: Why 24: 13 operations x 24 = 312 round trips, a few seconds, yet every kind of case (schema,
#: realistic, broken body, broken envelope) comes up several times per operation.
EXAMPLES_PER_OP = 24


class _Missing:
    def __repr__(self) -> str:
        return "<left out>"


_MISSING = _Missing()
#: Values that break a careless reader: Python-only pattern matches, bools as numbers, huge or
#: negative numbers, wrong types, over-long strings.
NASTY = ["x\n", "١٢٣", "１２３", "", " ", "a" * 3000, True, False, 1.5, -1, 2 ** 53, None, [], {}, [[[[1]]]],
         "ZM-CONF01\n", "2026-02-30", "2026-03-18\n", "A012\n", "\u00e9", 0, "0"]
#: Envelope fields broken one at a time (_MISSING: the field is left out).
ENVELOPE_NASTY: dict[str, list[Any]] = {
    "id": [_MISSING, None, 5, "", "bad id", "x" * 129, "conf\n"],
    "type": [_MISSING, "res", "evt", "REQ", 1],
    "op": [_MISSING, "Checkin", "x", 7, "checkin\n"],
    "v": [_MISSING, True, False, 2, 0, "1", None],
    "ts": [_MISSING, "yesterday", "2026-02-30T02:00:00Z", "2026-03-18T02:00:00Z\n", "٢٠٢٦-03-18T02:00:00Z", None, 1],
    "terminal": [_MISSING, "+", "#", None, 123, {}, "ＺＭ-CONF01", "ab", "ZM-CONF01\n", "ZM-CONF02"],
    "corr": [5, "", "a b"],
    "idem": [_MISSING, None, "", "x y", 5],
    "body": [_MISSING, None, [], "x", 1],
}


def _inline(node):
    """``node`` with the document's ``#/components/schemas/X`` references replaced by X."""
    if isinstance(node, list):
        return [_inline(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in ("enum", "const") else _inline(v)) for k, v in node.items() if k != "$ref"}
    ref = node.get("$ref")
    if ref is None:
        return out
    target = _inline(doc()["components"]["schemas"][ref.rsplit("/", 1)[1]])
    if set(out) <= {"description"}:
        return target | out
    out["allOf"] = [target, *out.get("allOf", [])]
    return out


def _request_schema(op: str) -> dict:
    return _inline(doc()["components"]["schemas"][f"{op}.request"])


def _realistic(op: str, w: World) -> st.SearchStrategy[dict]:
    """Requests that refer to records the central service holds, so that success paths run too
    (an operation not named here: bodies from its schema)."""
    ref = st.sampled_from(w.refs)
    apps = sorted(w.owner_of)
    if op == "catalogue.sync":
        return st.fixed_dictionaries({"since_version": st.sampled_from([0, w.version, w.version + 1])})
    if op == "citizen.lookup":
        return st.sampled_from(w.people).map(lambda p: {"id_number": p[0], "name": p[1]})
    if op == "appointments.list":
        return st.fixed_dictionaries({"citizen_ref": ref}, optional={"date": st.sampled_from(w.dates)})
    if op == "slots.list":
        return st.fixed_dictionaries({"item_code": st.sampled_from(w.items), "date": st.sampled_from(w.dates)})
    if op == "appointment.book":
        return st.builds(lambda r, s: {"citizen_ref": r, "item_code": s[0], "slot_id": s[1]}, ref, st.sampled_from(w.slots))
    if op in ("appointment.cancel", "checkin"):
        # The proof the operation asks for (the document: not_found without it): mostly the citizen_ref
        # of the appointment's citizen, else another citizen's, none, or (check-in) the slip's code.
        def owned(a: str, proof: str, other: str) -> dict:
            if proof == "code":
                a, code = min(w.checkin_codes.items())
                return {"appointment_id": a, "checkin_code": code}
            ref = {"owner": w.appointment_owner[a], "another": other, "none": None}[proof]
            return {"appointment_id": a, **({"citizen_ref": ref} if ref else {})}
        proofs = ["owner", "owner", "owner", "another", "none"] + (["code"] if op == "checkin" else [])
        appts = w.checkin_appointments if op == "checkin" else w.cancel_appointments
        return st.builds(owned, st.sampled_from(appts), st.sampled_from(proofs), st.sampled_from(w.refs))
    if op == "ticket.walkin":
        return st.fixed_dictionaries({"line": st.sampled_from(w.lines)}, optional={"citizen_ref": ref})
    if op == "applications.list":
        return st.builds(lambda r: {"citizen_ref": r}, ref)
    if op == "application.get":
        return st.builds(lambda n: {"application_no": n}, st.sampled_from(apps))
    if op == "feedback.submit":
        def feedback(kind, no, proof, rating):
            target = {"hall": True} if no is None else {"application_no": no, **(
                {"citizen_ref": w.owner_of[no]} if proof == "citizen" else
                {"receipt": w.receipts[no]} if proof == "receipt" else {})}
            return {"kind": kind, "target": target, **({"rating": rating} if rating else {})}
        return st.builds(feedback, st.sampled_from(["rate", "complain", "consult"]),
                         st.none() | st.sampled_from(apps), st.sampled_from(["citizen", "receipt", None]),
                         st.none() | st.integers(1, 5))
    if op == "upload.chunk":
        def chunk(data: bytes) -> dict:
            sha = hashlib.sha256(data).hexdigest()
            return {"upload_id": "U" + sha[:16], "index": 0, "total": 1, "sha256": sha,
                    "data_b64": base64.b64encode(data).decode("ascii")}
        return st.builds(chunk, st.binary(min_size=1, max_size=96))
    if op == "application.submit":
        return st.builds(lambda p, item: {
            "citizen": {"id_number": p[0], "name": p[1]}, "item_code": item,
            "materials": [{"name": "身份证", "provided": True}],
            "consent": {"given": True, "method": "tap", "at": "2026-03-18T02:00:00.000Z"},
            "staff": {"staff_id": "S001"}}, st.sampled_from(w.people), st.sampled_from(w.items))
    # An operation whose requests need no record of the seeded world (a hall's status, say) is
    # driven with bodies made from its schema alone; the test below still demands a success, and
    # says where to add realistic requests when none came.
    # A request schema is an object schema: every value drawn is a dict (from_schema's type is any JSON).
    return cast("st.SearchStrategy[dict]", from_schema(_request_schema(op)))


@st.composite
def _broken_body(draw, base: st.SearchStrategy[dict], schema: dict) -> dict:
    """A body with one thing changed: a required member dropped, an unknown one added, or a value
    replaced by a nasty one (it may still be valid: the document decides what is expected)."""
    body = dict(draw(base))
    how = draw(st.sampled_from(["drop", "extra", "replace", "replace"]))
    if how == "drop" and schema.get("required"):
        body.pop(draw(st.sampled_from(schema["required"])), None)
    elif how == "extra" or not schema.get("properties"):  # a request without members: only an extra one breaks it
        body["zz_unknown"] = draw(st.sampled_from(NASTY))
    else:
        key = draw(st.sampled_from(sorted(schema["properties"])))
        body[key] = draw(st.sampled_from(NASTY))
    return body


def _cases(op: str, w: World) -> st.SearchStrategy[tuple]:
    schema = _request_schema(op)
    generated = from_schema(schema)
    realistic = _realistic(op, w)
    either = st.one_of(generated, realistic)
    envelope_break = st.sampled_from(sorted(ENVELOPE_NASTY)).flatmap(
        lambda f: st.tuples(st.just(f), st.sampled_from(ENVELOPE_NASTY[f])))
    return st.one_of(
        st.tuples(st.just("schema"), generated, st.none()),
        st.tuples(st.just("realistic"), realistic, st.none()),
        st.tuples(st.just("realistic"), realistic, st.none()),
        st.tuples(st.just("broken body"), _broken_body(either, schema), st.none()),
        st.tuples(st.just("broken envelope"), either, envelope_break),
    )


def expected(env: dict, op: str, topic_terminal: str) -> str:
    """What the document's reply rules say a request must get: silent, invalid, forbidden or conforms."""
    if not schema_valid("ref", env.get("id")):
        return "silent"
    if not schema_valid("envelope", env):
        return "invalid"
    if env["terminal"] != topic_terminal:
        return "forbidden"
    if not request_valid(env, op):
        return "invalid"
    return "conforms"


def check_answer(ex, env: dict, op: str, want: str, label: str) -> str:
    """Assert the exchange obeys the document; returns the outcome (``ok``, a code, ``silent``)."""
    if want == "silent":
        assert ex.answers == [], f"{label}: the document says no answer, the service answered {ex.answers}"
        assert ex.dropped_after > ex.dropped_before, f"{label}: dropped but not counted"
        return "silent"
    assert len(ex.answers) == 1, f"{label}: want exactly one answer, heard {ex.answers}"
    topic, res = ex.answers[0]
    assert topic == topics.res(TERMINAL), f"{label}: answered on {topic}, not on the topic terminal's res"
    problems = response_errors(res, op)
    assert not problems, f"{label}: the answer breaks the document: {problems}\nanswer: {res}"
    idem = env.get("idem") if schema_valid("ref", env.get("idem")) else None
    assert (res["corr"], res["terminal"], res["op"], res.get("idem")) == (env["id"], TERMINAL, op, idem), \
        f"{label}: answer's corr/terminal/op/idem: {res}"
    body = res["body"]
    outcome = "ok" if body["ok"] else body["error"]["code"]
    if want in ("invalid", "forbidden"):
        assert outcome == want, f"{label}: the document says {want}, the service answered {body}"
    assert outcome != "internal", f"{label}: the service failed (internal) on {env}"
    if want == "conforms" and outcome == "invalid":
        own = schemas.schema_files()["operations.json"]["operations"][op]["errors"]
        assert "invalid" in own, f"{label}: a valid request answered invalid, a reason {op} does not list: {body}"
    return outcome


@pytest.mark.parametrize("op", doc_operations())
def test_every_answer_of_every_operation_is_what_the_document_says(op, wire, service, world):
    outcomes: Counter = Counter()

    # No shrinking: each failing example may wait out a timeout, and the labels already say what
    # was sent; derandomized, the same example fails again on the next run.
    @settings(max_examples=EXAMPLES_PER_OP, derandomize=True, database=None, deadline=None,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    @given(case=_cases(op, world))
    def run(case):
        kind, body, broken = case
        env = request_env(wire, op, body)
        if broken is not None:
            field, value = broken
            if value is _MISSING:
                env.pop(field)
            else:
                env[field] = value
        want = expected(env, op, TERMINAL)
        label = f"{op} [{kind}{f' {broken[0]}={broken[1]!r}' if broken else ''}] -> want {want}"
        ex = exchange(wire, service, topics.req(TERMINAL, op), encode(env), world.version,
                      answer_to=None if want == "silent" else env["id"], dropped=want == "silent")
        outcomes[check_answer(ex, env, op, want, label)] += 1

    run()
    assert outcomes["ok"] >= 1, (f"no request of {op} succeeded: its result was never checked ({dict(outcomes)}); "
                                 "add realistic requests of it in _realistic")
    assert outcomes["invalid"] >= 1, f"no request of {op} was refused as invalid ({dict(outcomes)})"
