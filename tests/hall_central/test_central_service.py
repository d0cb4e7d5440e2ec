"""The central service over a real Mosquitto: every operation answers and validates against the
contract's schemas, idempotency, the check-in rules, queue numbers, events, state, two instances."""
from __future__ import annotations

import datetime as dt

from hall_central import seed
from hall_central.clock import TZ
from hall_central.domain import CATALOGUE_VERSION
from hall_central.service import CentralService
from hall_central.store import Store
from kiosk.network import envelope, topics


def _lookup(client, n=0):
    c = seed.demo_citizens()[n]
    return client.ok("citizen.lookup", {"id_number": c["id_number"], "name": c["name"]})["citizen_ref"]


def test_every_operation_answers_and_validates(service, client):
    full = client.ok("catalogue.sync", {"since_version": 0})
    assert full["unchanged"] is False and full["version"] == CATALOGUE_VERSION
    assert client.ok("catalogue.sync", {"since_version": CATALOGUE_VERSION}) == {
        "version": CATALOGUE_VERSION, "unchanged": True, "categories": [], "departments": [], "lines": [], "items": []}
    ref = _lookup(client, 1)
    appts = client.ok("appointments.list", {"citizen_ref": ref, "date": "2026-03-18"})["appointments"]
    assert len(appts) == 2 and all(a["status"] == "booked" for a in appts)
    slots = client.ok("slots.list", {"item_code": "MZ001", "date": "2026-03-19"})["slots"]
    assert slots and slots[0]["free"] == slots[0]["capacity"]
    booked = client.ok("appointment.book", {"citizen_ref": ref, "item_code": "MZ001", "slot_id": slots[0]["slot_id"]})
    assert booked["checkin_code"].endswith(booked["appointment_id"])
    assert client.ok("slots.list", {"item_code": "MZ001", "date": "2026-03-19"})["slots"][0]["free"] == slots[0]["capacity"] - 1
    assert client.ok("appointment.cancel", {"appointment_id": booked["appointment_id"], "citizen_ref": ref}
                     )["status"] == "cancelled"
    chk = client.ok("checkin", {"appointment_id": appts[0]["appointment_id"], "citizen_ref": ref})
    assert chk["queue_no"] == "G001" and chk["people_ahead"] == 0
    walk = client.ok("ticket.walkin", {"line": "A", "citizen_ref": ref})
    assert walk["queue_no"] == "A001"
    apps = client.ok("applications.list", {"citizen_ref": ref})["applications"]
    assert {a["flag"] for a in apps} == {"green", "yellow", "red"}
    one = client.ok("application.get", {"application_no": apps[0]["application_no"]})["application"]
    assert one["application_no"] == apps[0]["application_no"]
    assert client.ok("feedback.submit", {"kind": "rate", "target": {"hall": True}, "rating": 5})["status"] == "received"
    assert client.call("application.get", {"application_no": "SQ0"})["error"]["code"] == "not_found"
    # client fixture asserts that every response validated against the schemas


def test_invalid_request_is_refused_not_dropped(service, client):
    res = client.call("checkin", {"appointment_id": "x", "extra": 1})
    assert res == {"ok": False, "error": res["error"]} and res["error"]["code"] == "invalid"
    assert client.call("citizen.lookup", {"id_number": "410122198105122460", "name": "王秀兰"})["error"]["code"] == "invalid"


def test_idempotent_replay_returns_first_answer_and_conflict_on_other_body(service, client):
    ref = _lookup(client, 2)
    key = envelope.new_id()
    first = client.call("ticket.walkin", {"line": "B", "citizen_ref": ref}, idem=key)
    again = client.call("ticket.walkin", {"line": "B", "citizen_ref": ref}, idem=key)
    assert first == again and first["ok"]
    other = client.call("ticket.walkin", {"line": "C"}, idem=key)
    assert other["error"]["code"] == "conflict"
    assert client.ok("ticket.walkin", {"line": "B"})["queue_no"] == "B002"  # the replay made no ticket


def test_checkin_early_late_and_cancelled(service, client, clock):
    ref = _lookup(client, 2)
    slot = client.ok("slots.list", {"item_code": "GA002", "date": "2026-03-18"})["slots"][1]
    assert slot["start"] == "11:00"  # opens 10:30; the clock says 10:07
    appt = client.ok("appointment.book", {"citizen_ref": ref, "item_code": "GA002", "slot_id": slot["slot_id"]})
    assert client.call("checkin", {"appointment_id": appt["appointment_id"], "citizen_ref": ref}
                       )["error"]["code"] == "too_early"
    clock.set(dt.datetime(2026, 3, 18, 11, 16, tzinfo=TZ))  # 16 min after start
    assert client.call("checkin", {"appointment_id": appt["appointment_id"], "citizen_ref": ref}
                       )["error"]["code"] == "too_late"
    listed = client.ok("appointments.list", {"citizen_ref": ref})["appointments"]
    assert [a["status"] for a in listed if a["appointment_id"] == appt["appointment_id"]] == ["missed"]
    slot2 = client.ok("slots.list", {"item_code": "GA003", "date": "2026-03-18"})["slots"][0]  # 11:30
    appt2 = client.ok("appointment.book", {"citizen_ref": ref, "item_code": "GA003", "slot_id": slot2["slot_id"]})
    client.ok("appointment.cancel", {"appointment_id": appt2["appointment_id"], "citizen_ref": ref})
    assert client.call("checkin", {"appointment_id": appt2["appointment_id"], "citizen_ref": ref}
                       )["error"]["code"] == "closed"
    assert client.call("checkin", {"appointment_id": "AP404", "citizen_ref": ref})["error"]["code"] == "not_found"


