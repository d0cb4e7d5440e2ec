"""The contract's schemas: samples of every operation validate; bad ones raise InvalidMessage."""
from __future__ import annotations

from typing import Any

import pytest

from kiosk.network import envelope as E
from kiosk.network import schemas
from kiosk.network.errors import InvalidMessage, Rejected, WrongTerminal

from .conftest import TERMINAL, sample_result

REQUESTS: dict[str, dict[str, Any]] = {
    "catalogue.sync": {"since_version": 0},
    "citizen.lookup": {"id_number": "410122199001011234", "name": "张三"},
    "appointments.list": {"citizen_ref": "CR-1", "date": "2026-11-25"},
    "slots.list": {"item_code": "I-001", "date": "2026-11-25"},
    "appointment.book": {"citizen_ref": "CR-1", "item_code": "I-001", "slot_id": "S1"},
    "appointment.cancel": {"appointment_id": "AP-1"},
    "checkin": {"appointment_id": "AP-1"},
    "ticket.walkin": {"line": "A"},
    "applications.list": {"citizen_ref": "CR-1"},
    "application.get": {"application_no": "SQ-1"},
    "feedback.submit": {"kind": "complain", "target": {"application_no": "SQ-1"}, "rating": 1,
                        "reasons": ["等待太久"], "text": "…", "callback_phone": "13812345678"},
    "upload.chunk": {"upload_id": "M1-p0", "index": 0, "total": 2, "sha256": "ab" * 32, "data_b64": "AAEC"},
    "application.submit": {"citizen": {"id_number": "410122199001011234", "name": "张三"}, "item_code": "I-001",
                           "materials": [{"name": "身份证", "provided": True, "upload_id": "M1-p0"}],
                           "consent": {"given": True, "method": "tap", "at": "2026-11-25T02:00:00Z"},
                           "staff": {"staff_id": "S001"}},
}
# An operation added later brings its samples in its own file (the ``examples`` of its request and
# result in ops/<op>.json); the samples above are the older operations'.
REQUESTS |= {op: schemas.schema_files()[f"{op}.request.json"]["examples"][0] for op in schemas.operations()
             if op not in REQUESTS and schemas.schema_files()[f"{op}.request.json"].get("examples")}


def test_every_operation_has_samples():
    missing = sorted(set(schemas.operations()) - set(REQUESTS))
    assert not missing, f"no sample request of {missing}: give its request and result 'examples' in ops/<op>.json"


@pytest.mark.parametrize("op", sorted(REQUESTS))
def test_request_and_result_samples_validate(op):
    schemas.validate_request(op, REQUESTS[op])
    schemas.validate_result(op, sample_result(op, REQUESTS[op]))
    req = E.request(TERMINAL, op, REQUESTS[op], idem="k1" if schemas.is_durable(op) else None)
    schemas.validate_message(f"kiosk/v1/{TERMINAL}/req/{op}", req.to_dict())
    schemas.validate_message(f"kiosk/v1/{TERMINAL}/res", E.response(req, sample_result(op, REQUESTS[op])).to_dict())
    for code in schemas.error_codes(op):
        err = E.response(req, error={"code": code, "message": "?"})
        schemas.validate_message(f"kiosk/v1/{TERMINAL}/res", err.to_dict())


@pytest.mark.parametrize("op,body", [
    ("catalogue.sync", {"since_version": -1}),
    ("checkin", {"appointment_id": "AP-1", "extra": 1}),
    ("feedback.submit", {"kind": "rate", "target": {"hall": True}, "rating": 6}),
    ("feedback.submit", {"kind": "rate", "target": {}}),
    ("slots.list", {"item_code": "I-1", "date": "2026-13-01"}),
    ("nope.op", {}),
])
def test_bad_requests_raise(op, body):
    with pytest.raises(InvalidMessage):
        schemas.validate_request(op, body)


def test_error_text_never_quotes_the_id_number():
    with pytest.raises(InvalidMessage) as e:
        schemas.validate_request("citizen.lookup", {"id_number": "410122199001011234", "name": ""})
    assert "410122199001011234" not in str(e.value)


