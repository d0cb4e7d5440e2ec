"""The gateway on a broken disk, on a real Mosquitto with the in-test central responder: a disk
that fills up before a submit and after rows were stored, a full disk at start with rows waiting,
and a corrupt outbox or catalogue at start. The terminal keeps serving, says what is wrong once
(path and what to do), resends nothing that was answered, and catches up when the disk is back."""
from __future__ import annotations

import logging
import sqlite3

import pytest

from kiosk.network.catalogue import CatalogueCache
from kiosk.network.gateway import Gateway
from kiosk.network.outbox import Outbox
from kiosk.storage import StorageError, corrupt_copies
from tests.disk_faults import fill, tiny_fs
from tests.waiting import wait_for

from .conftest import REGIONS, TERMINAL


def _errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("kiosk")]


def test_disk_full_after_storing_answers_arrive_nothing_resent_logged_once(broker, responder, bus, waiter,
                                                                           tmp_path, caplog):
    with tiny_fs(tmp_path / "fs", 512) as fs, caplog.at_level(logging.DEBUG, logger="kiosk"):
        # retry_after_s: a row unanswered for 2 s is sent again; the ticks waited for below span more.
        gw = Gateway(TERMINAL, broker.url, REGIONS, fs / "state", bus, retry_after_s=2.0, reconnect_max_s=0.3)
        try:
            pendings = [gw.submit("checkin", {"appointment_id": f"AP-{i}"}) for i in range(20)]
            gw.outbox.checkpoint(truncate=True)  # the WAL emptied: from here every write needs new space ...
            filler = fill(fs)  # ... and there is none
            gw.start()
            results = [p.wait(20) for p in pendings]  # the citizens get their answers all the same
            assert [r["appointment_id"] for r in results] == [f"AP-{i}" for i in range(20)]
            # Each timer tick (1 s) tries the refused deletes again; the drain it runs would resend
            # any answered row it had forgotten. Let more ticks pass than retry_after_s.
            seen = gw.outbox.alarms()[0]["count"]
            wait_for(lambda: gw.outbox.alarms()[0]["count"] >= seen + 4, 30, "four more ticks")
            alarm = gw.outbox.alarms()[0]
            assert alarm["kind"] == "full" and str(fs / "state" / "outbox.sqlite3") in alarm["reason"]
            assert gw.outbox_depth() == 0 and gw.outbox.pending() == []
            sent = [e["id"] for t, e in responder.received if "/req/checkin" in t]
            assert len(sent) == 20 and set(responder.applied.values()) == {1}  # nothing resent
            assert len(_errors(caplog)) == 1 and not any(r.exc_info for r in caplog.records)
            filler.unlink()
            wait_for(lambda: not gw.outbox.alarms(), 30, "the disk fault to clear")
            db = sqlite3.connect(fs / "state" / "outbox.sqlite3")
            assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0  # deleted once it could be
            db.close()
            assert any("works again" in r.getMessage() for r in caplog.records)
        finally:
            gw.stop()


def test_submit_on_a_full_disk_is_a_typed_error_the_citizen_can_be_told(broker, responder, bus, waiter, tmp_path):
    alarms = []
    bus.subscribe("network.outbox_alarm", lambda e: alarms.append(e.data))
    with tiny_fs(tmp_path / "fs", 512) as fs:
        gw = Gateway(TERMINAL, broker.url, REGIONS, fs / "state", bus, reconnect_max_s=0.3)
        try:
            gw.start()
            waiter.wait("network.online")
            gw.outbox.checkpoint(truncate=True)
            filler = fill(fs)
            with pytest.raises(StorageError) as e:
                gw.submit("feedback.submit", {"kind": "consult", "target": {"hall": True}, "text": "好" * 2000})
            assert e.value.code == "storage" and e.value.kind == "full" and "free space" in e.value.action
            assert not gw._waiters  # nothing left waiting for an answer that cannot come
            assert alarms and alarms[0]["storage"] == "full" and str(fs) in alarms[0]["path"]
            assert gw.request("slots.list", {"item_code": "I-001", "date": "2026-11-25"})  # online still works
            filler.unlink()
            assert gw.submit("checkin", {"appointment_id": "AP-1"}).wait(10)["appointment_id"] == "AP-1"
        finally:
            gw.stop()


