"""The schemas are strict where Python is lax: no bool as a number, no trailing newline or Unicode
digit through a pattern, no terminal id that is not one, bounded strings, numbers, arrays and
free-form objects. Each case is judged by both validators (jsonschema and jsonschema-rs)."""
from __future__ import annotations

import json

import jsonschema
import pytest

from kiosk.network import envelope as E
from kiosk.network import schemas, topics
from kiosk.network.errors import InvalidMessage

from .conftest import TERMINAL
from .test_schemas import REQUESTS

#: Objects without properties that another schema checks: a body by its op's, a result by <op>.result.json.
_CHECKED_ELSEWHERE = {"envelope.json/properties/body", "response.json/oneOf/0/properties/result"}
_LAX_ESCAPES = ("\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "\\b")


def _audit(node, path: str, out: list) -> None:
    if isinstance(node, list):
        for i, v in enumerate(node):
            _audit(v, f"{path}/{i}", out)
        return
    if not isinstance(node, dict):
        return
    t = node.get("type")
    types = t if isinstance(t, list) else [t] if t else []
    if "string" in types and "maxLength" not in node and "enum" not in node and "const" not in node:
        out.append(f"{path}: a string without maxLength")
    if {"integer", "number"} & set(types) and "const" not in node and not {"minimum", "maximum"} <= set(node):
        out.append(f"{path}: a number without minimum and maximum")
    if "array" in types and "maxItems" not in node:
        out.append(f"{path}: an array without maxItems")
    if "object" in types and "properties" not in node and "additionalProperties" not in node \
            and path not in _CHECKED_ELSEWHERE:
        out.append(f"{path}: a free-form object without bounds (use common.json#/$defs/free_object)")
    if "pattern" in node:
        p = node["pattern"]
        if not (p.startswith("^") and p.endswith("$(?!\\n)")):
            out.append(f"{path}: pattern {p!r} not anchored with ^ ... $(?!\\n)")
        if any(x in p for x in _LAX_ESCAPES):
            out.append(f"{path}: pattern {p!r} uses a class that matches non-ASCII characters in Python")
    for k, v in node.items():
        if k in ("properties", "$defs", "patternProperties"):  # name -> schema maps
            for name, sub in v.items():
                _audit(sub, f"{path}/{k}/{name}", out)
        elif k not in ("enum", "const", "examples", "required", "description", "title", "$comment"):
            _audit(v, f"{path}/{k}", out)


def test_every_schema_is_bounded_and_every_pattern_strict():
    problems: list[str] = []
    for name, doc in schemas.schema_files().items():
        if name != "operations.json":
            _audit(doc, name, problems)
    assert not problems, "\n".join(problems)


def _verdicts(name: str, instance) -> tuple[bool, bool]:
    """(jsonschema's verdict on the file as written, jsonschema-rs's on the inlined schema)."""
    docs, registry = schemas._load()
    slow = jsonschema.validators.validator_for(docs[name])(docs[name], registry=registry).is_valid(instance)
    fast = schemas._fast(name)
    assert fast is not None, name
    return slow, fast.is_valid(instance)


def _judge(name: str, instance) -> bool:
    slow, fast = _verdicts(name, instance)
    assert slow == fast, f"jsonschema says {slow}, jsonschema-rs says {fast} for {instance!r} in {name}"
    return slow


def _env(**fields) -> dict:
    env = E.request(TERMINAL, "checkin", {"appointment_id": "AP-1"}, idem="k1").to_dict()
    env.update(fields)
    return env


@pytest.mark.parametrize("terminal", ["+", "#", None, 123, {}, [], "ＺＭ-0001", "ab", "ZM-0001\n", "ZM 0001",
                                      "-ZM01", "a" * 65, "ZM-0001/x", "ZM-٠٠٠١", ""])
def test_envelope_terminal_must_be_a_terminal_id(terminal):
    assert not _judge("envelope.json", _env(terminal=terminal))
    assert not topics.is_terminal_id(terminal)


@pytest.mark.parametrize("terminal", ["ZM-0001", "abc", "a" * 64, "Z_9"])
def test_valid_terminal_ids(terminal):
    assert _judge("envelope.json", _env(terminal=terminal))
    assert topics.is_terminal_id(terminal)


@pytest.mark.parametrize("v", [True, False, "1", 2, 0, 1.5, None, [1]])
def test_version_is_the_number_1_and_true_is_not(v):
    assert not _judge("envelope.json", _env(v=v))
    with pytest.raises(InvalidMessage):
        schemas.validate_envelope(_env(v=v))


@pytest.mark.parametrize("ts,ok", [
    ("2026-11-24T06:01:02.123Z", True), ("2028-02-29T23:59:59Z", True), ("2026-11-24T14:01:02+08:00", True),
    ("2026-02-30T06:00:00.000Z", False), ("2027-02-29T00:00:00Z", False), ("2026-04-31T00:00:00Z", False),
    ("0000-01-01T00:00:00Z", False),  # the pattern's shape, yet no moment: answered invalid (contract 1.2.0)
])
def test_a_timestamp_names_a_moment_that_exists(ts, ok):
    if ok:
        schemas.validate_envelope(_env(ts=ts))
    else:
        with pytest.raises(InvalidMessage, match="does not exist"):
            schemas.validate_envelope(_env(ts=ts))


@pytest.mark.parametrize("where,ok_case", [("event at", True), ("event at", False), ("consent at", True),
                                           ("consent at", False), ("telemetry online_since", False),
                                           ("state started_at", False)])
@pytest.mark.parametrize("ts", ["2026-02-30T06:00:00Z", "0000-01-01T00:00:00Z", "2027-02-29T00:00:00+08:00"])
def test_a_timestamp_in_a_body_names_a_moment_that_exists_too(where, ok_case, ts):
    """Contract 1.2.0 answers any timestamp of a moment that does not exist invalid, not only the
    envelope's ts (a cold try: an event's at and application.submit's consent at of 2026-02-30 were
    answered ok and stored)."""
    value = "2028-02-29T12:00:00+08:00" if ok_case else ts
    if where == "event at":
        env = dict(_env(), type="evt", op="staff.call", idem="e1", body={"data": {}, "at": value})
        check = lambda: schemas.validate_message(f"kiosk/v1/{TERMINAL}/evt", env)  # noqa: E731
    elif where == "consent at":
        body = dict(REQUESTS["application.submit"], consent={"given": True, "method": "tap", "at": value})
        check = lambda: schemas.validate_request("application.submit", body)  # noqa: E731
    else:
        kind, member = where.split()
        check = lambda: schemas._check_moments(f"{kind}.json", {member: value}, kind)  # noqa: E731
    if ok_case:
        check()
    else:
        with pytest.raises(InvalidMessage, match=r"(at|online_since|started_at): a moment that does not exist"):
            check()


def test_every_timestamp_of_the_contract_is_looked_at():
    """Where the moments are checked: each use of common.json's timestamp (none missed, none invented)."""
    found = {name: schemas._moment_paths(name) for name in schemas.schema_files()
             if name not in ("operations.json", "common.json")}
    flat = {(n, "/".join("*" if not isinstance(x, str) else x for x in p)) for n, ps in found.items() for p in ps}
    assert {("envelope.json", "ts"), ("event.json", "at"), ("state.json", "started_at"),
            ("telemetry.json", "online_since"), ("command.json", "expires_at"), ("broadcast.json", "until"),
            ("application.submit.request.json", "consent/at"),
            ("application.get.result.json", "application/submitted_at"),
            ("application.get.result.json", "application/steps/*/at"),
            ("applications.list.result.json", "applications/*/submitted_at"),
            ("applications.list.result.json", "applications/*/steps/*/at")} == flat


@pytest.mark.parametrize("id_number,ok", [
    ("41012219900101123X", True), ("410122199001011234", True), ("410122900101123", True),
    ("410122199001011234\n", False),          # Python's $ before a final newline
    ("410122900101123\n", False),             # the 15-digit form: within every length bound but one
    ("４１０１２２１９９００１０１１２３４", False),  # full-width digits
    ("٤١٠١٢٢١٩٩٠٠١٠١١٢٣٤", False),            # Arabic-Indic digits
    ("4101221990010112345", False), ("4101221990010112", False), ("41012219900101123x ", False),
])
def test_id_number_pattern(id_number, ok):
    body = {"id_number": id_number, "name": "张三"}
    assert _judge("citizen.lookup.request.json", body) is ok
    submit = dict(REQUESTS["application.submit"], citizen=body)
    assert _judge("application.submit.request.json", submit) is ok


@pytest.mark.parametrize("date,ok", [("2026-11-25", True), ("2026-02-30", True),  # shape only: answered invalid
                                     ("2026-11-25\n", False), ("2026-1-25", False), ("２０２６-11-25", False),
                                     ("2026-13-01", False), ("2026-11-32", False)])
def test_date_shape(date, ok):
    assert _judge("slots.list.request.json", {"item_code": "I-1", "date": date}) is ok
    assert "does not exist" in schemas.schema_files()["common.json"]["$defs"]["date"]["description"]


@pytest.mark.parametrize("value", [True, -1, 2 ** 31, 10 ** 30, 1.5, "0", None])
def test_integers_are_bounded_and_never_bool(value):
    assert not _judge("catalogue.sync.request.json", {"since_version": value})


def test_rating_true_is_not_a_rating():
    body = {"kind": "rate", "target": {"hall": True}, "rating": True}
    assert not _judge("feedback.submit.request.json", body)
    assert _judge("feedback.submit.request.json", body | {"rating": 5})


def _nested(depth: int, container: str = "dict"):
    value: object = 1
    for _ in range(depth):
        value = {"k": value} if container == "dict" else [value]
    return value


@pytest.mark.parametrize("container", ["dict", "list"])
def test_free_form_objects_nest_at_most_six_levels(container):
    def event(data):
        return {"data": data, "at": "2026-11-25T02:00:00Z"}
    assert _judge("event.json", event({"k": _nested(5, container)}))  # data + 5 = 6 levels
    assert not _judge("event.json", event({"k": _nested(6, container)}))
    assert _judge("command.json", {"args": {"k": _nested(5, container)}, "target": TERMINAL, "seq": 1,
                                   "expires_at": "2026-11-25T02:00:00Z"})
    assert not _judge("command.json", {"args": {"k": _nested(6, container)}, "target": TERMINAL, "seq": 1,
                                       "expires_at": "2026-11-25T02:00:00Z"})


@pytest.mark.parametrize("data,ok", [
    ({"n": 2 ** 53 - 1}, True), ({"n": 2 ** 53}, False), ({"n": -(2 ** 53)}, False), ({"n": 1e300}, False),
    ({"s": "x" * 2000}, True), ({"s": "x" * 2001}, False), ({"k" * 64: 1}, True), ({"k" * 65: 1}, False),
    ({f"k{i}": i for i in range(100)}, True), ({f"k{i}": i for i in range(101)}, False),
    ({"l": list(range(100))}, True), ({"l": list(range(101))}, False),
])
def test_free_form_objects_bound_numbers_strings_and_sizes(data, ok):
    assert _judge("event.json", {"data": data, "at": "2026-11-25T02:00:00Z"}) is ok


def test_telemetry_is_bounded():
    tel = {"uptime_s": 12.5, "devices": {"printer": {"state": "ready", "error": {"code": "x"}}}, "outbox_depth": 99999,
           "online_since": None}
    assert _judge("telemetry.json", tel)
    assert not _judge("telemetry.json", tel | {"outbox_depth": 10 ** 12})
    assert not _judge("telemetry.json", tel | {"devices": {"printer": _nested(7)}})
    assert not _judge("telemetry.json", tel | {"outbox_depth": True})


def _def(name: str) -> dict:
    return schemas.schema_files()["common.json"]["$defs"][name]


def test_topic_grammar_is_the_schemas_grammar():
    assert _def("terminal_id")["pattern"] == f"^{topics.TERMINAL_PATTERN}$(?!\\n)"
    assert _def("op_name")["pattern"] == f"^{topics.OPERATION_PATTERN}$(?!\\n)"
    assert _def("region")["pattern"] == f"^({topics.REGION_PATTERN})$(?!\\n)"
    ref = {"type": "string", **{k: v for k, v in _def("ref").items() if k != "description"}}
    for value in ["a", "a" * 128, "a" * 129, "", "a\n", "a b", "x:y.z-_", "é", "٣"]:
        ok = jsonschema.Draft202012Validator(ref).is_valid(value)
        assert ok == bool(E._REF_RE.fullmatch(value)), value


@pytest.mark.parametrize("region,ok", [("410100", True), ("410122203", True), ("410122203001", True),
                                       ("4101", False), ("410100\n", False), ("٤١٠١٠٠", False),
                                       ("4101000", False)])
def test_region_codes(region, ok):
    state = {"online": True, "version": "1", "profile": "kiosk", "regions": [region],
             "started_at": "2026-11-25T02:00:00Z"}
    assert _judge("state.json", state) is ok
    if ok:
        assert topics.parse(topics.bcast(region)).region == region
    else:
        with pytest.raises(topics.TopicError):
            topics.bcast(region)


def test_every_file_round_trips_as_json():
    for name, doc in schemas.schema_files().items():
        assert json.loads(json.dumps(doc)) == doc, name
