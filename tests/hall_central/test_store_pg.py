"""The PostgreSQL store against the local server: the shared SQL, the writer lock under concurrent
writers, transient errors as StoreBusy, and two central instances on one broker and one database.

Needs PostgreSQL on 127.0.0.1:5432 (trust auth, database "test"); every test gets its own schema,
dropped afterwards. An unreachable server FAILS the test with the command that starts it.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import uuid

import psycopg
import pytest

from hall_central import seed
from hall_central.service import CentralService
from hall_central.store import StoreBusy, StoreError
from hall_central.store_pg import PgStore
from hall_central.stores import open_store
from hall_demo.broker import free_port
from kiosk.network import envelope

#: Override with KIOSK_TEST_PG=postgresql://user@host:port/db; else user postgres, then root.
ADMIN_URLS = [os.environ["KIOSK_TEST_PG"]] if os.environ.get("KIOSK_TEST_PG") else [
    "postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test"]
START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def _admin() -> tuple[psycopg.Connection, str]:
    errors = []
    for url in ADMIN_URLS:
        try:
            return psycopg.connect(url, autocommit=True, connect_timeout=5), url
        except psycopg.OperationalError as e:
            errors.append(f"{url}: {str(e).strip()}")
    pytest.fail("PostgreSQL is not reachable (" + "; ".join(errors) + f"). Start it with: {START}", pytrace=False)


@pytest.fixture
def pg_url():
    """A URL whose search_path is a fresh schema of database "test" (dropped after the test)."""
    admin, base = _admin()
    schema = "kiosk_t_" + uuid.uuid4().hex[:12]
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        # Our own sessions on this schema are closed by the tests; drop whatever they left.
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture
def store(pg_url):
    """An open PgStore on the fresh schema."""
    s = open_store(pg_url)
    yield s
    s.close()


def _appt(n: int, slot: str = "S1", status: str = "booked") -> dict:
    return {"appointment_id": f"AP{n:04d}", "citizen_ref": "C1", "item_code": "MZ001", "slot_id": slot,
            "date": "2026-03-18", "start": "10:00", "end": "10:30", "window": "W1", "hall": "H1",
            "status": status, "created_at": "2026-03-18T02:00:00Z"}


def _ticket(seq: int, appointment_id: str | None) -> dict:
    return {"hall": "H1", "line": "A", "date": "2026-03-18", "seq": seq, "queue_no": f"A{seq:03d}", "window": "W1",
            "appointment_id": appointment_id, "created_at": "2026-03-18T02:00:00Z"}


def test_unreachable_server_is_a_store_error_that_says_how_to_start_it():
    with pytest.raises(StoreError) as e:
        open_store(f"postgresql://postgres:secret@127.0.0.1:{free_port()}/test")
    assert "pg_ctlcluster" in e.value.action and "secret" not in str(e.value)


def test_missing_schema_is_a_store_error(pg_url):
    with pytest.raises(StoreError, match="no schema"):
        open_store(pg_url.rsplit("%3D", 1)[0] + "%3Dkiosk_no_such_schema")


def test_shared_statements_on_postgresql(store):
    assert isinstance(store, PgStore)
    with store.transaction():
        store.meta_set("k", "1")
        store.meta_set("k", "2")  # upsert
        assert store.next_counter("cmd") == 1 and store.next_counter("cmd") == 2
        h = store.id_hash("41010519900101123x")
        assert h == store.id_hash("41010519900101123X") and "4101" not in h
        store.add_citizen("C1", h, "张*", "demo", 0, "410105", "t")
        store.add_citizen("C1", h, "张*", "demo", 0, "410105", "t")  # ON CONFLICT DO NOTHING
        assert store.add_appointment(_appt(1)) and not store.add_appointment(_appt(1))
        store.add_appointment(_appt(2))
        store.set_appointment("AP0002", status="cancelled", window="W9")
        assert [store.next_seq("H1", "A", "2026-03-18") for _ in range(3)] == [1, 2, 3]
        store.add_ticket(_ticket(1, "AP0001"))
        store.add_ticket(_ticket(2, None))
        store.add_application({"application_no": "SQ1", "citizen_ref": "C1", "item_code": "MZ001", "region": "410105",
                               "submitted_at": "2026-03-01", "promised_deadline": "2026-03-20",
                               "steps": [{"level": "village", "name": "受理"}], "current": 0, "status": "in_progress",
                               "collect_at": "村便民服务站"})
        store.update_application("SQ1", current=1, steps=[{"level": "village"}, {"level": "township"}])
        assert store.add_event("T1", "e1", "device.fault", {"role": "printer"}, "t", "t")
        assert not store.add_event("T1", "e1", "device.fault", {"role": "printer"}, "t", "t")
        store.set_terminal_state("T1", {"online": True}, "t")
        store.set_terminal_telemetry("T1", {"cpu": 3}, "t")
        store.add_feedback("F1", "T1", "rate", {"rating": 5}, "t")
        store.idem_put("T1", "old", "checkin", "h0", {"ok": True}, 1_000_000_000.5)
        store.idem_put("T1", "new", "checkin", "h1", {"ok": True, "result": {"queue_no": "A001"}}, 1_773_800_000.25)
    assert store.meta_get("k") == "2" and store.meta_get("none", "d") == "d"
    assert store.citizen_by_hash(h)["citizen_ref"] == "C1" and len(store.citizens_of_kind("demo")) == 1
    assert store.appointment("AP0002")["window"] == "W9" and store.appointments_of("C1", "2026-03-18")[0]["start"] == "10:00"
    assert store.booked_count("S1") == 1 and store.booked_counts("S") == {"S1": 1}
    assert store.ticket_of_appointment("AP0001")["queue_no"] == "A001"
    assert store.people_ahead("H1", "A", "2026-03-18", 2) == 1
    assert store.applied_checkins() == 1 and store.count_checkins("AP0001") == 1
    assert store.checkin_tickets() == [{"appointment_id": "AP0001", "queue_no": "A001", "line": "A", "date": "2026-03-18"}]
    app = store.application("SQ1")
    assert app["current"] == 1 and app["steps"][1] == {"level": "township"} and store.applications_of("C1") == [app]
    assert store.terminals()[0] | {"last_seen": None} == {"terminal": "T1", "online": True, "state": {"online": True},
                                                          "telemetry": {"cpu": 3}, "last_seen": None}
    assert len(store.events("T1")) == 1
    assert store.idem_get("T1", "new") == ("h1", {"ok": True, "result": {"queue_no": "A001"}})
    # DOUBLE PRECISION keeps the seconds: a 4-byte REAL would round 1.77e9 s by ~2 minutes.
    assert store.idem_purge(1_773_800_000.25 + 30 * 24 * 3600) == 1 and store.idem_count() == 1


def test_constraints_and_savepoint_keep_one_checkin(store):
    with store.transaction():
        store.add_appointment(_appt(1))
        store.add_ticket(_ticket(1, "AP0001"))
        with pytest.raises(psycopg.errors.UniqueViolation):
            with store.savepoint():
                store.add_ticket(_ticket(2, "AP0001"))  # a second ticket for one appointment
        with pytest.raises(psycopg.errors.UniqueViolation):
            with store.savepoint():
                store.add_ticket(_ticket(1, None))  # number A001 twice on one line and day
        store.idem_put("T1", "k", "checkin", "h", {}, 1.0)
        with pytest.raises(psycopg.errors.UniqueViolation):
            with store.savepoint():
                store.idem_put("T1", "k", "checkin", "h2", {}, 2.0)
        store.meta_set("after", "yes")  # the transaction survived its failed savepoints
    assert store.count_checkins("AP0001") == 1 and store.meta_get("after") == "yes"
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.meta_set("rolled", "back")
            raise RuntimeError("boom")
    assert store.meta_get("rolled") is None


def test_concurrent_writers_neither_overbook_nor_share_numbers(pg_url):
    """Four stores in four threads run the domain's read-then-write rules at once."""
    n_threads, per_thread, capacity = 4, 30, 25
    stores = [open_store(pg_url) for _ in range(n_threads)]
    numbers: list[int] = []
    booked: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(n_threads)
    errors: list[BaseException] = []

    def work(k: int, s) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with s.transaction():
                    # the slot-capacity rule first (count, then insert when there is room): no
                    # row lock protects a count, only the writer lock does
                    ok = s.booked_count("S1") < capacity and s.add_appointment(_appt(k * 1000 + i))
                    seq = s.next_seq("H1", "A", "2026-03-18")
                with lock:
                    numbers.append(seq)
                    if ok:
                        booked.append(f"{k}-{i}")
        except BaseException as e:  # reported below, never lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k, s)) for k, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert not errors, errors
    assert sorted(numbers) == list(range(1, n_threads * per_thread + 1))
    assert len(booked) == capacity