def test_corrupt_outbox_at_start_is_moved_aside_and_the_terminal_works(broker, responder, bus, waiter, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "outbox.sqlite3").write_bytes(b"SQLite format 3\0" + b"\x07" * 8000)  # a damaged file
    alarms = []
    bus.subscribe("network.outbox_alarm", lambda e: alarms.append(e.data))
    gw = Gateway(TERMINAL, broker.url, REGIONS, state, bus, reconnect_max_s=0.3)
    try:
        gw.start()
        waiter.wait("network.online")
        assert gw.submit("checkin", {"appointment_id": "AP-1"}).wait(10)["appointment_id"] == "AP-1"
        [copy] = corrupt_copies(state / "outbox.sqlite3")
        assert copy.read_bytes()[:16] == b"SQLite format 3\0"  # kept as it was, for recovery
        assert alarms[0]["kind"] == "corrupt" and alarms[0]["moved_to"] == str(copy)
        assert gw.outbox_health()["alarms"][0]["kind"] == "corrupt_kept"
    finally:
        gw.stop()


def test_rows_waiting_leave_when_the_disk_is_full_at_start(broker, responder, bus, waiter, tmp_path, caplog):
    """A terminal that restarts on a full disk with rows waiting sends them. It did not start: the
    file closed cleanly has no -shm index, SQLite could not make one (SQLITE_IOERR_SHMSIZE), and
    `kiosk run` refused with "disk I/O error ... replace the storage"."""
    with tiny_fs(tmp_path / "fs", 1024) as fs, caplog.at_level(logging.DEBUG, logger="kiosk"):
        state = fs / "state"
        ob = Outbox(state / "outbox.sqlite3")
        for i in range(5):
            ob.put(f"id-{i}", "checkin", "req", f"k-{i}", {"appointment_id": f"AP-{i}"})
        ob.close()
        assert not (state / "outbox.sqlite3-shm").exists()  # a clean close removes it
        filler = fill(fs)
        gw = Gateway(TERMINAL, broker.url, REGIONS, state, bus, reconnect_max_s=0.3)
        try:
            gw.start()
            assert responder.wait_for(lambda got: sum("/req/checkin" in t for t, _ in got) >= 5, 20)
            wait_for(lambda: gw.outbox_depth() == 0, 20, "the answers to settle the five rows")
            assert set(responder.applied) == {f"k-{i}" for i in range(5)}
            assert corrupt_copies(state / "outbox.sqlite3") == []  # full is not corrupt
            assert all("disk full" in r.getMessage() for r in _errors(caplog))
            with pytest.raises(StorageError) as err:  # a new row: refused, typed, names the file
                gw.submit("checkin", {"appointment_id": "AP-9"})
            assert err.value.kind == "full" and str(state) in str(err.value)
            filler.unlink()
            assert gw.submit("checkin", {"appointment_id": "AP-9"}).wait(10)["appointment_id"] == "AP-9"
        finally:
            gw.stop()


def test_corrupt_catalogue_at_start_is_moved_aside_and_synced_again(broker, responder, bus, waiter, tmp_path):
    """The catalogue cache is a copy: a damaged file must not stop the terminal (it died in
    CatalogueCache with a raw "file is not a database" and no path)."""
    state = tmp_path / "state"
    state.mkdir()
    damaged = b"SQLite format 3\0" + b"\x07" * 8000
    (state / "catalogue.sqlite3").write_bytes(damaged)
    gw = Gateway(TERMINAL, broker.url, REGIONS, state, bus, reconnect_max_s=0.3)
    try:
        assert gw.catalogue.fault is not None and gw.catalogue.fault.kind == "corrupt"
        assert str(state / "catalogue.sqlite3") in str(gw.catalogue.fault)
        [copy] = corrupt_copies(state / "catalogue.sqlite3")
        assert copy.read_bytes() == damaged  # kept as it was
        gw.start()
        waiter.wait("network.online")
        assert gw.sync_catalogue(5) and gw.catalogue.item("I-001") is not None
    finally:
        gw.stop()


def test_catalogue_on_a_full_disk_at_first_start_is_kept_in_memory(tmp_path):
    with tiny_fs(tmp_path / "fs", 256) as fs:
        fill(fs)
        cache = CatalogueCache(fs / "state")
        try:
            assert cache.fault is not None and cache.fault.kind == "full"
            assert str(fs / "state" / "catalogue.sqlite3") in str(cache.fault)
            assert cache.store({"version": 2, "categories": [], "departments": [], "lines": [],
                                "items": [{"code": "I-1", "name": "老年优待证办理"}]})
            assert cache.version == 2 and cache.item("I-1") is not None
        finally:
            cache.close()
