"""The running count of waiting tickets ("people ahead") agrees with counting the tickets, on
SQLite and on PostgreSQL, through new tickets, tickets leaving and re-entering the queue, several
lines and days, and a database that had tickets before the counter existed."""
from __future__ import annotations

import pytest

from hall_central.store import Store
from hall_central.stores import open_store

from .test_store_pg import pg_url  # noqa: F401  (the PostgreSQL fixture: a fresh schema per test)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """An open store of each dialect."""
    s = Store(tmp_path / "c.db") if request.param == "sqlite" else open_store(request.getfixturevalue("pg_url"))
    yield s
    s.close()


def _new(store, line: str, date: str = "2026-11-25") -> tuple[int, int]:
    """Issue the next ticket of ``line``; (its ticket id, people ahead as add_ticket reports it)."""
    seq = store.next_seq("H1", line, date)
    ahead = store.add_ticket({"hall": "H1", "line": line, "date": date, "seq": seq, "queue_no": f"{line}{seq:03d}",
                              "window": "W1", "created_at": "2026-11-25T01:00:00Z"})
    tid = store._val("SELECT ticket_id FROM tickets WHERE hall='H1' AND line=? AND date=? AND seq=?", (line, date, seq))
    return tid, ahead


def _counted(store, line: str, date: str = "2026-11-25") -> int:
    """Waiting tickets of the line, counted the slow way."""
    return store._val("SELECT COUNT(*) FROM tickets WHERE hall='H1' AND line=? AND date=? AND status='waiting'",
                      (line, date))


def test_running_count_matches_counting_through_a_day(store):
    with store.transaction():
        ids = []
        for k in range(5):
            tid, ahead = _new(store, "A")
            assert ahead == k == _counted(store, "A") - 1
            ids.append(tid)
        assert _new(store, "B")[1] == 0  # another line has its own count
        assert _new(store, "A", "2026-11-26")[1] == 0  # and another day
        store.set_ticket_status(ids[0], "served")
        store.set_ticket_status(ids[0], "served")  # the same move twice changes nothing
        store.set_ticket_status(ids[2], "called")
        store.set_ticket_status(ids[2], "served")  # called -> served: already out of the queue
        tid, ahead = _new(store, "A")
        assert ahead == 3 == _counted(store, "A") - 1
        store.set_ticket_status(ids[2], "waiting")  # put back in the queue
        assert _new(store, "A")[1] == 5 == _counted(store, "A") - 1
        store.set_ticket_status(10_000, "served")  # an unknown ticket: nothing happens
        assert _new(store, "A")[1] == _counted(store, "A") - 1


def test_a_database_with_tickets_from_before_the_counter_starts_from_a_count(store):
    with store.transaction():
        for _ in range(3):
            _new(store, "A")
        store._exec("DELETE FROM queue_waiting")  # as a database written before the counter existed
        assert _new(store, "A")[1] == 3
        assert _new(store, "A")[1] == 4 == _counted(store, "A") - 1

