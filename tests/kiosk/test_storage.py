"""kiosk.storage: the state directory check, SQLite faults told apart, a corrupt file moved aside
with its companions, a repeating fault logged once, and the doctor's read-only probes. Real file
systems: a read-only bind mount and an immutable file (tests/disk_faults.py)."""
from __future__ import annotations

import logging
import sqlite3

import pytest

from kiosk import storage
from kiosk.storage import StorageError
from tests.disk_faults import immutable, read_only_mount


def test_state_dir_is_created_with_its_parents(tmp_path):
    assert storage.check_state_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir() and not list((tmp_path / "a" / "b").iterdir())  # probe removed


@pytest.mark.parametrize("layout, kind", [("file", "not_a_directory"), ("under_a_file", "missing")])
def test_unusable_state_dir_is_a_typed_error_naming_the_path(tmp_path, layout, kind):
    (tmp_path / "f").write_text("x")
    path = tmp_path / "f" if layout == "file" else tmp_path / "f" / "state"
    with pytest.raises(StorageError) as e:
        storage.check_state_dir(path)
    assert e.value.kind == kind and str(path) in e.value.reason and e.value.action
    assert e.value.citizen_message and e.value.code == "storage"


def test_read_only_state_dir_is_refused_even_for_root(tmp_path):
    (tmp_path / "state").mkdir()
    with read_only_mount(tmp_path / "state"):
        with pytest.raises(StorageError) as e:
            storage.check_state_dir(tmp_path / "state")
    assert e.value.kind == "read_only" and str(tmp_path / "state") in e.value.reason
    assert "read-write" in e.value.action
    # Checked before `kiosk run` starts: nothing would retry, so the advice is to start it again.
    assert "start the kiosk again" in e.value.action and "resumes by itself" not in e.value.action


def test_resumes_by_itself_only_where_the_running_terminal_retries(tmp_path):
    """The outbox of a running terminal retries the disk at every put and drain: there, and only
    there, a full or read-only disk "resumes by itself" once fixed (issue 13: `kiosk run` exiting on
    a full disk said so too)."""
    for kind in ("full", "read_only"):
        running = StorageError(kind, tmp_path / "outbox.sqlite3", "x")
        assert running.action.endswith(storage.RESUMES), running.action
        at_start = StorageError(kind, tmp_path / "outbox.sqlite3", "x").at_start()
        assert storage.RESUMES not in at_start.action and at_start.action.endswith(storage.START_AGAIN)
    for kind in ("cannot_open", "io", "busy", "missing", "not_a_directory"):
        assert storage.RESUMES not in StorageError(kind, tmp_path, "x").action
        assert StorageError(kind, tmp_path, "x").at_start().action.endswith(storage.START_AGAIN)
    own = StorageError("corrupt", tmp_path / "outbox.sqlite3", "x", action="move it away by hand")
    assert own.at_start().action == "move it away by hand"  # an action given where it was raised stays


def test_sqlite_faults_are_told_apart(tmp_path):
    zero = tmp_path / "zero.db"
    zero.write_bytes(b"\0" * 8192)
    with pytest.raises(sqlite3.DatabaseError) as e:
        sqlite3.connect(zero).execute("PRAGMA journal_mode=WAL")
    assert storage.classify(e.value) == "corrupt"
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(sqlite3.OperationalError) as e:
        sqlite3.connect(tmp_path / "dir.db").execute("PRAGMA journal_mode=WAL")
    assert storage.classify(e.value) == "cannot_open"
    db_path = tmp_path / "ro.db"
    sqlite3.connect(db_path).execute("CREATE TABLE t (x)").connection.close()
    with immutable(db_path):
        db = sqlite3.connect(db_path)
        with pytest.raises(sqlite3.OperationalError) as e:
            db.execute("INSERT INTO t VALUES (1)")
        db.close()
    assert storage.classify(e.value) == "read_only"
    assert storage.error_for(db_path, e.value).kind == "read_only"


def test_move_aside_keeps_the_file_and_its_wal_under_one_new_name(tmp_path):
    db = tmp_path / "outbox.sqlite3"
    for suffix, data in (("", b"main"), ("-wal", b"wal"), ("-shm", b"shm")):
        (tmp_path / f"outbox.sqlite3{suffix}").write_bytes(data)
    moved = storage.move_aside(db, now=0)
    assert moved.name == "outbox.sqlite3.corrupt-19700101T000000Z"
    assert moved.read_bytes() == b"main" and (tmp_path / (moved.name + "-wal")).read_bytes() == b"wal"
    assert not db.exists() and not (tmp_path / "outbox.sqlite3-wal").exists()
    db.write_bytes(b"again")
    assert storage.move_aside(db, now=0).name.endswith("Z.1")  # never over an earlier copy
    assert [c.name for c in storage.corrupt_copies(db)] == [moved.name, moved.name + ".1"]


def test_move_aside_of_an_immutable_file_is_a_typed_error(tmp_path):
    db = tmp_path / "outbox.sqlite3"
    db.write_bytes(b"x")
    with immutable(db):
        with pytest.raises(StorageError) as e:
            storage.move_aside(db)
        assert db.exists() and not storage.corrupt_copies(db)
    assert e.value.kind == "corrupt" and "by hand" in e.value.action


def test_a_repeating_fault_is_logged_once_then_counted_then_cleared_once(caplog):
    alarms = []
    faults = storage.FaultLog(logging.getLogger("test.storage"), alarms.append)
    err = StorageError("full", "/x/outbox.sqlite3", "database or disk is full")
    with caplog.at_level(logging.DEBUG, logger="test.storage"):
        assert faults.fault("write", err) is True
        for _ in range(50):
            assert faults.fault("write", err) is False
        assert faults.active()[0]["count"] == 51
        faults.clear("write")
        faults.clear("write")
    levels = [r.levelno for r in caplog.records]
    assert levels.count(logging.ERROR) == 1 and levels.count(logging.INFO) == 1
    assert "/x/outbox.sqlite3" in caplog.records[0].getMessage() and len(alarms) == 1
    assert "51 failures" in caplog.records[-1].getMessage() and not faults.active()


def test_probes_read_only(tmp_path):
    db = tmp_path / "o.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    before = db.read_bytes()
    assert storage.quick_check(db) == "ok" and storage.writable(db) is None
    assert db.read_bytes() == before
    with immutable(db):
        assert "not permitted" in storage.writable(db)
    db.write_bytes(b"\0" * 4096)
    assert storage.quick_check(db) != "ok"
    assert storage.free_bytes(tmp_path / "not" / "yet") > 0
