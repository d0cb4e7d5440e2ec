"""Three rules of the central service found by a cold try and an attacker's try, over a real
Mosquitto: one citizen cannot hold two bookings at one time (a person is at one window at a time);
the 老年人优先 walk-in line is only for a card-identified citizen of its age; a rating of an
application gets one answer for an unknown number and for one not proven to be the citizen's."""
from __future__ import annotations

import datetime as dt

from hall_central import seed

from .conftest import T0

#: A working day after T0 (a Thursday), when every slot is still in the future.
DAY = "2026-03-19"
#: Demo citizens: 0 born 1981 (44 at T0), 1 born 1958 (68), 2 born 1992 (33).
YOUNG, ELDER = 0, 1


def _lookup(client, n: int, name: str | None = None) -> str:
    c = seed.demo_citizens()[n]
    return client.ok("citizen.lookup", {"id_number": c["id_number"], "name": name or c["name"]})["citizen_ref"]


def _slot(client, item: str, start: str) -> str:
    slots = client.ok("slots.list", {"item_code": item, "date": DAY})["slots"]
    return next(s["slot_id"] for s in slots if s["start"] == start)


def _error(res: dict) -> dict:
    assert not res["ok"], res
    return res["error"]


# --- one citizen, one time ---------------------------------------------------------------------
def test_a_second_item_at_the_same_time_is_refused_naming_the_booking_held(service, client):
    ref = _lookup(client, YOUNG)
    first = client.ok("appointment.book", {"citizen_ref": ref, "item_code": "MZ001", "slot_id": _slot(client, "MZ001", "09:00")})
    body = {"citizen_ref": ref, "item_code": "GJJ001", "slot_id": _slot(client, "GJJ001", "09:00")}
    key = "clash-attempt-1"
    err = _error(client.call("appointment.book", body, idem=key))
    assert err["code"] == "conflict" and first["appointment_id"] in err["message"], err
    assert "09:00" in err["message"] and "MZ001" in err["message"]
    # A replay of the same request (the terminal's outbox after no answer) gets the same answer,
    # even once the first booking is gone; a new attempt is judged again.
    client.ok("appointment.cancel", {"appointment_id": first["appointment_id"], "citizen_ref": ref})
    assert client.call("appointment.book", body, idem=key) == {"ok": False, "error": err}
    assert client.ok("appointment.book", body)["start"] == "09:00"
    # Another time of the same day, and the same time for another citizen, stay bookable.
    assert client.ok("appointment.book", {"citizen_ref": ref, "item_code": "MZ001",
                                          "slot_id": _slot(client, "MZ001", "10:00")})["start"] == "10:00"
    other = _lookup(client, 2)
    assert client.ok("appointment.book", {"citizen_ref": other, "item_code": "RS002",
                                          "slot_id": _slot(client, "RS002", "09:00")})["start"] == "09:00"


def test_the_same_time_in_another_hall_is_refused_too(service, client):
    ref = _lookup(client, YOUNG)
    client.ok("appointment.book", {"citizen_ref": ref, "item_code": "MZ001", "hall": "H410122",
                                   "slot_id": _slot(client, "MZ001", "14:00")})
    err = _error(client.call("appointment.book", {"citizen_ref": ref, "item_code": "GJJ001", "hall": "H410100",
                                                  "slot_id": _slot(client, "GJJ001", "14:00")}))
    assert err["code"] == "conflict" and "14:00" in err["message"]


# --- the elder priority line -------------------------------------------------------------------
def test_the_catalogue_marks_the_priority_line_with_its_age(service, client):
    lines = {ln["code"]: ln for ln in client.ok("catalogue.sync", {"since_version": 0})["lines"]}
    assert lines["G"]["min_age"] == 60 and lines["G"]["name"] == "老年人优先"
    assert all("min_age" not in ln for code, ln in lines.items() if code != "G")


