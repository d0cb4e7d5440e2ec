"""hall_central.intake (pure): every message judged alone; what is refused, how, and on whose topic."""
from __future__ import annotations

import gc
import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall_central import intake
from hall_demo.bench.poison import POISONS, depth_bombs
from kiosk.network import envelope, schemas, topics

EVIL, GOOD = "ZM-EVIL01", "ZM-GOOD01"


def _answer(r: intake.Refused) -> tuple[str, dict]:
    assert r.reply is not None, "no reply path"
    topic, payload = r.reply
    return topic, json.loads(payload)


@pytest.mark.parametrize("p", POISONS, ids=lambda p: p.name)
def test_every_poison_is_refused_on_the_senders_own_topic_or_dropped(p):
    r = intake.judge(topics.req(EVIL, p.op), p.make("m1", EVIL, GOOD))
    assert isinstance(r, intake.Refused)
    if p.expect == "dropped":
        assert r.reply is None and r.reason == "too_deep"
        return
    topic, msg = _answer(r)
    assert topic == topics.res(EVIL) and msg["terminal"] == EVIL and msg["corr"] == "m1" and msg["idem"] == "km1"
    assert msg["body"]["error"]["code"] == p.expect and r.reason == p.expect


def test_a_valid_request_is_accepted_under_the_topics_terminal():
    env = envelope.request(GOOD, "checkin", {"appointment_id": "AP1", "citizen_ref": "C1"}, idem="k1")
    m = intake.judge(topics.req(GOOD, "checkin"), env.to_bytes())
    assert isinstance(m, intake.Accepted) and (m.kind, m.terminal) == ("req", GOOD)
    assert vars(m.env) == vars(env)


@pytest.mark.parametrize("payload, reason", [
    (b"", "not_json"), (b"\xff\xfe", "not_json"), (b"{", "not_json"), (b"[1]", "not_envelope"),
    (b"x" * (envelope.MAX_BYTES + 1), "too_large")])
def test_what_cannot_be_read_is_dropped_and_counted_by_reason(payload, reason):
    r = intake.judge(topics.req(EVIL, "checkin"), payload)
    assert isinstance(r, intake.Refused) and r.reason == reason and r.reply is None


def _raw(body: str, **over) -> bytes:
    env = {"id": "m2", "type": "req", "op": "feedback.submit", "v": 1, "ts": "2026-12-03T06:00:00.000Z",
           "terminal": EVIL, "idem": "k2"}
    env.update(over)
    return (json.dumps(env)[:-1] + ',"body":' + body + "}").encode()


@pytest.mark.parametrize("body, why", [
    ('{"kind":"consult","target":{"hall":true},"text":"a\\u0000b"}', "NUL"),
    ('{"kind":"consult","target":{"hall":true},"text":"\\udfff"}', "surrogate"),
])
def test_what_json_lets_through_but_nothing_can_store_is_invalid(body, why):
    r = intake.judge(topics.req(EVIL, "feedback.submit"), _raw(body))
    topic, msg = _answer(r)
    assert topic == topics.res(EVIL) and msg["body"]["error"]["code"] == "invalid" and why in r.detail


@pytest.mark.parametrize("body, why, reason", [
    ('{"kind":"consult","target":{"hall":true},"rating":NaN}', "NaN is not JSON", "not_json"),
    ('{"kind":"consult","target":{"hall":true},"x":' + "[" * 40 + "]" * 40 + "}", "nested deeper", "too_deep"),
    ('{"kind":"consult","target":{"hall":true},"x":' + "[" * 31 + "]" * 31 + "}", "nested deeper", "too_deep"),
])
def test_what_the_contract_does_not_read_is_dropped_even_with_a_readable_id(body, why, reason):
    # The contract (docs/asyncapi.yaml, "Answers and silences"): NaN is not JSON and more than
    # MAX_DEPTH levels are beyond its limits; such a payload is dropped whatever id Python finds in it.
    r = intake.judge(topics.req(EVIL, "feedback.submit"), _raw(body))
    assert isinstance(r, intake.Refused) and r.reply is None and r.reason == reason and why in r.detail


