"""A terminal acts only on its own citizens' appointments (issue 13) and cannot tell another
citizen's from none (one not_found answer); a value the schema lets through but the calendar or the
ID-number rules do not is answered ``invalid``, never ``internal``. Over a real Mosquitto, plus the
signed check-in code on the domain with real keys."""
from __future__ import annotations

import pytest

from hall_central import seed
from hall_central.clock import FixedClock
from hall_central.domain import Domain, OpError
from hall_central.keys import CentralKeys
from hall_central.stores import open_store
from kiosk.network import schemas

from .conftest import T0


def _lookup(client, n: int) -> str:
    c = seed.demo_citizens()[n]
    return client.ok("citizen.lookup", {"id_number": c["id_number"], "name": c["name"]})["citizen_ref"]


def _code(res: dict) -> str:
    assert not res["ok"], res
    return res["error"]["code"]


def test_an_appointment_id_alone_does_not_cancel_or_check_in(service, client, other):
    ref = _lookup(client, 1)
    appts = client.ok("appointments.list", {"citizen_ref": ref})["appointments"]
    first, second = appts[0]["appointment_id"], appts[1]["appointment_id"]
    stranger = _lookup(other, 2)  # a citizen the other terminal really identified
    for body in ({"appointment_id": first},                            # the id alone
                 {"appointment_id": first, "citizen_ref": stranger},   # another citizen's reference
                 {"appointment_id": first, "citizen_ref": "C" + "0" * 20}):
        assert _code(other.call("appointment.cancel", body)) == "not_found", body
        assert _code(other.call("checkin", body)) == "not_found", body
    for code in ("KIOSK1:APPT:" + second, "KIOSK1:APPT:AP404", "KQ1:ABC"):  # not this appointment's code
        assert _code(other.call("checkin", {"appointment_id": first, "checkin_code": code})) == "not_found", code
    # Nothing happened to it: its citizen's terminal checks in; the answer (a queue number) is not
    # handed to a stranger replaying the check-in either.
    ticket = client.ok("checkin", {"appointment_id": first, "citizen_ref": ref})
    assert _code(other.call("checkin", {"appointment_id": first})) == "not_found"
    assert client.ok("checkin", {"appointment_id": first, "citizen_ref": ref})["queue_no"] == ticket["queue_no"]
    # The slip's code is the proof without an ID card (a development service issues unsigned codes).
    assert other.ok("checkin", {"appointment_id": second, "checkin_code": "KIOSK1:APPT:" + second})["line"]
    slot = client.ok("slots.list", {"item_code": "MZ001", "date": "2026-03-19"})["slots"][0]
    booked = client.ok("appointment.book", {"citizen_ref": ref, "item_code": "MZ001", "slot_id": slot["slot_id"]})
    assert _code(other.call("appointment.cancel", {"appointment_id": booked["appointment_id"],
                                                   "citizen_ref": stranger})) == "not_found"
    assert client.ok("appointment.cancel", {"appointment_id": booked["appointment_id"],
                                            "citizen_ref": ref})["status"] == "cancelled"


def test_an_answer_never_tells_whether_an_appointment_id_exists(service, client, other):
    """An id the terminal may not act on and an id that does not exist get one answer, code and
    message (before: forbidden for another citizen's appointment, not_found for none, so a terminal
    could enumerate the ids that exist)."""
    ref = _lookup(client, 1)
    theirs = client.ok("appointments.list", {"citizen_ref": ref})["appointments"][0]["appointment_id"]
    stranger = _lookup(other, 0)
    for op, proof in (("checkin", {}), ("checkin", {"citizen_ref": stranger}),
                      ("checkin", {"checkin_code": "KIOSK1:APPT:AP404"}), ("appointment.cancel", {}),
                      ("appointment.cancel", {"citizen_ref": stranger})):
        answers = [other.call(op, {"appointment_id": aid, **proof}) for aid in (theirs, "AP0123456789ABCDEF")]
        assert answers[0] == answers[1] and not answers[0]["ok"], (op, proof, answers)
        assert answers[0]["error"]["code"] == "not_found"
    assert client.ok("appointments.list", {"citizen_ref": ref})["appointments"][0]["status"] == "booked"


def test_impossible_values_are_invalid_not_internal(service, client):
    for date in ("2026-02-30", "2026-04-31", "2025-02-29"):
        res = client.call("slots.list", {"item_code": "MZ001", "date": date})
        assert _code(res) == "invalid" and date in res["error"]["message"], res
    ref = _lookup(client, 0)
    assert _code(client.call("appointments.list", {"citizen_ref": ref, "date": "2026-02-30"})) == "invalid"
    # A real leap day is a date (answered, not invalid); beyond the booking horizon it has no slots.
    assert client.ok("slots.list", {"item_code": "MZ001", "date": "2028-02-29"})["slots"] == []
    # One citizen, one number as written: a trailing newline or full-width digits are not that number.
    card = seed.demo_citizens()[0]
    for odd in (card["id_number"] + "\n", card["id_number"].translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})):
        res = client.call("citizen.lookup", {"id_number": odd, "name": card["name"]})
        assert _code(res) == "invalid", (odd, res)
    assert client.ok("citizen.lookup", {"id_number": card["id_number"], "name": card["name"]})["citizen_ref"] == ref


# --- the signed check-in code, verified by the central service with its own keys ------------------
@pytest.fixture
def signed(tmp_path):
    keys = CentralKeys(tmp_path / "keys", now_s=T0.timestamp() - 86400)
    store = open_store(str(tmp_path / "central.db"))
    domain = Domain(store, FixedClock(start=T0), signer=keys)
    with store.transaction():
        domain.ensure_seeded()
    yield domain, store, keys
    store.close()


def _op(domain, store, op: str, body: dict) -> dict:
    schemas.validate_request(op, body)
    with store.transaction():
        return domain.handle("ZM-T0001", op, body)


def test_a_signed_slip_code_proves_its_own_appointment_only(signed):
    domain, store, keys = signed
    card = seed.demo_citizens()[2]
    ref = _op(domain, store, "citizen.lookup", {"id_number": card["id_number"], "name": card["name"]})["citizen_ref"]
    slots = _op(domain, store, "slots.list", {"item_code": "GA002", "date": "2026-03-18"})["slots"]
    a = _op(domain, store, "appointment.book", {"citizen_ref": ref, "item_code": "GA002", "slot_id": slots[0]["slot_id"]})
    b = _op(domain, store, "appointment.book", {"citizen_ref": ref, "item_code": "GA003", "slot_id":  # the next slot:
                                                slots[1]["slot_id"].replace("GA002", "GA003")})  # one time, one booking
    assert a["checkin_code"].startswith("KQ1:")
    forged = keys.sign_code({"apt": a["appointment_id"]}, aud="H999999", exp_s=int(T0.timestamp()) + 3600)
    for bad in (b["checkin_code"],                      # another appointment's genuine code
                "KIOSK1:APPT:" + a["appointment_id"],  # the unsigned form: refused where codes are signed
                forged):                                # signed for another hall
        with pytest.raises(OpError) as e:
            _op(domain, store, "checkin", {"appointment_id": a["appointment_id"], "checkin_code": bad})
        assert e.value.code == "not_found", bad
    res = _op(domain, store, "checkin", {"appointment_id": a["appointment_id"], "checkin_code": a["checkin_code"]})
    assert res["appointment_id"] == a["appointment_id"]
