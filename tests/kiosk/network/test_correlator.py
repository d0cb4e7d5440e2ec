"""Request correlation alone (no broker): callers matched by envelope id, typed outcomes, answers
that cannot be read failing the request they name."""
from __future__ import annotations

import threading

import pytest

from kiosk.network import envelope as E
from kiosk.network import topics
from kiosk.network.correlator import Correlator, Pending, corr_of, outcome
from kiosk.network.errors import InvalidMessage, NotDelivered, Rejected, Timeout

from .conftest import TERMINAL, sample_result

RES = topics.res(TERMINAL)


def _req(op: str = "slots.list", body: dict | None = None) -> E.Envelope:
    return E.Envelope("req", op, TERMINAL, body or {"item_code": "I-001", "date": "2026-11-25"})


def test_call_returns_the_answer_matched_by_envelope_id():
    c, req = Correlator(), _req()
    answer = E.response(req, sample_result(req.op, req.body))

    def send() -> None:  # the answer arrives on another thread, as from the link's worker
        threading.Thread(target=lambda: c.resolve(*((req.id,) + outcome(answer)))).start()
    assert c.call(req, send, 10)["slots"][0]["slot_id"] == "S1"
    assert c.waiting == {}


def test_call_times_out_and_forgets_the_caller():
    c, req = Correlator(), _req()
    with pytest.raises(Timeout, match="slots.list: no answer within 0 s"):
        c.call(req, lambda: None, 0)
    assert c.waiting == {} and c.resolve(req.id, {}) is False  # a late answer matches nothing


def test_a_send_that_raises_leaves_nobody_waiting():
    c = Correlator()

    def send() -> None:
        raise OSError("socket gone")
    with pytest.raises(OSError):
        c.call(_req(), send, 10)
    assert c.waiting == {}


def test_outcome_is_the_result_or_a_rejection_with_the_contract_code():
    req = _req("checkin", {"appointment_id": "AP-1"})
    assert outcome(E.response(req, {"queue_no": "A1"})) == ({"queue_no": "A1"}, None)
    result, error = outcome(E.response(req, error={"code": "too_early", "message": "opens 08:30"}))
    assert result is None and isinstance(error, Rejected)
    assert error.error_code == "too_early" and error.op == "checkin" and "come back" in error.action


def test_pending_resolved_and_failed():
    c = Correlator()
    p = Pending("id-1", "k-1", "checkin")
    c.expect(p)
    assert c.waiting == {"id-1": ("checkin", p)} and not p.done
    assert c.fail("id-1", lambda op: NotDelivered(f"{op}: PUBACK Not authorized (0x87)")) is True
    with pytest.raises(NotDelivered, match="checkin: PUBACK"):
        p.wait(0)
    assert c.fail("id-1", lambda op: NotDelivered(op)) is False  # nobody waits any more
    q = Pending("id-2", "k-2", "checkin")
    with pytest.raises(Timeout, match="kept in the outbox"):
        q.wait(0)


def test_read_checks_the_contract():
    c, req = Correlator(), _req()
    good = E.response(req, sample_result(req.op, req.body))
    assert c.read(RES, good.to_bytes()).corr == req.id
    with pytest.raises(InvalidMessage):
        c.read(RES, E.response(req, {"slots": [{"slot_id": "S1"}]}).to_bytes())  # result missing fields
    with pytest.raises(E.EnvelopeError):
        c.read(RES, b"not json")


def test_an_unreadable_answer_fails_the_request_it_names_even_garbled(caplog):
    c = Correlator()
    req = _req()
    p = Pending(req.id, "", req.op)
    c.expect(p)
    raw = E.response(req, sample_result(req.op, req.body)).to_bytes()
    damaged = raw.replace(b'"ok":true', b'"ok":tr\xff\x00')
    assert corr_of(damaged) == req.id  # recovered from bytes that are not JSON any more
    corr, err = c.unreadable(RES, damaged, E.EnvelopeError("not JSON"))
    assert corr == req.id and isinstance(err, InvalidMessage)
    with pytest.raises(InvalidMessage):
        p.wait(0)
    assert any("dropped message on" in r.getMessage() for r in caplog.records)
    assert c.unreadable(RES, b"\xff garbage", E.EnvelopeError("x"))[0] is None  # names nothing


def test_messages_naming_no_request_are_one_warning_a_minute(caplog, monkeypatch):
    """A cold try: a central sending garbage wrote a warning per message (43 in 10 s)."""
    import logging

    c = Correlator()
    with caplog.at_level(logging.DEBUG, logger="kiosk.network.gateway"):
        for _ in range(50):
            assert c.unreadable(RES, b"\xff garbage", E.EnvelopeError("not UTF-8"))[0] is None
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        monkeypatch.setattr(c._nameless, "every_s", 0.0)
        c.unreadable(RES, b"\xff garbage", E.EnvelopeError("not UTF-8"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "49 more such messages dropped" in warnings[1]
    req = _req()  # one naming a request is always said: it fails that request
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="kiosk.network.gateway"):
        for _ in range(3):
            c.unreadable(RES, b'{"corr":"' + req.id.encode() + b'", x', E.EnvelopeError("not JSON"))
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 3