def test_the_depth_limit_counts_containers_as_the_contract_does():
    # 32 levels (the envelope, body, 30 arrays) with a scalar inside: within the limit, judged by the schemas.
    deepest = '{"kind":"consult","target":{"hall":true},"x":' + "[" * 30 + "1" + "]" * 30 + "}"
    r = intake.judge(topics.req(EVIL, "feedback.submit"), _raw(deepest))
    _, msg = _answer(r)
    assert msg["body"]["error"]["code"] == "invalid" and "additionalProperties" in r.detail  # the schema: no member x
    with pytest.raises(envelope.EnvelopeError):
        envelope.Envelope.from_bytes(_raw(deepest[:-1].replace("1", "[1]", 1) + "}"))  # the terminal's reader agrees at 33
    envelope.Envelope.from_bytes(_raw(deepest))


def test_a_genuine_surrogate_pair_and_an_escaped_backslash_pass():
    body = '{"kind":"consult","target":{"hall":true},"text":"\\ud83d\\ude00 \\\\ud800"}'
    m = intake.judge(topics.req(EVIL, "feedback.submit"), _raw(body))
    assert isinstance(m, intake.Accepted) and m.env.body["text"] == "\U0001F600 \\ud800"


def test_no_reply_path_without_a_usable_id_nor_for_state_and_telemetry():
    r = intake.judge(topics.req(EVIL, "checkin"), _raw('{"appointment_id":"X"}', id="no spaces allowed", op="checkin"))
    assert r.reason == "invalid" and r.reply is None
    state = envelope.Envelope("state", "state", GOOD, {"online": False}).to_bytes()
    r = intake.judge(topics.state(EVIL), state)
    assert r.reason == "forbidden" and r.reply is None
    assert intake.judge(topics.state(EVIL), b"") is None  # a cleared retained state: nothing to do
    assert intake.judge("kiosk/v1/+/req/checkin", state).reason == "bad_topic"
    assert intake.judge(topics.res(EVIL), state).reason == "not_inbound"


def test_the_service_encodes_responses_as_envelope_to_bytes_does():
    req = envelope.request("ZM-0001", "checkin", {"appointment_id": "AP-1"}, idem="k1")
    for res in (envelope.response(req, {"queue_no": "A001", "people_ahead": 3, "item_name": "老年优待证办理"}),
                envelope.response(req, error={"code": "too_early", "message": "开始前 30 分钟可签到"})):
        assert intake.encode(res) == res.to_bytes()


def test_a_refusal_is_the_envelope_the_contract_describes():
    r = intake.refusal(EVIL, ("checkin", "m1", "k1"), "invalid", 'a "quoted" 说明', "invalid")
    topic, msg = _answer(r)
    env = envelope.Envelope("res", "checkin", EVIL, {"ok": False, "error": {"code": "invalid", "message": 'a "quoted" 说明'}},
                            id=msg["id"], ts=msg["ts"], corr="m1", idem="k1")
    assert r.reply[1] == intake.encode(env) and topic == topics.res(EVIL)
    schemas.validate_message(topic, msg)
    no_idem = intake.refusal(EVIL, ("checkin", "m1", None), "forbidden", "x", "forbidden")
    assert json.loads(no_idem.reply[1])["idem"] is None


def _python_lines_to_judge(n_arrays: int) -> tuple[int, intake.Refused | intake.Accepted | None]:
    """How many Python lines judging a slots.list request with ``n_arrays`` empty arrays runs."""
    body = '{"item_code":"GJJ001","date":"2026-12-04","x":[' + ",".join(["[]"] * n_arrays) + "]}"
    payload = ('{"id":"m1","type":"req","op":"slots.list","v":1,"ts":"2026-12-03T06:00:00.000Z",'
               f'"terminal":"{EVIL}","body":{body}}}').encode()
    assert len(payload) < envelope.MAX_BYTES
    lines = 0

    def count(frame, event, arg):
        nonlocal lines
        if event == "line":
            lines += 1
        return count

    def trace(frame, event, arg):
        # Only intake's own lines: in a full suite the 80,000 new lists start a garbage collection
        # that runs earlier tests' finalizers inside this call, and their lines are not judging.
        return count if frame.f_code.co_filename == intake.__file__ else None
    gc.collect()
    gc.disable()
    sys.settrace(trace)
    try:
        verdict = intake.judge(topics.req(EVIL, "slots.list"), payload)
    finally:
        sys.settrace(None)
        gc.enable()
    return lines, verdict


