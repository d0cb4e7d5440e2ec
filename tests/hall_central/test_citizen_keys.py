"""Who gets the card-proven citizen's reference (issue 13, hall_central.citizens): only a lookup
whose name matches the register. Before, the number alone was the key: a lookup with the right
number and any name, or the keypad's placeholder "-", got the same citizen_ref as the ID card, and
with it that citizen's appointments (to list and cancel) and applications. Over a real Mosquitto."""
from __future__ import annotations

from hall_central import seed
from hall_central.clock import FixedClock
from hall_central.domain import Domain
from hall_central.service import CentralService
from hall_central.store import Store
from kiosk.services.checkin import KEYPAD_NAME

from .conftest import T0, TermClient


def _lookup(client, id_number: str, name: str) -> dict:
    return client.ok("citizen.lookup", {"id_number": id_number, "name": name})


def test_only_the_registers_name_gets_the_card_citizens_reference(service, client, other):
    card = seed.demo_citizens()[1]  # two appointments today, applications at every stage
    proven = _lookup(client, card["id_number"], card["name"])
    assert proven["known"] is True
    ref = proven["citizen_ref"]
    appts = client.ok("appointments.list", {"citizen_ref": ref})["appointments"]
    assert appts and client.ok("applications.list", {"citizen_ref": ref})["applications"]

    for name in (KEYPAD_NAME, "张三", card["name"] + "x", "-" * 3):
        got = _lookup(other, card["id_number"], name)
        assert got["citizen_ref"] != ref and got["known"] is False, name
        assert other.ok("appointments.list", {"citizen_ref": got["citizen_ref"]})["appointments"] == [], name
        assert other.ok("applications.list", {"citizen_ref": got["citizen_ref"]})["applications"] == [], name
        res = other.call("appointment.cancel", {"appointment_id": appts[0]["appointment_id"],
                                                "citizen_ref": got["citizen_ref"]})
        assert not res["ok"], (name, res)
    assert client.ok("appointments.list", {"citizen_ref": ref})["appointments"] == appts  # nothing cancelled


def test_a_number_typed_twice_on_a_keypad_finds_its_own_bookings_and_only_those(service, client, other):
    card = seed.demo_citizens()[2]
    keypad = _lookup(client, card["id_number"], KEYPAD_NAME)["citizen_ref"]
    assert _lookup(other, card["id_number"].lower(), KEYPAD_NAME)["citizen_ref"] == keypad  # another terminal, same key
    slot = client.ok("slots.list", {"item_code": "MZ001", "date": "2026-03-19"})["slots"][0]
    booked = client.ok("appointment.book", {"citizen_ref": keypad, "item_code": "MZ001", "slot_id": slot["slot_id"]})
    again = _lookup(client, card["id_number"], KEYPAD_NAME)["citizen_ref"]
    assert [a["appointment_id"] for a in client.ok("appointments.list", {"citizen_ref": again})["appointments"]] \
        == [booked["appointment_id"]]
    # The card holder does not see (or own) what a typist booked under their number.
    proven = _lookup(client, card["id_number"], card["name"])["citizen_ref"]
    assert proven != keypad
    assert booked["appointment_id"] not in {a["appointment_id"] for a in
                                            client.ok("appointments.list", {"citizen_ref": proven})["appointments"]}
    # A name that is not the register's is one key however it is written (width, case, spaces).
    a = _lookup(client, card["id_number"], "Wang  Xiulan ")["citizen_ref"]
    assert _lookup(other, card["id_number"], "ＷＡＮＧ xiulan")["citizen_ref"] == a
    assert a not in (keypad, proven)


def test_a_door_to_door_application_under_another_name_is_not_the_card_citizens(service, client):
    card = seed.demo_citizens()[0]
    ref = _lookup(client, card["id_number"], card["name"])["citizen_ref"]
    before = client.ok("applications.list", {"citizen_ref": ref})["applications"]
    made = client.ok("application.submit", {
        "citizen": {"id_number": card["id_number"], "name": "李四"}, "item_code": "MZ001",
        "materials": [{"name": "身份证", "provided": True}],
        "consent": {"given": True, "method": "tap", "at": "2026-03-18T02:00:00.000Z"}, "staff": {"staff_id": "S001"}})
    assert made["citizen_ref"] != ref
    assert client.ok("applications.list", {"citizen_ref": ref})["applications"] == before


def test_a_database_keyed_by_the_number_alone_is_rekeyed_at_start(broker, tmp_path, clock):
    """A database of the old scheme: a typist's booking under a register citizen's number (a row of
    kind "unknown" keyed by the number alone) must not become the card holder's at the next start."""
    db = tmp_path / "central.db"
    store = Store(db)
    domain = Domain(store, FixedClock(start=T0))
    card = seed.synthetic_citizen(7)  # in the register, not seeded: first met through the keypad
    with store.transaction():
        domain.ensure_seeded()
        old = "C" + "0" * 20
        store.add_citizen(old, store.id_hash(card["id_number"]), "-", "unknown", None, card["id_number"][:6], "x")
        store.add_appointment({"appointment_id": "APOLD1", "citizen_ref": old, "item_code": "MZ001",
                               "slot_id": "MZ001_20260319_0900", "date": "2026-03-19", "start": "09:00",
                               "end": "09:30", "window": "1", "hall": seed.DEFAULT_HALL, "status": "booked",
                               "created_at": "2026-03-18T02:00:00.000Z"})
        store._exec("DELETE FROM meta WHERE key = 'citizen_keys'")  # as a database of the old scheme has none
    store.close()
    svc = CentralService(broker.url, str(db), clock=clock, instance="t1").start()
    client = TermClient(broker.url)
    try:
        proven = _lookup(client, card["id_number"], card["name"])["citizen_ref"]
        assert proven != old
        assert "APOLD1" not in {a["appointment_id"] for a in
                                client.ok("appointments.list", {"citizen_ref": proven})["appointments"]}
        assert _lookup(client, card["id_number"], KEYPAD_NAME)["citizen_ref"] not in (old, proven)
    finally:
        client.close()
        svc.stop()
    assert not client.invalid, client.invalid
    check = Store(db)
    try:
        assert check.citizen(old)["id_hash"].startswith("retired:")  # kept, found by no lookup
        assert check.meta_get("citizen_keys") == "2"
    finally:
        check.close()