def test_message_mismatches_raise():
    req = E.request(TERMINAL, "checkin", {"appointment_id": "AP-1"})  # durable without idem
    with pytest.raises(InvalidMessage):
        schemas.validate_message(f"kiosk/v1/{TERMINAL}/req/checkin", req.to_dict())
    req.idem = "k"
    with pytest.raises(InvalidMessage):  # op differs from the topic's
        schemas.validate_message(f"kiosk/v1/{TERMINAL}/req/ticket.walkin", req.to_dict())
    with pytest.raises(InvalidMessage):  # another terminal's topic
        schemas.validate_message("kiosk/v1/OTHER-1/req/checkin", req.to_dict())
    with pytest.raises(InvalidMessage):
        schemas.validate_message("not/a/topic", req.to_dict())
    bad_env = req.to_dict() | {"v": 2}
    with pytest.raises(InvalidMessage):
        schemas.validate_envelope(bad_env)
    res = E.response(req, {"appointment_id": "AP-1"})  # result misses fields
    with pytest.raises(InvalidMessage):
        schemas.validate_message(f"kiosk/v1/{TERMINAL}/res", res.to_dict())


# --- error codes: every code the central service answers is in the contract, per operation ---

def _meta() -> dict:
    return schemas.schema_files()["operations.json"]


def test_feedback_answers_the_codes_the_central_service_gives():
    # The issue: feedback.submit answered not_finished and forbidden, which the contract did not
    # list, so the gateway took the answer as invalid and resent the request forever.
    req = E.request(TERMINAL, "feedback.submit", REQUESTS["feedback.submit"], idem="k1")
    for code in ("not_finished", "forbidden", "not_found", "invalid", "conflict", "internal"):
        res = E.response(req, error={"code": code, "message": "x"})
        schemas.validate_message(f"kiosk/v1/{TERMINAL}/res", res.to_dict())


@pytest.mark.parametrize("op,code", [("checkin", "not_finished"), ("catalogue.sync", "not_found"),
                                     ("citizen.lookup", "conflict"), ("slots.list", "too_early"),
                                     ("application.get", "no_capacity"), ("checkin", "busy")])
def test_a_code_the_operation_does_not_list_is_invalid(op, code):
    req = E.request(TERMINAL, op, REQUESTS[op], idem="k1" if schemas.is_durable(op) else None)
    res = E.response(req, error={"code": code, "message": "x"})
    with pytest.raises(InvalidMessage):
        schemas.validate_message(f"kiosk/v1/{TERMINAL}/res", res.to_dict())


def test_every_request_may_answer_invalid_forbidden_internal_and_durable_ones_conflict():
    for op, info in schemas.operations().items():
        codes = set(schemas.error_codes(op))
        assert {"invalid", "forbidden", "internal"} <= codes, op
        assert ("conflict" in codes) == (info["durable"] or "conflict" in info["errors"]), op
    assert set(schemas.error_codes("staff.call")) == {"invalid", "forbidden", "internal"}  # an event's ack


def test_the_codes_are_one_list_everywhere():
    meta = _meta()
    used = set(meta["every_request_errors"]) | set(meta["durable_request_errors"]) | set(meta["event_ack_errors"])
    for info in meta["operations"].values():
        used |= set(info["errors"])
    error_def = schemas.schema_files()["common.json"]["$defs"]["error"]
    assert used == set(meta["errors"]) == set(error_def["properties"]["code"]["enum"])
    assert set(meta["errors"]) <= set(Rejected.ACTIONS), "the terminal has no action for a contract code"


def test_an_envelope_naming_another_terminal_is_a_wrong_terminal():
    req = E.request("OTHER-1", "checkin", {"appointment_id": "AP-1"}, idem="k")
    with pytest.raises(WrongTerminal):
        schemas.validate_message(f"kiosk/v1/{TERMINAL}/req/checkin", req.to_dict())
    req.terminal = "+"  # not a terminal id at all: an invalid envelope, not another terminal
    with pytest.raises(InvalidMessage) as e:
        schemas.validate_message(f"kiosk/v1/{TERMINAL}/req/checkin", req.to_dict())
    assert not isinstance(e.value, WrongTerminal)