def test_a_wide_message_costs_about_its_parse_not_a_walk_of_every_node():
    """80,000 empty arrays (240 KB, within every limit) cost the service's one writer 3-4x their
    parse when the depth check walked every node in Python (40-170 ms, eight per batch: another
    terminal's request waited 5 s behind a flood of them on the real broker). Counted, not timed:
    the Python lines of intake judging runs must not grow with the number of nodes."""
    _python_lines_to_judge(10)  # the first judgement compiles patterns and validators: not counted
    small, small_verdict = _python_lines_to_judge(1_000)
    wide, wide_verdict = _python_lines_to_judge(80_000)
    for verdict in (small_verdict, wide_verdict):
        assert isinstance(verdict, intake.Refused) and verdict.reason == "invalid"  # answered, as before
    assert wide <= small + 50, f"{wide} Python lines for 80,000 arrays, {small} for 1,000"


@pytest.mark.parametrize("depth", [31, 32, 33, 40])
def test_the_depth_limit_ignores_brackets_inside_strings(depth):
    nest = "[" * (depth - 2) + '"]]]{{{\\"[[["' + "]" * (depth - 2)  # the envelope is 1, body 2
    payload = ('{"id":"m1","type":"req","op":"slots.list","v":1,"ts":"2026-12-03T06:00:00.000Z",'
               f'"terminal":"{EVIL}","body":{{"x":{nest}}}}}').encode()
    assert (intake.judge(topics.req(EVIL, "slots.list"), payload).reason == "too_deep") == (depth > 32)


class _OverBudget(BaseException):
    """Raised by the line counter past its budget: the old door ran millions of lines (5 s of CPU)."""


def _python_lines_anywhere(topic: str, payload: bytes, budget: int) -> tuple[int, object]:
    """Python lines judging runs in EVERY module (intake, schemas, jsonschema...); past ``budget``
    judging stops (the verdict is None) and the count is ``budget + 1``.

    Why every module: the old door was cheap in intake's own lines and spent its 5 s in jsonschema,
    wording a refusal. gc is off during the call, so no finalizer of another test counts here."""
    lines = 0

    def count(frame, event, arg):
        nonlocal lines
        if event == "line":
            lines += 1
            if lines > budget:
                raise _OverBudget
        return count

    gc.collect()
    gc.disable()
    sys.settrace(lambda frame, event, arg: count)
    try:
        verdict = intake.judge(topic, payload)
    except _OverBudget:
        verdict = None
    finally:
        sys.settrace(None)
        gc.enable()
    return lines, verdict