def test_transient_errors_are_store_busy_and_the_next_transaction_reconnects(store):
    with pytest.raises(StoreBusy) as e:
        store._exec("DO $$BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = 'serialization_failure'; END$$")
    assert isinstance(e.value, sqlite3.OperationalError)  # what the service's batch loop retries
    admin, _ = _admin()
    try:
        admin.execute("SELECT pg_terminate_backend(%s)", (store.conn.info.backend_pid,))
    finally:
        admin.close()
    with pytest.raises(StoreBusy):
        store.meta_get("k")
    with store.transaction():  # a fresh connection
        store.meta_set("k", "back")
    assert store.meta_get("k") == "back"


# --- two central instances, one broker, one PostgreSQL database ---------------------------------
@pytest.fixture
def two_instances(broker, pg_url, clock):
    """Instances a and b sharing the load through $share/central on one PostgreSQL schema."""
    a = CentralService(broker.url, pg_url, clock=clock, instance="a").start()
    try:
        b = CentralService(broker.url, pg_url, clock=clock, instance="b").start()
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def test_two_instances_share_checkins_without_duplicate_numbers(two_instances, client, pg_url):
    a, b = two_instances
    walkins = [client.send("ticket.walkin", {"line": "A"}) for _ in range(120)]
    refs = []
    for i in range(12):
        c = seed.synthetic_citizen(i)
        refs.append(client.ok("citizen.lookup", {"id_number": c["id_number"], "name": c["name"]})["citizen_ref"])
    appts = [client.ok("appointments.list", {"citizen_ref": r})["appointments"][0]["appointment_id"] for r in refs]
    checkins = [client.send("checkin", {"appointment_id": ap, "citizen_ref": r}) for ap, r in zip(appts, refs)]
    # the same check-in again under new keys, sent while the first ones are in flight
    again = [client.send("checkin", {"appointment_id": ap, "citizen_ref": r}) for ap, r in zip(appts, refs)]
    walk = [client.wait(e.id) for e in walkins]
    first = [client.wait(e.id) for e in checkins]
    second = [client.wait(e.id) for e in again]
    assert all(r["ok"] for r in walk + first + second), [r for r in walk + first + second if not r["ok"]][:3]
    assert sorted(r["result"]["queue_no"] for r in walk) == [f"A{i:03d}" for i in range(1, 121)]
    assert [r["result"]["queue_no"] for r in second] == [r["result"]["queue_no"] for r in first]
    assert a.stats["requests"] > 0 and b.stats["requests"] > 0
    s = open_store(pg_url)
    try:
        tickets = s.checkin_tickets()
        assert sorted(t["appointment_id"] for t in tickets) == sorted(appts)  # one ticket per appointment
        by_line = [(t["line"], t["date"], t["queue_no"]) for t in tickets]
        assert len(set(by_line)) == len(by_line)
    finally:
        s.close()