def test_the_priority_line_needs_a_card_identified_citizen_of_its_age(service, client):
    elder, young = _lookup(client, ELDER), _lookup(client, YOUNG)
    typed = _lookup(client, ELDER, name="-")  # the elder's number typed on the keypad: proves no age
    for body in ({"line": "G"}, {"line": "G", "citizen_ref": young}, {"line": "G", "citizen_ref": typed}):
        err = _error(client.call("ticket.walkin", body))
        assert err["code"] == "forbidden" and "60" in err["message"], body
    assert client.ok("ticket.walkin", {"line": "G", "citizen_ref": elder})["queue_no"] == "G001"
    # Every other line stays open to anyone, identified or not.
    assert client.ok("ticket.walkin", {"line": "A"})["queue_no"].startswith("A")
    assert client.ok("ticket.walkin", {"line": "A", "citizen_ref": young})["line"] == "A"


def test_the_age_is_counted_on_the_hall_day(service, client, clock):
    """A synthetic citizen born 1966-03-19 is 59 on T0 (2026-03-18) and 60 the next day."""
    card = seed.synthetic_citizen((dt.date(1966, 3, 19) - dt.date(1950, 1, 1)).days * 500)
    assert card["birth_date"] == "1966-03-19" and T0.date() == dt.date(2026, 3, 18)
    ref = client.ok("citizen.lookup", {"id_number": card["id_number"], "name": card["name"]})["citizen_ref"]
    assert _error(client.call("ticket.walkin", {"line": "G", "citizen_ref": ref}))["code"] == "forbidden"
    clock.advance(24 * 3600)
    assert client.ok("ticket.walkin", {"line": "G", "citizen_ref": ref})["line"] == "G"


# --- a rating tells nothing of numbers ---------------------------------------------------------
def test_a_rating_gets_one_answer_for_an_unknown_and_another_citizens_application(service, client):
    owner = _lookup(client, ELDER)
    stranger = _lookup(client, YOUNG)
    apps = client.ok("applications.list", {"citizen_ref": owner})["applications"]
    real = apps[0]["application_no"]  # not finished: before, not_finished told its state too
    fake = real[:-4] + "9999"
    for proof in ({}, {"citizen_ref": stranger}, {"receipt": fake}):
        answers = [client.call("feedback.submit", {"kind": "rate", "rating": 1,
                                                   "target": {"application_no": no, **proof}}) for no in (real, fake)]
        assert answers[0] == answers[1] and answers[0]["error"]["code"] == "not_found", (proof, answers)
    # Its citizen is told it is not finished yet; a complaint is taken whatever the number.
    assert _error(client.call("feedback.submit", {"kind": "rate", "rating": 5, "target": {
        "application_no": real, "citizen_ref": owner}}))["code"] == "not_finished"
    for no in (real, fake):
        assert client.ok("feedback.submit", {"kind": "complain", "reasons": ["waiting"],
                                             "target": {"application_no": no}})["status"] == "received"


# --- a horizon ---------------------------------------------------------------------------------
def test_slots_exist_only_up_to_the_booking_horizon(service, client):
    # A cold attacker: slots.list offered slots on 9999-12-31, so one terminal could hold places
    # for years. The last day within the horizon keeps its slots; the days after it have none.
    from hall_central.appointments import BOOKING_HORIZON_DAYS
    today = T0.date()
    last = today + dt.timedelta(days=BOOKING_HORIZON_DAYS)
    while last.weekday() >= 5:  # the last working day within the horizon
        last -= dt.timedelta(days=1)
    assert client.ok("slots.list", {"item_code": "MZ001", "date": last.isoformat()})["slots"]
    beyond = last + dt.timedelta(days=1)
    while beyond.weekday() >= 5:
        beyond += dt.timedelta(days=1)
    for date in (beyond.isoformat(), "9999-12-31"):
        assert client.ok("slots.list", {"item_code": "MZ001", "date": date})["slots"] == []
    ref = _lookup(client, YOUNG)
    slot = f"MZ001_{beyond:%Y%m%d}_0900"
    err = _error(client.call("appointment.book", {"citizen_ref": ref, "item_code": "MZ001", "slot_id": slot}))
    assert err["code"] == "not_found" and "days ahead" in err["message"], err