def _bomb(kind: str, n: int) -> tuple[str, bytes]:
    """A message of ``kind`` holding ``n`` (a multiple of 100) empty objects and one bad field, in
    JSON only (240 KB at 80,000: within every limit of size and depth)."""
    row = "[" + ",".join(["{}"] * 100) + "]"
    head = f'"id":"m1","v":1,"ts":"2026-12-03T06:00:00.000Z","terminal":"{EVIL}","idem":"k1"'
    if kind == "evt":  # free-form data (100 members of 100 items at most) beside an `at` that is not a time
        rows = n // 100
        data = "{" + ",".join(f'"k{i}":[' + ",".join([row] * min(100, rows - i * 100)) + "]"
                              for i in range((rows + 99) // 100)) + "}"
        return topics.evt(EVIL), f'{{{head},"type":"evt","op":"staff.call","body":{{"data":{data},"at":"bad"}}}}'.encode()
    if kind == "emoji":  # the same, valid, with one escaped surrogate pair: judged for unstorable strings
        topic, payload = _bomb("evt", n)
        return topic, payload.replace(b'"at":"bad"', b'"at":"2026-12-03T06:00:00.000Z","x":"\\ud83d\\ude00"')
    if kind == "telemetry":  # never answered: refusing it must cost no more than answering
        topic, payload = _bomb("evt", n)
        health = payload[payload.index(b'"data":') + 7:payload.index(b',"at":"bad"')]
        return topics.telemetry(EVIL), (f'{{{head},"type":"telemetry","op":"telemetry","body":{{"uptime_s":"bad",'
                                        f'"outbox_depth":0,"online_since":null,"devices":{{"printer":').encode() + health + b"}}}"
    assert kind == "req"  # materials are at most 64 and each needs a name: every item is two errors
    materials = ",".join(["{}"] * n)
    return topics.req(EVIL, "application.submit"), (
        f'{{{head},"type":"req","op":"application.submit","body":{{"citizen":{{"id_number":"11010519491231002X",'
        f'"name":"x"}},"item_code":"not a code","materials":[{materials}]}}}}').encode()


@pytest.mark.parametrize("kind", ["evt", "telemetry", "req", "emoji"])
def test_a_bad_field_beside_80000_empty_objects_costs_what_one_beside_100_does(kind):
    """Issue 13: a bad message costs only itself. The door wrote a refusal's text with jsonschema,
    walking every node: 80,000 {} beside one bad field cost it 5 s of CPU (220 ms when valid) and
    another terminal's answers waited 33 s behind eleven of them; telemetry, never answered, cost
    the same. Counted, not timed: the Python lines judging runs, in every module, must not grow
    with the number of nodes."""
    intake.judge(*_bomb(kind, 100))  # the first judgement compiles validators: not counted
    small, small_verdict = _python_lines_anywhere(*_bomb(kind, 100), budget=10_000_000)
    topic, payload = _bomb(kind, 80_000)
    assert len(payload) <= envelope.MAX_BYTES and not intake._too_deep(payload)
    wide, wide_verdict = _python_lines_anywhere(topic, payload, budget=small + 50)
    assert wide <= small + 50, f"over {small + 50} Python lines for 80,000 objects, {small} for 100"
    for verdict in (small_verdict, wide_verdict):
        if kind == "emoji":
            assert isinstance(verdict, intake.Accepted) and verdict.env.body["x"] == "\U0001F600"
            continue
        assert isinstance(verdict, intake.Refused) and verdict.reason == "invalid"
        assert (verdict.reply is None) == (kind == "telemetry")  # answered invalid when there is a reply path
        if verdict.reply:
            assert _answer(verdict)[1]["body"]["error"]["code"] == "invalid"
        assert verdict.detail == small_verdict.detail  # the same refusal, worded the same


def _depth(value: object) -> int:
    """The contract's depth of a parsed value: containers only, the outermost at 1."""
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def _deepest_in_text(text: bytes) -> int:
    """The deepest nesting of a JSON text (or of the head of one) outside its strings, read byte by byte."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            in_string, escaped = (True, False) if escaped else (c != 0x22, c == 0x5C)
        elif c == 0x22:
            in_string = True
        elif c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in b"]}":
            depth -= 1
    return deepest


#: Strings made of what could fool a reader of the bytes: brackets, quotes, backslashes, escapes.
_TRICKY = st.lists(st.sampled_from(['[', ']', '{', '}', '"', '\\', 'a', ' ', '\u00e9', '\u2028', '\x00', '\ud83d\ude00']),
                   max_size=6).map("".join)
_VALUES = st.recursive(st.none() | st.integers() | _TRICKY,
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY, inner, max_size=3),
                       max_leaves=12)


@st.composite
def _deep_values(draw) -> object:
    """A value nested around the limit: a random value inside a chain of 24 to 36 containers."""
    value = draw(_VALUES)
    for is_list, beside in draw(st.lists(st.tuples(st.booleans(), _TRICKY), min_size=24, max_size=36)):
        value = [beside, value] if is_list else {beside: value}
    return {"pad": draw(st.sampled_from(["", "x" * 5000])), "x": value, "y": draw(_VALUES)}


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(_deep_values(), st.sampled_from([{}, {"ensure_ascii": False}, {"indent": 1}, {"separators": (",", ":")}]),
       st.floats(0, 1))
def test_the_depth_check_on_the_bytes_is_exact(value, style, cut):
    """What the door judges on the raw bytes, before parsing, is the contract's depth of the parsed
    value; and the head of a text is judged by how deep it reaches (the check's first step)."""
    text = json.dumps(value, **style).encode("utf-8", "surrogatepass")
    assert intake._too_deep(text) == (_depth(value) > envelope.MAX_DEPTH)
    head = text[:int(cut * len(text))]
    assert intake._deepest_over(head) == (_deepest_in_text(head) > envelope.MAX_DEPTH)


def _bombs() -> dict[str, bytes]:
    """Payloads deeper than the limit that cost the door most: valid JSON within MAX_BYTES."""
    return depth_bombs(EVIL, envelope.MAX_BYTES - 2000, intake.HEAD_BYTES)


@pytest.mark.parametrize("name", list(_bombs()))
def test_a_payload_beyond_the_depth_limit_is_dropped_without_being_parsed(name, monkeypatch):
    """Issue 13: a bad message costs only itself, and little. Parsing one of these cost the door
    ~50 ms (4,000 chains 31 deep) before its depth was judged, and the issue's poison of arrays
    5,000 and 100,000 deep its most (the parser's RecursionError): the depth is now judged first."""
    payloads = [_bombs()[name]] + [p.make("m1", EVIL, GOOD) for p in POISONS if p.name.startswith("nested_")]

    def parse(text: str) -> tuple[object, str]:
        raise AssertionError("parsed")
    monkeypatch.setattr(intake, "_loads", parse)
    for payload in payloads:
        assert len(payload) <= envelope.MAX_BYTES
        r = intake.judge(topics.req(EVIL, "checkin"), payload)
        assert isinstance(r, intake.Refused) and r.reason == "too_deep" and r.reply is None


@pytest.mark.parametrize("where", ["envelope", "event"])
@pytest.mark.parametrize("number, why", [
    ("1234567890123456789012345", "an integer of 25 digits"), ("-123456789012345678901", "an integer of 21 digits"),
    ("1e400", "a number beyond the double range"), ("-1.8e308", "a number beyond the double range"),
    ("1" + "0" * 400 + ".5", "a number beyond the double range")])
def test_a_number_the_contract_refuses_is_invalid_in_a_member_it_does_not_define(where, number, why):
    # The envelope and an event's body take members the contract does not define (a later 1.x may
    # add them); the contract's number rule holds there too (a cold attacker's were taken, ok).
    if where == "envelope":
        topic, payload = topics.req(EVIL, "catalogue.sync"), _raw('{"since_version":0}', op="catalogue.sync")
        payload = payload.replace(b'"idem": "k2"', b'"idem": "k2", "x": ' + number.encode())
    else:
        topic = topics.evt(EVIL)
        payload = ('{"id":"m2","type":"evt","op":"staff.call","v":1,"ts":"2026-12-03T06:00:00.000Z","terminal":"'
                   + EVIL + '","idem":"k2","body":{"data":{},"at":"2026-12-03T06:00:00.000Z","x":' + number + "}}").encode()
    r = intake.judge(topic, payload)
    assert isinstance(r, intake.Refused), r
    topic, msg = _answer(r)
    assert topic == topics.res(EVIL) and msg["corr"] == "m2"
    assert msg["body"]["error"] == {"code": "invalid", "message": why}


@pytest.mark.parametrize("number", ["12345678901234567890", "-12345678901234567890", "1.7e308", "1e-400",
                                    "123456789012345678901.5", '"123456789012345678901234 e999"'])
def test_a_number_within_the_contracts_range_is_read(number):
    payload = _raw('{"since_version":0}', op="catalogue.sync").replace(b'"idem": "k2"', b'"idem": "k2", "x": '
                                                                      + number.encode())
    assert isinstance(intake.judge(topics.req(EVIL, "catalogue.sync"), payload), intake.Accepted)


def test_the_big_number_guard_reads_only_what_may_hold_one():
    # The guard runs on every payload: photo chunks (Base64, digits everywhere) must stay cheap.
    assert not intake._may_hold_big_number(b'{"v":1,"x":12345678901234567890,"y":1e99,"z":1e-400,"w":"e-123"}')
    for text in (b"123456789012345678901", b"1e308", b"1E+400", b"1e0400", b'"9e999"'):
        assert intake._may_hold_big_number(b'{"x":' + text + b"}"), text