def test_replays_across_instances_answer_once(two_instances, client, pg_url):
    a, b = two_instances
    c = seed.synthetic_citizen(40)
    ref = client.ok("citizen.lookup", {"id_number": c["id_number"], "name": c["name"]})["citizen_ref"]
    appt = client.ok("appointments.list", {"citizen_ref": ref})["appointments"][0]["appointment_id"]
    env = envelope.request("ZM-T0001", "checkin", {"appointment_id": appt, "citizen_ref": ref}, idem=envelope.new_id())
    for _ in range(10):  # the outbox resends the very same envelope; round robin spreads it over a and b
        client.send("checkin", {}, env=env)
    first = client.wait(env.id)
    replays_before = a.stats["replays"] + b.stats["replays"]
    key = envelope.new_id()
    answers = [client.call("ticket.walkin", {"line": "H"}, idem=key) for _ in range(6)]
    assert first["ok"] and all(x == answers[0] for x in answers) and answers[0]["ok"]
    assert client.call("ticket.walkin", {"line": "C"}, idem=key)["error"]["code"] == "conflict"
    assert a.stats["replays"] + b.stats["replays"] >= replays_before + 5
    # the ten sends were all answered: one applied check-in, nine replays of its answer
    s = open_store(pg_url)
    try:
        assert s.count_checkins(appt) == 1
        assert client.ok("ticket.walkin", {"line": "H"})["queue_no"] == "H002"  # the replays made no ticket
    finally:
        s.close()


def test_a_lost_database_connection_is_retried_by_the_batch(two_instances, client):
    a, b = two_instances
    admin, _ = _admin()
    try:
        for svc in (a, b):
            admin.execute("SELECT pg_terminate_backend(%s)", (svc.store.conn.info.backend_pid,))
    finally:
        admin.close()
    sent = [client.send("ticket.walkin", {"line": "D"}) for _ in range(10)]
    assert sorted(client.wait(e.id)["result"]["queue_no"] for e in sent) == [f"D{i:03d}" for i in range(1, 11)]
