"""The hostile inputs of issue 13, one by one, against the real central service: each gets what
docs/asyncapi.yaml's reply rules say (invalid, forbidden, or nothing, dropped and counted), the
answer goes to the topic's terminal only, and nothing is stored for a terminal an envelope names.
"""
from __future__ import annotations

import json

import pytest

from hall_central.stores import open_store
from kiosk.network import envelope, topics

from .conftest import OTHER, TERMINAL, Exchange, encode, exchange, publish_alone, request_env, response_errors
from .test_conformance import check_answer


def _send(wire, service, world, topic: str, payload: bytes, answer_to: str | None = None,
          dropped: bool = False) -> Exchange:
    return exchange(wire, service, topic, payload, world.version, answer_to=answer_to, dropped=dropped)


def _req(wire, operation: str, body: dict, **fields) -> dict:
    env = request_env(wire, operation, body)
    env.update(fields)
    return env


def _with_raw(env: dict, old: str, new: str) -> bytes:
    raw = encode(env).decode("ascii")
    assert old in raw
    return raw.replace(old, new, 1).encode("ascii")


CHECKIN = {"appointment_id": "AP-NONE"}


@pytest.mark.parametrize("terminal", ["+", None, 123, {"t": 1}, "ＺＭ-CONF01", "ab", "ZM-CONF01\n"])
def test_an_envelope_terminal_that_is_no_terminal_id_is_answered_invalid_on_the_topics_terminal(
        terminal, wire, service, world):
    env = _req(wire, "checkin", CHECKIN, terminal=terminal)
    ex = _send(wire, service, world, topics.req(TERMINAL, "checkin"), encode(env), env["id"])
    check_answer(ex, env, "checkin", "invalid", f"terminal={terminal!r}")


@pytest.mark.parametrize("op,body", [("checkin", CHECKIN), ("catalogue.sync", {"since_version": 0})])
def test_an_envelope_naming_another_terminal_is_answered_forbidden_to_the_sender_only(op, body, wire, service, world):
    env = _req(wire, op, body, terminal=OTHER)
    ex = _send(wire, service, world, topics.req(TERMINAL, op), encode(env), env["id"])
    check_answer(ex, env, op, "forbidden", "envelope naming another terminal")  # nothing on OTHER's res


@pytest.mark.parametrize("v", [True, 2, "1", 1.5])
def test_a_version_that_is_not_the_number_1_is_answered_invalid(v, wire, service, world):
    env = _req(wire, "checkin", CHECKIN, v=v)
    check_answer(_send(wire, service, world, topics.req(TERMINAL, "checkin"), encode(env), env["id"]), env, "checkin",
                 "invalid", f"v={v!r}")


@pytest.mark.parametrize("written", ["1.0", "1e0"])
def test_the_number_1_written_with_a_fraction_or_exponent_is_version_1(written, wire, service, world):
    # The document's v is the schema's integer 1, which 1.0 is (JSON has one number type).
    env = _req(wire, "catalogue.sync", {"since_version": world.version})
    raw = _with_raw(env, '"v": 1,', f'"v": {written},')
    ex = _send(wire, service, world, topics.req(TERMINAL, "catalogue.sync"), raw, env["id"])
    assert check_answer(ex, env, "catalogue.sync", "conforms", f"v={written}") == "ok"


def test_a_5000_digit_integer_is_answered_invalid(wire, service, world):
    env = _req(wire, "catalogue.sync", {"since_version": 0})
    raw = _with_raw(env, '"since_version": 0', '"since_version": ' + "9" * 5000)
    check_answer(_send(wire, service, world, topics.req(TERMINAL, "catalogue.sync"), raw, env["id"]), env,
                 "catalogue.sync", "invalid", "5000-digit integer")


def test_a_lone_surrogate_in_feedback_text_is_answered_invalid(wire, service, world):
    env = _req(wire, "feedback.submit", {"kind": "complain", "target": {"hall": True}, "text": "a\ud800b"})
    assert b"\\ud800" in encode(env)
    check_answer(_send(wire, service, world, topics.req(TERMINAL, "feedback.submit"), encode(env), env["id"]), env,
                 "feedback.submit", "invalid", "lone surrogate")


@pytest.mark.parametrize("date", ["2026-02-30", "2026-04-31", "2025-02-29"])
def test_a_date_that_does_not_exist_is_answered_invalid(date, wire, service, world):
    for op, body in (("slots.list", {"item_code": world.items[0], "date": date}),
                     ("appointments.list", {"citizen_ref": world.refs[0], "date": date})):
        env = _req(wire, op, body)
        check_answer(_send(wire, service, world, topics.req(TERMINAL, op), encode(env), env["id"]), env, op, "invalid",
                     date)


