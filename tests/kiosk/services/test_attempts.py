"""kiosk.services.attempts on its own (a recording stand-in for the gateway: the real broker and
central service are in test_booking.py / test_tickets.py): which request gets which key."""
from __future__ import annotations

from typing import Any

import pytest

from kiosk.events import EventBus
from kiosk.network.errors import Offline, Rejected, Timeout
from kiosk.services.attempts import Attempts


class Gateway:
    """Answers each submit with the next outcome given (a dict, or an exception to raise)."""

    def __init__(self, *outcomes) -> None:
        self.outcomes: list[Any] = list(outcomes)
        self.keys: list[str | None] = []

    def submit(self, op, body, idem):
        self.keys.append(idem)
        outcome = self.outcomes.pop(0)

        class Pending:
            def wait(self, timeout_s):
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome
        return Pending()


def test_only_a_request_left_without_an_answer_keeps_its_key():
    gw = Gateway(Timeout("x"), Timeout("x"), {"ok": 1}, {"ok": 2})
    a = Attempts()
    body = {"line": "A"}
    for _ in range(2):
        with pytest.raises(Timeout):
            a.submit(gw, "ticket.walkin", body, 1.0)
    assert a.submit(gw, "ticket.walkin", body, 1.0) == {"ok": 1}
    assert a.submit(gw, "ticket.walkin", body, 1.0) == {"ok": 2}
    assert gw.keys[0] == gw.keys[1] == gw.keys[2] != gw.keys[3]
    assert len(a) == 0


@pytest.mark.parametrize("error", [Rejected("conflict", "already booked", "appointment.book"), Offline(), ValueError("x")])
def test_a_definitive_no_or_a_failure_ends_the_attempt(error):
    gw = Gateway(error, {"ok": 1})
    a = Attempts()
    with pytest.raises(type(error)):
        a.submit(gw, "appointment.book", {"slot_id": "S1"}, 1.0, "session-1")
    a.submit(gw, "appointment.book", {"slot_id": "S1"}, 1.0, "session-1")
    assert gw.keys[0] != gw.keys[1]


def test_another_body_session_or_visit_is_another_attempt():
    gw = Gateway(*[Timeout("x")] * 6)
    bus = EventBus()
    a = Attempts(bus)
    calls = [({"slot_id": "S1"}, "s1"), ({"slot_id": "S2"}, "s1"), ({"slot_id": "S1"}, "s2")]
    for body, session in calls:
        with pytest.raises(Timeout):
            a.submit(gw, "appointment.book", body, 1.0, session)
    assert len(set(gw.keys)) == 3 and len(a) == 3
    bus.publish("session.ended", {"session": "s1", "reason": "done"})
    assert len(a) == 0
    with pytest.raises(Timeout):
        a.submit(gw, "appointment.book", {"slot_id": "S1"}, 1.0, "s1")
    assert gw.keys[3] not in gw.keys[:3]
    a.reset()
    with pytest.raises(Timeout):
        a.submit(gw, "appointment.book", {"slot_id": "S1"}, 1.0, "s1")
    assert gw.keys[4] != gw.keys[3]


def test_an_attempt_left_alone_longer_than_its_age_is_over():
    now = [0.0]
    gw = Gateway(Timeout("x"), Timeout("x"), Timeout("x"))
    a = Attempts(max_age_s=120, monotonic=lambda: now[0])
    for step in (0, 100, 121):
        now[0] += step
        with pytest.raises(Timeout):
            a.submit(gw, "ticket.walkin", {"line": "A"}, 1.0)
    assert gw.keys[0] == gw.keys[1] != gw.keys[2]
