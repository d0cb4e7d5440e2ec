"""Booking on real parts (a private Mosquitto, the reference central service, the runtime's
gateway and outbox): one idempotency key per attempt of one citizen's request, the booking's
outcome for the success screen and the slip, and the slip of an existing booking printed again."""
from __future__ import annotations

import datetime as dt

import pytest

from hall_central.seed import demo_citizens, synthetic_citizen
from kiosk.network.errors import Rejected, Timeout
from kiosk.services.session import Citizen, EndReason
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

def _citizen(card: dict) -> Citizen:
    return Citizen(id_number=card["id_number"], name=card["name"], source="idcard")


def _two_items_and_slots(s):
    day = s.booking.days()[0]
    items = [i["code"] for i in s.guide.items()[:2]]
    slots = {code: [x for x in s.booking.slots(code, day) if x["free"] > 0] for code in items}
    return day, items, slots


def test_an_already_booked_answer_does_not_jam_later_bookings(stack):
    """After "already booked" the same citizen books another item, and the next citizen books
    the same item: each is its own attempt (before: the key of the refused attempt was kept for the
    whole runtime and every later booking got the stored "conflict" back)."""
    rt, central, _ = stack
    s = rt.services
    day, (first, second), slots = _two_items_and_slots(s)

    s.sessions.begin(_citizen(demo_citizens()[2]))
    booked = s.booking.book(first, slots[first][0]["slot_id"])
    assert booked["appointment_id"] and booked["date"] == day.isoformat()
    with pytest.raises(Rejected) as refused:
        s.booking.book(first, slots[first][1]["slot_id"])   # the same item that day: a definitive no
    assert refused.value.error_code == "conflict"

    other = s.booking.book(second, slots[second][2]["slot_id"])   # the same citizen, another item, another time
    assert other["appointment_id"] != booked["appointment_id"]
    s.sessions.end(EndReason.CARD_REMOVED)

    s.sessions.begin(_citizen(synthetic_citizen(4242)))         # the next citizen, the first item
    theirs = s.booking.book(first, slots[first][1]["slot_id"])
    assert theirs["appointment_id"] not in (booked["appointment_id"], other["appointment_id"])
    assert len(s.checkin.attempts) == 0   # every attempt got its answer: no key is kept


def test_a_retry_of_the_same_attempt_reuses_its_key_a_new_session_does_not(stack, broker):
    """No answer (the broker is down): the booking stays in the outbox, and the citizen's retry of
    the same booking goes with the same key, so the central service applies it once. A new session
    asking for the same slot is a new attempt with a new key."""
    rt, central, _ = stack
    s = rt.services
    day, (first, _), slots = _two_items_and_slots(s)
    slot = slots[first][0]["slot_id"]
    s.sessions.begin(_citizen(demo_citizens()[2]))
    s.checkin.citizen_ref()   # looked up while online
    s.checkin.wait_s = 0.3
    broker.stop()
    wait_for(lambda: not rt.gateway.online, 15, "the gateway to see the broker gone")

    with pytest.raises(Timeout):
        s.booking.book(first, slot)
    with pytest.raises(Timeout):
        s.booking.book(first, slot)
    keys = [r.idem for r in rt.gateway.outbox.pending()]
    assert len(keys) == 2 and keys[0] == keys[1]

    ref = s.sessions.citizen.citizen_ref
    s.sessions.end(EndReason.DONE)
    s.sessions.begin(_citizen(demo_citizens()[2]))
    s.sessions.citizen.citizen_ref = ref
    with pytest.raises(Timeout):
        s.booking.book(first, slot)
    keys = [r.idem for r in rt.gateway.outbox.pending()]
    assert len(keys) == 3 and keys[2] != keys[0]

    broker.start()   # the outbox drains: the first attempt booked once, the new session's replayed
    wait_for(lambda: rt.gateway.outbox_depth() == 0, 30, "the outbox to drain")
    ref_appts = central.store.appointments_of(ref)
    assert len([a for a in ref_appts if a["item_code"] == first]) == 1


