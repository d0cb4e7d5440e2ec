"""Who gets the card-proven citizen's reference (issue 13, hall_central.citizens): only a lookup
whose name matches the register. Before, the number alone was the key: a lookup with the right
number and any name, or the keypad's placeholder "-", got the same citizen_ref as the ID card, and
with it that citizen's appointments (to list and cancel) and applications. Over a real Mosquitto."""
from __future__ import annotations

import re

import pytest

from hall_central import citizens, seed
from hall_central.clock import FixedClock
from hall_central.domain import Domain, OpError
from hall_central.service import CentralService
from hall_central.store import Store
from kiosk.network import schemas
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


#: Names of spaces alone: ASCII, full-width (U+3000), tab, no-break, em space, a line break.
BLANK_NAMES = ("   ", "\u3000\t", "\u3000", " \u00a0\u2003 ", "\n")


def _submit(client, id_number: str, name: str) -> dict:
    return client.call("application.submit", {
        "citizen": {"id_number": id_number, "name": name}, "item_code": "MZ001",
        "materials": [{"name": "身份证", "provided": True}],
        "consent": {"given": True, "method": "tap", "at": "2026-03-18T02:00:00.000Z"}, "staff": {"staff_id": "S001"}})


def test_a_name_of_spaces_alone_is_refused_as_invalid(service, client):
    """Before: "   " and "\\u3000\\t" passed the schema (minLength 1) and got a reference keyed by the
    number and no name at all, one for every blank name; now the contract's pattern refuses them."""
    card = seed.demo_citizens()[1]
    for name in BLANK_NAMES:
        res = client.call("citizen.lookup", {"id_number": card["id_number"], "name": name})
        assert not res["ok"] and res["error"]["code"] == "invalid", (name, res)
        res = _submit(client, card["id_number"], name)
        assert not res["ok"] and res["error"]["code"] == "invalid", (name, res)
    assert _lookup(client, card["id_number"], card["name"])["known"] is True  # the service still answers


def test_the_domain_refuses_a_blank_name_without_the_schema(tmp_path):
    """The door's schema check is not the only guard: a caller of Domain.handle that skipped it
    (a tool, a test, a future transport) gets the same refusal."""
    store = Store(tmp_path / "central.db")
    domain = Domain(store, FixedClock(start=T0))
    card = seed.demo_citizens()[1]
    try:
        with store.transaction():
            domain.ensure_seeded()
            for name in BLANK_NAMES:
                with pytest.raises(OpError) as refused:
                    domain.handle("ZM-T0001", "citizen.lookup", {"id_number": card["id_number"], "name": name})
                assert refused.value.code == "invalid", name
    finally:
        store.close()


def test_spaces_around_a_name_do_not_make_another_citizen(service, client, other):
    """Padding is trimmed, not refused (hall_central.citizens.is_registers says why): the register's
    name padded as a fixed-width card field is still the card holder, and a name the register does
    not hold is one key however it is padded."""
    card = seed.demo_citizens()[1]
    proven = _lookup(client, card["id_number"], card["name"])
    for padded in (f" {card['name']} ", f"\u3000{card['name']}\u3000\u3000", f"{card['name']}\t"):
        assert _lookup(other, card["id_number"], padded) == proven, padded
    typed = _lookup(client, card["id_number"], "王五")
    assert typed["known"] is False and typed["citizen_ref"] != proven["citizen_ref"]
    for padded in ("  王五", "王五\u3000", "\u3000王五\n"):
        assert _lookup(other, card["id_number"], padded) == typed, padded


def test_the_contracts_blank_characters_are_the_central_keys_spaces():
    """The pattern of common.json's citizen_name lists its space characters by hand (no ``\\s``: it
    differs between Python, Rust and ECMAScript): for every code point, both validators refuse it
    alone exactly when the central service's key (name_key) sees nothing in it."""
    pattern = schemas.schema_files()["common.json"]["$defs"]["citizen_name"]["pattern"]
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]  # no lone surrogate in JSON text
    blank_by_key = {ch for ch in points if citizens.blank(ch)}
    compiled = re.compile(pattern)
    assert {ch for ch in points if not compiled.search(ch)} == blank_by_key
    fast = schemas._fast("citizen.lookup.request.json")
    assert fast is not None
    body = {"id_number": seed.demo_citizens()[1]["id_number"]}
    for ch in sorted(blank_by_key) + ["x", "\u200b", "\ufeff", "\u180e", "\x00", "\u3001"]:
        for name in (ch, ch * 3, f"{ch}x{ch}"):
            assert fast.is_valid({**body, "name": name}) == (not citizens.blank(name)), repr(name)
