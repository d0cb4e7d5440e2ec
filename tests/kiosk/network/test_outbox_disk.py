"""The outbox on a broken disk, with real faults (tests/disk_faults.py): a tmpfs that fills up,
byte-level corruption, a directory in the file's place, an immutable file, a read-only mount.
Each gives a typed error naming the path and what to do, logged once; a corrupt file is moved
aside (kept) and a fresh one carries on with what could be read; nothing already stored is lost."""
from __future__ import annotations

import logging
import os
import sqlite3

import pytest

from kiosk.events import EventBus
from kiosk.network.outbox import Outbox
from kiosk.storage import StorageError, corrupt_copies
from tests.disk_faults import PAGE, fill, immutable, overwrite, read_only_mount, tiny_fs

FEEDBACK = {"kind": "consult", "target": {"hall": True}, "text": "x" * 400}


def _alarms(bus: EventBus) -> list[dict]:
    got: list[dict] = []
    bus.subscribe("network.outbox_alarm", lambda e: got.append(e.data))
    return got


def _filled(path, rows: int = 60) -> None:
    """An outbox file holding ``rows`` rows, closed (everything in the main file, no WAL)."""
    ob = Outbox(path)
    for i in range(rows):
        ob.put(f"id{i:03d}", "feedback.submit", "req", f"k{i}", FEEDBACK)
    ob.close()


def _errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("kiosk")]


def test_disk_full_before_a_put_is_typed_logged_once_and_resumes(tmp_path, caplog):
    with tiny_fs(tmp_path / "fs", 512) as fs:
        bus = EventBus()
        alarms = _alarms(bus)
        ob = Outbox(fs / "state" / "outbox.sqlite3", bus=bus)
        ob.put("kept", "checkin", "req", "k0", {"appointment_id": "AP-0"})
        ob.checkpoint(truncate=True)  # the WAL folded in and emptied: the next write needs new space
        filler = fill(fs)
        with caplog.at_level(logging.DEBUG, logger="kiosk"):
            for i in range(20):
                with pytest.raises(StorageError) as e:
                    ob.put(f"x{i}", "feedback.submit", "req", f"kx{i}", FEEDBACK)
            assert e.value.kind == "full" and str(fs / "state" / "outbox.sqlite3") in e.value.reason
            assert "free space" in e.value.action and e.value.code == "storage" and e.value.citizen_message
            assert [r.id for r in ob.pending()] == ["kept"]  # nothing half-stored, nothing lost
            assert len(_errors(caplog)) == 1 and not any(r.exc_info for r in caplog.records)
            assert len([a for a in alarms if a["kind"] == "storage"]) == 1 and alarms[0]["storage"] == "full"
            assert ob.alarms()[0]["kind"] == "full"
            filler.unlink()
            ob.put("after", "checkin", "req", "k1", {"appointment_id": "AP-1"})
        assert [r.id for r in ob.pending()] == ["kept", "after"] and ob.alarms() == []
        assert any("works again" in r.getMessage() for r in caplog.records)
        ob.close()


def _header(p):
    overwrite(p, 0, b"garbage!" * 8)


def _zeroed(p):
    overwrite(p, 0, b"\0" * p.stat().st_size)