def test_the_outcome_and_the_slip_show_day_time_hall_and_window_in_the_session_language(stack):
    rt, _, _ = stack
    s = rt.services
    day, (first, _), slots = _two_items_and_slots(s)
    s.sessions.begin(_citizen(demo_citizens()[2]))
    s.sessions.set_language("en")
    result = s.booking.book(first, slots[first][0]["slot_id"])
    o = s.booking.outcome(result)
    item = s.guide.item(first)
    assert o["item"] == item["name_en"] and o["date"] == day.isoformat()
    assert o["start"] == slots[first][0]["start"] and o["end"] == slots[first][0]["end"]
    # The hall as the English header names it (terminal.hall_en), not its Chinese name.
    assert o["window"] == item["window"] and o["hall"] == s.info.names("en")[0] != s.info.names("zh_CN")[0]

    assert s.booking.print_slip(result).printed
    text = s.checkin.printer.docs[-1].plain_text()
    assert "Booking slip" in text and item["name_en"] in text and f"Window {item['window']}" in text
    assert day.isoformat() in text and o["start"] in text
    assert "预约凭条" not in text and "姓名" not in text    # English, and a name line only with a name
    assert s.sessions.citizen.masked_name in text


def test_a_citizen_told_already_booked_gets_that_booking_and_its_slip_again(stack):
    rt, _, _ = stack
    s = rt.services
    day, (first, _), slots = _two_items_and_slots(s)
    s.sessions.begin(_citizen(demo_citizens()[2]))
    booked = s.booking.book(first, slots[first][0]["slot_id"])
    with pytest.raises(Rejected):
        s.booking.book(first, slots[first][2]["slot_id"])

    existing = s.booking.existing(first, day.isoformat())
    assert existing["appointment_id"] == booked["appointment_id"]
    assert existing["checkin_code"] == booked["checkin_code"]
    assert s.booking.print_slip(existing).printed
    text = s.checkin.printer.docs[-1].plain_text()
    assert "预约凭条" in text and booked["start"] in text and day.isoformat() in text
    assert s.booking.existing(s.guide.items()[1]["code"], day.isoformat()) is None


def test_a_check_in_refused_as_too_early_is_a_new_attempt_once_check_in_opens(stack):
    """Audit of the other services: a "too early" answer must not be replayed to the same slip
    scanned again when its check-in window has opened."""
    rt, central, central_clock = stack
    s = rt.services
    day, (first, _), slots = _two_items_and_slots(s)
    slot = slots[first][0]
    s.sessions.begin(_citizen(demo_citizens()[2]))
    booked = s.booking.book(first, slot["slot_id"])
    s.sessions.end(EndReason.DONE)

    with pytest.raises(Rejected) as early:
        s.checkin.check_in_code(booked["checkin_code"])
    assert early.value.error_code == "too_early"
    start = dt.datetime.combine(day, dt.time.fromisoformat(slot["start"]))
    central_clock.set(start - dt.timedelta(minutes=10))
    ticket = s.checkin.check_in_code(booked["checkin_code"])
    assert ticket["queue_no"] and ticket["follow_token"]


def test_another_service_at_a_time_already_booked_is_told_as_a_clash(stack):
    """The central service refuses a second booking at a time the citizen holds (a person is at
    one window at a time; before, both were booked); the terminal tells which booking it is from
    the citizen's own list, and tells it apart from "this service, that day" (a slip to reprint)."""
    rt, central, _ = stack
    s = rt.services
    day, (first, second), slots = _two_items_and_slots(s)
    s.sessions.begin(_citizen(demo_citizens()[2]))
    held = s.booking.book(first, slots[first][0]["slot_id"])
    clash = slots[second][0]
    assert clash["start"] == slots[first][0]["start"]
    with pytest.raises(Rejected) as refused:
        s.booking.book(second, clash["slot_id"])
    assert refused.value.error_code == "conflict" and held["appointment_id"] in refused.value.message
    told = s.booking.held(second, day.isoformat(), clash["start"], clash["end"])
    assert told is not None and told["why"] == "time"
    assert told["booking"]["appointment_id"] == held["appointment_id"]
    same = s.booking.held(first, day.isoformat(), slots[first][1]["start"], slots[first][1]["end"])
    assert same is not None and same["why"] == "item"
    later = slots[second][1]
    assert s.booking.held(second, day.isoformat(), later["start"], later["end"]) is None
    assert s.booking.book(second, later["slot_id"])["start"] == later["start"]   # another time is fine