@pytest.mark.parametrize("id_number", ["410122198105122462\n", "٤١٠١٢٢١٩٨١٠٥١٢٢٤٦٢", "４１０１２２１９８１０５１２２４６２"])
def test_an_id_number_with_a_newline_or_other_digits_is_answered_invalid(id_number, wire, service, world):
    env = _req(wire, "citizen.lookup", {"id_number": id_number, "name": "王秀兰"})
    check_answer(_send(wire, service, world, topics.req(TERMINAL, "citizen.lookup"), encode(env), env["id"]), env,
                 "citizen.lookup", "invalid", repr(id_number))


@pytest.mark.parametrize("what,fields", [("op of another topic", {"op": "ticket.walkin"}),
                                         ("durable without idem", {"idem": None}),
                                         ("type evt on a req topic", {"type": "evt"}),
                                         ("idem not a reference", {"idem": "x y"})])
def test_an_envelope_that_does_not_match_its_topic_is_answered_invalid(what, fields, wire, service, world):
    env = _req(wire, "checkin", CHECKIN, **fields)
    check_answer(_send(wire, service, world, topics.req(TERMINAL, "checkin"), encode(env), env["id"]), env, "checkin",
                 "invalid", what)


def test_a_nul_character_in_a_string_is_answered_invalid(wire, service, world):
    env = _req(wire, "feedback.submit", {"kind": "complain", "target": {"hall": True}, "text": "a\x00b"})
    assert b"\\u0000" in encode(env)
    check_answer(_send(wire, service, world, topics.req(TERMINAL, "feedback.submit"), encode(env), env["id"]), env,
                 "feedback.submit", "invalid", "NUL in text")


def test_an_envelope_naming_another_terminal_with_a_broken_envelope_is_answered_invalid(wire, service, world):
    # forbidden only once the envelope passes the envelope schema (the document's order)
    env = _req(wire, "checkin", CHECKIN, terminal=OTHER, ts="yesterday")
    check_answer(_send(wire, service, world, topics.req(TERMINAL, "checkin"), encode(env), env["id"]), env, "checkin",
                 "invalid", "another terminal and a broken ts")


def test_an_envelope_naming_another_terminal_is_forbidden_before_its_type_and_body_are_checked(wire, service, world):
    env = _req(wire, "checkin", {"appointment_id": 5}, terminal=OTHER, type="evt", idem=None)
    check_answer(_send(wire, service, world, topics.req(TERMINAL, "checkin"), encode(env), env["id"]), env, "checkin",
                 "forbidden", "another terminal, a wrong type, a broken body")


def test_another_terminal_is_forbidden_before_an_unreadable_number_or_string_in_the_body(wire, service, world):
    env = _req(wire, "feedback.submit", {"kind": "complain", "target": {"hall": True}, "text": "a\ud800b"},
               terminal=OTHER)
    check_answer(_send(wire, service, world, topics.req(TERMINAL, "feedback.submit"), encode(env), env["id"]), env,
                 "feedback.submit", "forbidden", "another terminal and a lone surrogate")
    env = _req(wire, "catalogue.sync", {"since_version": 0}, terminal=OTHER)
    raw = _with_raw(env, '"since_version": 0', '"since_version": ' + "9" * 5000)
    check_answer(_send(wire, service, world, topics.req(TERMINAL, "catalogue.sync"), raw, env["id"]), env,
                 "catalogue.sync", "forbidden", "another terminal and a 5000-digit integer")


def _answer_code(ex: Exchange, env: dict, op: str, label: str) -> str:
    return check_answer(ex, env, op, "conforms", label)