def _truncated(p):
    os.truncate(p, p.stat().st_size // 2)


def _bad_page(p):
    overwrite(p, 7 * PAGE, os.urandom(PAGE))  # page 8: one leaf of the outbox table


def _directory(p):
    p.unlink()
    p.mkdir()
    (p / "left-here").write_text("kept")


@pytest.mark.parametrize("damage, carried", [(_header, 0), (_zeroed, 0), (_truncated, 0), (_bad_page, (1, 59)),
                                             (_directory, 0)])
def test_corrupt_file_at_open_is_moved_aside_and_a_fresh_one_carries_on(tmp_path, caplog, damage, carried):
    path = tmp_path / "state" / "outbox.sqlite3"
    _filled(path)
    damage(path)
    bus = EventBus()
    alarms = _alarms(bus)
    with caplog.at_level(logging.INFO, logger="kiosk"):
        ob = Outbox(path, bus=bus)
    [moved] = corrupt_copies(path)
    assert moved.name.startswith("outbox.sqlite3.corrupt-") and moved.exists()  # kept, never deleted
    rows = [r.id for r in ob.pending()]
    if isinstance(carried, tuple):
        assert carried[0] <= len(rows) <= carried[1] and rows == sorted(rows)  # what could be read, in order
    else:
        assert len(rows) == carried
    ob.put("new", "checkin", "req", "kn", {"appointment_id": "AP-N"})  # the fresh file works
    assert ob.pending()[-1].id == "new"
    [alarm] = alarms
    assert alarm["kind"] == "corrupt" and alarm["moved_to"] == str(moved) and str(path) in alarm["reason"]
    assert alarm["carried_over"] == len(rows)
    assert [a["kind"] for a in ob.alarms()] == ["corrupt_kept"] and str(moved) in ob.alarms()[0]["reason"]
    assert len(_errors(caplog)) == 1 and not any(r.exc_info for r in caplog.records)
    ob.close()


def test_a_corrupt_file_on_a_full_disk_stays_in_place_until_its_rows_can_be_carried_over(tmp_path):
    """A cold try: moved aside on a full disk, no fresh file could be made; the next start, with
    space again, opened the empty file left behind as a new outbox: the readable rows stayed in
    the copy. Now it stays where it is (the disk is full, typed), and is recovered once there is room."""
    with tiny_fs(tmp_path / "fs", 1024) as fs:
        path = fs / "outbox.sqlite3"
        _filled(path)
        _bad_page(path)
        filler = fill(fs)
        for _ in range(2):  # each start refuses alike, and changes nothing
            with pytest.raises(StorageError) as e:
                Outbox(path)
            assert e.value.kind == "full" and "not moved aside" in e.value.reason
            assert corrupt_copies(path) == [] and path.stat().st_size > 0
        filler.unlink()
        ob = Outbox(path)
        assert len(corrupt_copies(path)) == 1 and len(ob.pending()) >= 1  # the readable rows carried over
        ob.close()


def test_corrupt_page_found_while_running_is_recovered_once(tmp_path, caplog):
    path = tmp_path / "outbox.sqlite3"
    bus = EventBus()
    alarms = _alarms(bus)
    ob = Outbox(path, bus=bus)
    for i in range(60):
        ob.put(f"id{i:03d}", "feedback.submit", "req", f"k{i}", FEEDBACK)
    ob.checkpoint(truncate=True)
    overwrite(path, 7 * PAGE, os.urandom(PAGE))
    ob._db.execute("PRAGMA shrink_memory")  # memory pressure: the damaged page is read from disk again
    with caplog.at_level(logging.INFO, logger="kiosk"):
        rows = ob.pending()
        for _ in range(10):
            ob.pending()
    assert 1 <= len(rows) < 60 and len(corrupt_copies(path)) == 1
    assert [a["kind"] for a in alarms] == ["corrupt"] and len(_errors(caplog)) == 1
    assert not any(r.exc_info for r in caplog.records)
    assert ob.settle([rows[0].id]) == {rows[0].id}  # the fresh file takes writes
    ob.close()


def test_immutable_file_sends_but_refuses_puts_then_resumes(tmp_path, caplog):
    path = tmp_path / "outbox.sqlite3"
    ob = Outbox(path)
    for i in range(3):
        ob.put(f"id{i}", "checkin", "req", f"k{i}", {"appointment_id": f"AP-{i}"})
    ob.close()
    bus = EventBus()
    alarms = _alarms(bus)
    with caplog.at_level(logging.DEBUG, logger="kiosk"), immutable(path):
        ob = Outbox(path, bus=bus)
        assert [r.id for r in ob.pending()] == ["id0", "id1", "id2"]  # still readable: rows can leave
        with pytest.raises(StorageError) as e:
            ob.put("new", "checkin", "req", "kn", {"appointment_id": "AP-N"})
        assert e.value.kind == "read_only" and str(path) in e.value.reason and "chattr -i" in e.value.action
        for _ in range(10):  # answers keep coming and the timer keeps trying: no storm of logs
            assert ob.settle(["id0"]) in ({"id0"}, set())
            ob.record_attempts(["id1", "id2"])
            ob.maybe_checkpoint()
        assert [r.id for r in ob.pending()] == ["id1", "id2"]  # answered, remembered: never resent
        assert ob.depth() == 2 and ob.alarms()[0]["kind"] in ("read_only", "io")
        assert len(_errors(caplog)) == 1 and [a["kind"] for a in alarms] == ["storage"]
        assert not any(r.exc_info for r in caplog.records)
    ob.maybe_checkpoint()  # writable again: the answered row is deleted now
    assert [r[0] for r in sqlite3.connect(path).execute("SELECT id FROM outbox")] == ["id1", "id2"]
    assert ob.alarms() == []
    ob.close()


def test_unusable_state_dir_is_typed(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError) as e:
        Outbox(tmp_path / "file" / "outbox.sqlite3")
    assert str(tmp_path / "file") in e.value.reason and e.value.action
    (tmp_path / "ro").mkdir()
    with read_only_mount(tmp_path / "ro"):
        with pytest.raises(StorageError) as e:
            Outbox(tmp_path / "ro" / "state" / "outbox.sqlite3")
    assert e.value.kind == "read_only" and str(tmp_path / "ro" / "state") in e.value.reason


def test_an_outbox_file_of_the_previous_version_is_upgraded(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, "
               "op TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('req', 'evt')), idem TEXT NOT NULL, "
               "body TEXT NOT NULL, created REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)")
    db.execute("INSERT INTO outbox (id, op, kind, idem, body, created) VALUES ('old', 'checkin', 'req', 'k', "
               "'{\"appointment_id\": \"AP-1\"}', 0)")
    db.commit()
    db.close()
    ob = Outbox(path, dead_letter_after=1)
    assert [r.id for r in ob.pending()] == ["old"]
    assert ob.record_failure("old", "unreadable answer") == "dead" and ob.dead_count() == 1
    ob.close()


def test_settle_is_one_transaction_and_a_late_readable_answer_settles_a_dead_letter(tmp_path):
    bus = EventBus()
    dead = []
    bus.subscribe("network.dead_letter", lambda e: dead.append(e.data))
    ob = Outbox(tmp_path / "o.sqlite3", bus=bus, dead_letter_after=2)
    for i in range(5):
        ob.put(f"id{i}", "checkin", "req", f"k{i}", {"appointment_id": f"AP-{i}"})
    assert ob.record_failure("id4", "bad answer 1") == "counted" and ob.depth() == 5
    assert ob.record_failure("id4", "bad answer 2") == "dead" and ob.depth() == 4
    assert dead == [{"id": "id4", "op": "checkin", "reason": "bad answer 2", "failures": 2, "dead_letters": 1}]
    assert ob.record_failure("nope", "x") is None
    ob.put("id5", "checkin", "req", "k5", {"appointment_id": "AP-5"})
    ob.record_failure("id5", "unknown type '410122199001011234'")  # an answer quoting a citizen's number
    assert "4101221990" not in ob.get("id5").last_error and "410***" in ob.get("id5").last_error
    ob.settle(["id5"])
    statements: list[str] = []
    ob._db.set_trace_callback(statements.append)
    assert ob.settle(["id0", "id1", "id1", "unknown"]) == {"id0", "id1"}
    assert statements.count("COMMIT") == 1  # the batch's answers: one transaction, one fsync
    statements.clear()
    ob.record_attempts(["id2", "id3"])
    assert statements.count("COMMIT") == 1 and "PRAGMA synchronous=FULL" in statements  # back to FULL
    ob._db.set_trace_callback(None)
    assert ob._db.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert [r.attempts for r in ob.pending()] == [1, 1]
    assert ob.dead_letters()[0]["id"] == "id4" and "body" not in ob.dead_letters()[0]
    assert ob.settle(["id4"]) == {"id4"} and ob.dead_count() == 0  # answered after all
    assert [r.id for r in ob.pending()] == ["id2", "id3"]
    ob.close()