def test_checkin_twice_with_other_keys_gives_same_number_and_queue_counts(service, client):
    refs = [_lookup(client, 0), _lookup(client, 1)]
    a0 = client.ok("appointments.list", {"citizen_ref": refs[1]})["appointments"]
    first = client.ok("checkin", {"appointment_id": a0[0]["appointment_id"], "citizen_ref": refs[1]})
    second = client.ok("checkin", {"appointment_id": a0[1]["appointment_id"], "citizen_ref": refs[1]})
    again = client.ok("checkin", {"appointment_id": a0[0]["appointment_id"], "citizen_ref": refs[1]})  # a new idem key
    assert again["queue_no"] == first["queue_no"]
    assert first["line"] == "G" and second["line"] == "B"
    syn = [seed.synthetic_citizen(i) for i in range(3)]
    nos = []
    for c in syn:
        ref = client.ok("citizen.lookup", {"id_number": c["id_number"], "name": c["name"]})["citizen_ref"]
        appt = client.ok("appointments.list", {"citizen_ref": ref})["appointments"][0]
        nos.append(client.ok("checkin", {"appointment_id": appt["appointment_id"], "citizen_ref": ref}))
    # GJJ001 is on line E: numbered per line per day, people ahead = waiting tickets before
    assert [n["queue_no"] for n in nos] == ["E001", "E002", "E003"]
    assert [n["people_ahead"] for n in nos] == [0, 1, 2]
    s = Store(service.store.path)
    assert s.count_checkins(a0[0]["appointment_id"]) == 1 and s.applied_checkins() == 5
    s.close()


def test_events_are_acknowledged_once_and_state_tracked(service, client):
    evt = envelope.Envelope("evt", "device.fault", "ZM-T0001", {"data": {"role": "printer", "code": "paper_out"},
                                                               "at": envelope.now_iso()}, idem=envelope.new_id())
    for _ in range(2):  # a replayed event is acknowledged again but recorded once
        client.c.publish(topics.evt("ZM-T0001"), evt.to_bytes(), qos=1)
    body = client.wait(evt.id)
    assert body == {"ok": True, "result": {}}
    birth = envelope.Envelope("state", "birth", "ZM-T0001", {"online": True, "version": "0.1.0", "profile": "kiosk",
                                                             "regions": ["410100"], "started_at": envelope.now_iso()})
    client.c.publish(topics.state("ZM-T0001"), birth.to_bytes(), qos=1, retain=True)
    ping = client.call("catalogue.sync", {"since_version": 1})  # messages are handled in order
    assert ping["ok"]
    s = Store(service.store.path)
    try:
        assert [t["terminal"] for t in s.terminals() if t["online"]] == ["ZM-T0001"]
        assert len(s.events("ZM-T0001")) == 1
    finally:
        s.close()
    client.c.publish(topics.state("ZM-T0001"), b"", qos=1, retain=True)  # clear the retained birth


def test_two_instances_share_the_load_on_one_db(broker, tmp_path, clock, client):
    db = str(tmp_path / "shared.db")
    a = CentralService(broker.url, db, clock=clock, instance="a").start()
    b = CentralService(broker.url, db, clock=clock, instance="b").start()
    try:
        sent = [client.send("ticket.walkin", {"line": "A"}) for _ in range(200)]
        bodies = [client.wait(e.id) for e in sent]
        assert all(r["ok"] for r in bodies)
        numbers = sorted(r["result"]["queue_no"] for r in bodies)
        assert numbers == [f"A{i:03d}" for i in range(1, 201)]  # no number given twice
        assert a.stats["requests"] > 0 and b.stats["requests"] > 0
        # a replay that lands on the other instance answers with the first answer
        key = envelope.new_id()
        first = client.call("ticket.walkin", {"line": "H"}, idem=key)
        assert all(client.call("ticket.walkin", {"line": "H"}, idem=key) == first for _ in range(10))
    finally:
        a.stop()
        b.stop()


def test_a_flood_of_events_is_stored_each_and_logged_in_summary(service, client, caplog):
    # A cold attacker's flood wrote one "terminal event" log line per event (425 in one test).
    import logging
    caplog.set_level(logging.INFO, logger="kiosk.central.service")
    sent = []
    for k in range(5):
        evt = envelope.Envelope("evt", "device.fault", "ZM-T0001", {"data": {"role": "printer", "code": f"c{k}"},
                                                                   "at": envelope.now_iso()}, idem=envelope.new_id())
        client.c.publish(topics.evt("ZM-T0001"), evt.to_bytes(), qos=1)
        sent.append(evt.id)
    for eid in sent:
        assert client.wait(eid) == {"ok": True, "result": {}}
    s = Store(service.store.path)
    try:
        assert len(s.events("ZM-T0001")) == 5
    finally:
        s.close()
    assert [r.getMessage() for r in caplog.records].count("terminal event") == 1