def test_an_appointment_is_acted_on_only_with_its_citizens_proof(wire, service, world):
    appt = world.cancel_appointments[-1]
    owner = world.appointment_owner[appt]
    another = next(r for r in world.refs if r != owner)
    for op in ("checkin", "appointment.cancel"):
        for proof in ({}, {"citizen_ref": another}):
            # Another citizen's appointment is answered exactly as an id that does not exist (the
            # document's not_found): the answer never tells whether an appointment id exists.
            errors = []
            for appointment_id in (appt, "AP" + "0" * 16):
                env = _req(wire, op, {"appointment_id": appointment_id, **proof})
                ex = _send(wire, service, world, topics.req(TERMINAL, op), encode(env), env["id"])
                assert _answer_code(ex, env, op, f"{op} {appointment_id} {proof}") == "not_found", ex.answers
                errors.append(ex.answers[0][1]["body"]["error"])
            assert errors[0] == errors[1], (op, proof, errors)
    booked, code = min(world.checkin_codes.items())
    env = _req(wire, "checkin", {"appointment_id": booked, "checkin_code": code + "\n"})
    check_answer(_send(wire, service, world, topics.req(TERMINAL, "checkin"), encode(env), env["id"]), env, "checkin",
                 "invalid", "a check-in code with a trailing newline")
    env = _req(wire, "checkin", {"appointment_id": booked, "checkin_code": code})
    ex = _send(wire, service, world, topics.req(TERMINAL, "checkin"), encode(env), env["id"])
    assert _answer_code(ex, env, "checkin", "the slip's code") == "too_early"  # the proof holds; tomorrow's slot


def test_an_operation_the_document_does_not_list_is_answered_invalid(wire, service, world):
    env = _req(wire, "nope.op", {})
    ex = _send(wire, service, world, topics.req(TERMINAL, "nope.op"), encode(env), env["id"])
    check_answer(ex, env, "nope.op", "invalid", "unknown operation")


def _silent(ex: Exchange, label: str, counted: bool = True) -> None:
    assert ex.answers == [], f"{label}: the document says no answer, the service answered {ex.answers}"
    if counted:
        assert ex.dropped_after > ex.dropped_before, f"{label}: dropped but not counted"


@pytest.mark.parametrize("what,payload", [
    ("arrays nested 5,000 deep", b'{"id":"deep1","body":' + b"[" * 5000 + b"]" * 5000 + b"}"),
    ("arrays nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000),
    ("nested 33 levels", b'{"id":"deep2","type":"req","op":"checkin","v":1,"ts":"2026-03-18T02:00:00Z",'
                         b'"terminal":"ZM-CONF01","idem":"k","body":{"x":' + b"[" * 31 + b"]" * 31 + b"}}"),
    ("Infinity", (b'{"id":"inf1","type":"req","op":"checkin","v":1,"ts":"2026-03-18T02:00:00Z",'
                  b'"terminal":"ZM-CONF01","idem":"k","body":{"appointment_id":"X","n":-Infinity}}')),
    ("not JSON", b"checkin please"), ("not UTF-8", b'{"id":"\xff"}'), ("a JSON array", b"[1,2]"),
    ("NaN", b'{"id":"nan1","v":NaN}'), ("no id", b'{"type":"req","op":"checkin","v":1}'),
    ("an id that is no reference", b'{"id":"a b","type":"req","op":"checkin","v":1}'),
    ("an empty payload", b""),
])
def test_what_cannot_be_correlated_is_dropped_and_counted(what, payload, wire, service, world):
    _silent(_send(wire, service, world, topics.req(TERMINAL, "checkin"), payload, dropped=True), what)


def test_nesting_at_the_limit_is_read_and_answered(wire, service, world):
    env = _req(wire, "checkin", CHECKIN)
    # 32 levels: the envelope, the body and 30 arrays (a scalar inside the innermost)
    raw = _with_raw(env, '"appointment_id": "AP-NONE"', '"appointment_id": "AP-NONE", "x": ' + "[" * 30 + "1" + "]" * 30)
    check_answer(_send(wire, service, world, topics.req(TERMINAL, "checkin"), raw, env["id"]), env, "checkin",
                 "invalid", "32 levels (the body's schema has no member x)")


def test_a_message_over_the_size_limit_gets_no_answer(central, wire, service, world):
    env = _req(wire, "feedback.submit", {"kind": "complain", "target": {"hall": True}, "text": "x" * 2000})
    raw = _with_raw(env, '"text": "', '"pad": "' + "p" * envelope.MAX_BYTES + '", "text": "')
    # Counted by the central service, or refused by a broker with a size limit: never answered.
    outcome: list[str] = []
    ex = exchange(wire, service, topics.req(TERMINAL, "feedback.submit"), raw, world.version,
                  publish=lambda t, p: outcome.append(publish_alone(central[0].url, t, p)))
    _silent(ex, "oversize", counted=False)
    if outcome[0] == "acked":  # a broker without a size limit passed it on: the central service counts it
        assert ex.dropped_after > ex.dropped_before, "oversize: dropped but not counted"


def test_a_request_topic_with_no_valid_terminal_is_dropped_and_counted(wire, service, world):
    env = _req(wire, "checkin", CHECKIN, terminal="ab")
    _silent(_send(wire, service, world, "kiosk/v1/ab/req/checkin", encode(env), dropped=True), "topic terminal 'ab'")


# --- events ---------------------------------------------------------------------------------------

def _event(wire, name: str = "staff.call", **fields) -> dict:
    env = {"id": wire.new_id(), "type": "evt", "op": name, "v": 1, "ts": envelope.now_iso(), "terminal": TERMINAL,
           "corr": None, "idem": "e" + wire.new_id(), "body": {"data": {"screen": "home"}, "at": envelope.now_iso()}}
    env.update(fields)
    return env


def _ack(ex: Exchange, env: dict, want: str) -> None:
    assert len(ex.answers) == 1, ex.answers
    topic, res = ex.answers[0]
    assert topic == topics.res(TERMINAL)
    assert not response_errors(res, env["op"]), response_errors(res, env["op"])
    assert (res["corr"], res["terminal"], res["op"]) == (env["id"], TERMINAL, env["op"])
    outcome = "ok" if res["body"]["ok"] else res["body"]["error"]["code"]
    assert outcome == want, res


@pytest.mark.parametrize("what,fields,want", [
    ("a valid event", {}, "ok"),
    ("data that is not an object", {"body": {"data": [1], "at": "2026-03-18T02:00:00Z"}}, "invalid"),
    ("data nested too deep", {"body": {"data": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}},
                                       "at": "2026-03-18T02:00:00Z"}}, "invalid"),
    ("no idem", {"idem": None}, "invalid"),
    ("v true", {"v": True}, "invalid"),
    ("another terminal", {"terminal": OTHER}, "forbidden"),
])
def test_events_are_acknowledged_as_the_document_says(what, fields, want, wire, service, world):
    env = _event(wire, **fields)
    _ack(_send(wire, service, world, topics.evt(TERMINAL), encode(env), env["id"]), env, want)


def test_an_event_whose_op_is_no_name_is_dropped_and_counted(wire, service, world):
    env = _event(wire, name="Bad Op")
    _silent(_send(wire, service, world, topics.evt(TERMINAL), encode(env), dropped=True), "event op 'Bad Op'")


# --- state and telemetry: never answered, and nothing stored for another terminal ---------------

def _stored(service) -> dict[str, dict]:
    store = open_store(service.db_url)  # a reader of its own beside the service's writer (WAL)
    try:
        return {t["terminal"]: t for t in store.terminals()}
    finally:
        store.close()


def _state_env(wire, terminal: str = TERMINAL, **fields) -> dict:
    env = {"id": wire.new_id(), "type": "state", "op": "state", "v": 1, "ts": envelope.now_iso(),
           "terminal": terminal, "corr": None, "idem": None,
           "body": {"online": True, "version": "1.0", "profile": "kiosk", "regions": ["410100"],
                    "started_at": "2026-03-18T02:00:00Z"}}
    env.update(fields)
    return env


def test_state_and_telemetry_naming_another_terminal_store_nothing_for_it(wire, service, world):
    birth = _state_env(wire)
    _silent(_send(wire, service, world, topics.state(TERMINAL), encode(birth)), "a valid birth", counted=False)
    mine = _stored(service)[TERMINAL]
    poison = [
        (topics.state(TERMINAL), _state_env(wire, terminal=OTHER, body={"online": False})),
        (topics.telemetry(TERMINAL), {"id": wire.new_id(), "type": "telemetry", "op": "telemetry", "v": 1,
                                      "ts": envelope.now_iso(), "terminal": OTHER, "corr": None, "idem": None,
                                      "body": {"uptime_s": 1, "devices": {}, "outbox_depth": 99999,
                                               "online_since": None}}),
        (topics.state(TERMINAL), _state_env(wire, v=True, body={"online": False})),
        (topics.state(TERMINAL), _state_env(wire, body={"online": "yes"})),
        (topics.telemetry(TERMINAL), {"id": wire.new_id(), "type": "telemetry", "op": "telemetry", "v": 1,
                                      "ts": envelope.now_iso(), "terminal": TERMINAL, "corr": None, "idem": None,
                                      "body": {"uptime_s": -5, "devices": [], "outbox_depth": 10 ** 12}}),
    ]
    for topic, env in poison:
        _silent(_send(wire, service, world, topic, encode(env), dropped=True), f"{topic}: {json.dumps(env)[:120]}")
    stored = _stored(service)
    assert OTHER not in stored, f"stored for a terminal an envelope named: {stored.get(OTHER)}"
    assert stored[TERMINAL]["state"] == mine["state"] and stored[TERMINAL]["telemetry"] == mine["telemetry"]
