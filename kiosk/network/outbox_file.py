"""The outbox's SQLite file: opened with what durability needs, checked, and recovered.

Owns the connection and its lock, runs every transaction (:meth:`OutboxFile.tx`) and read
(:meth:`OutboxFile.read`), and turns SQLite's failures into a typed
:class:`~kiosk.storage.StorageError` naming the file and what to do, logged once per fault
(:class:`kiosk.storage.FaultLog`). A file SQLite opened read-only is reopened at the next try (a
file made writable again works without a restart). A corrupt file (found by ``PRAGMA
quick_check`` at open, or by SQLite later) or a directory in its place is moved aside as
``outbox.sqlite3.corrupt-<time>`` (kept for recovery, never deleted), and a fresh file carries on
with the rows that can still be read and an alarm. WAL, ``synchronous=FULL``, ``secure_delete``.
What a row is and when it leaves: :mod:`kiosk.network.outbox`.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kiosk import storage
from kiosk.events import EventBus
from kiosk.storage import StorageError

log = logging.getLogger("kiosk.network.outbox")
_T = TypeVar("_T")

#: Why 60 s: WAL grows until checkpointed; a kiosk writes a few rows a minute, so a passive
#: checkpoint each minute keeps the -wal file small without competing with writers.
CHECKPOINT_INTERVAL_S = 60.0

COLUMNS = "seq, id, op, kind, idem, body, created, attempts, last_error"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    op         TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('req', 'evt')),
    idem       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created    REAL NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    failures   INTEGER NOT NULL DEFAULT 0
)
"""
#: Rows set aside: the same columns (bodies as stored: references or sealed) and when.
_DEAD_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letter (
    seq        INTEGER NOT NULL,
    id         TEXT PRIMARY KEY,
    op         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    idem       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created    REAL NOT NULL,
    attempts   INTEGER NOT NULL,
    last_error TEXT,
    failures   INTEGER NOT NULL,
    dead_at    REAL NOT NULL
)
"""
#: The columns every version of the file has (salvage reads only these from an old one).
DEAD_COLUMNS = COLUMNS + ", failures, dead_at"


#: What a fresh outbox takes before any row (its file, -wal and -shm index), with a margin.
_FRESH_BYTES = 160 * 1024


def _size(path: Path) -> int:
    """The bytes of a file (with its -wal); 0 for what has none (a directory in its place)."""
    total = 0
    for p in (path, Path(str(path) + "-wal")):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            pass
    return total


class _Corrupt(Exception):
    """PRAGMA quick_check found the file damaged."""


class OutboxFile:
    """One outbox database file; safe to call from several threads."""

    def __init__(self, path: str | Path, bus: EventBus | None = None,
                 checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self.path = Path(path)
        self.bus = bus
        self.checkpoint_interval_s = checkpoint_interval_s
        # Re-entrant: an alarm is published with the lock held, and a subscriber may read the depth.
        self._lock = threading.RLock()
        self._faults = storage.FaultLog(log, self._storage_alarm)
        self._db: sqlite3.Connection | None = self._open()
        self._last_checkpoint = time.monotonic()

    @property
    def db(self) -> sqlite3.Connection | None:
        """The open connection (tests look at its pragmas)."""
        return self._db

    # -- opening, and recovery from a corrupt file ----------------------------------------------
    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(storage.classify(e), self.path.parent, f"cannot be created: {e.strerror or e}") from None
        unusable = storage.unusable_files(self.path)
        if unusable is not None:
            raise unusable
        if self.path.is_dir():
            return self._recover("a directory is where the outbox file should be")
        try:
            db = self._connect()
        except _Corrupt as e:
            return self._recover(str(e))
        except sqlite3.DatabaseError as e:
            if storage.classify(e) != "corrupt":
                raise storage.error_for(self.path, e) from None
            return self._recover(str(e))
        problem = storage.writable(self.path)
        if problem is not None:  # e.g. chattr +i: readable, so rows still leave; puts are refused
            self._faults.fault("write", StorageError("read_only", self.path, problem))
        return db

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; we open each one explicitly.
        db = storage.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            # Why: an acknowledged row's bytes (a sealed photo, a check-in) must not linger in free pages.
            db.execute("PRAGMA secure_delete=ON")
            # Why at every open: a damaged page is found now, moved aside, and not at the first
            # drain (a traceback a second). The outbox is small; this takes milliseconds.
            check = [r[0] for r in db.execute("PRAGMA quick_check(5)")]
            if check != ["ok"]:
                raise _Corrupt("quick_check: " + "; ".join(map(str, check)))
            db.execute(_SCHEMA)
            db.execute(_DEAD_SCHEMA)
            if "failures" not in {r[1] for r in db.execute("PRAGMA table_info(outbox)")}:
                db.execute("ALTER TABLE outbox ADD COLUMN failures INTEGER NOT NULL DEFAULT 0")  # older files
        except BaseException:
            db.close()
            raise
        return db

    def _recover(self, detail: str) -> sqlite3.Connection:
        """Move the corrupt file aside, start a fresh one, carry over what can be read, raise the alarm."""
        # Why first: moved aside on a full disk, the fresh file could not be made; the next start,
        # after space was freed, opened the empty file left behind as a new outbox and never
        # carried over the rows readable in the copy (a cold try). Left in place, it is recovered then.
        need = 2 * _size(self.path) + _FRESH_BYTES  # the fresh file, its WAL and index, the rows carried over
        free = storage.free_bytes(self.path.parent)
        if free < need:
            raise StorageError("full", self.path, f"{detail}; not moved aside yet: {free} bytes free, a fresh "
                               f"outbox with the rows carried over needs about {need}")
        moved = storage.move_aside(self.path)  # StorageError when it cannot be moved: nothing changed
        try:
            db = self._connect()
        except _Corrupt as e:
            raise StorageError("corrupt", self.path, str(e)) from None
        except sqlite3.DatabaseError as e:
            raise storage.error_for(self.path, e) from None
        outbox = storage.salvage(moved, "outbox", COLUMNS)
        dead = storage.salvage(moved, "dead_letter", DEAD_COLUMNS)
        kept = 0
        try:
            db.execute("BEGIN IMMEDIATE")  # one transaction: one fsync for every row carried over
            for table, columns, rows in (("outbox", COLUMNS, outbox), ("dead_letter", DEAD_COLUMNS, dead)):
                marks = ", ".join("?" * len(columns.split(",")))
                for r in rows:
                    try:
                        json.loads(r[5])
                    except (ValueError, TypeError):
                        continue  # a row damaged beyond reading stays in the moved file only
                    db.execute(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})", r)
                    kept += 1
            db.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            db.close()
            raise storage.error_for(self.path, e) from None
        err = StorageError("corrupt", self.path, f"{detail}; moved aside to {moved.name}, {kept} rows carried over")
        log.error("%s (%s)", err.reason, err.action, extra={"code": err.code, "kind": "corrupt"})
        if self.bus is not None:
            self.bus.publish("network.outbox_alarm", {"kind": "corrupt", **err.to_dict(), "moved_to": str(moved),
                                                      "carried_over": kept}, source="network")
        return db

    def _recover_live(self, detail: str) -> None:
        """A corrupt page found while running (lock held): the same recovery, on the open file.
        Closed first: a connection closed after the move would delete the fresh file's WAL."""
        self._close_quietly()  # until a file is open again: each later call tries (_db_open)
        self._db = self._recover(detail)

    def _db_open(self) -> sqlite3.Connection:
        """The connection; reopened (with recovery) after a failed recovery left none."""
        if self._db is None:
            self._db = self._open()
        return self._db

    # -- the one place SQLite is called: typed errors, faults logged once ------------------------
    def tx(self, fn: Callable[[sqlite3.Connection], _T], key: str = "write", durable: bool = True) -> _T:
        """Run ``fn(db)`` in one ``BEGIN IMMEDIATE`` transaction; a corrupt file is recovered and
        ``fn`` retried once; any other disk fault raises :class:`StorageError` (logged once).

        ``durable=False`` (diagnostic counters only): committed without waiting for the disk
        (``synchronous=NORMAL``: atomic, and made durable by the next full commit); every change
        of the rows themselves waits for the disk."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    db = self._db_open()
                    if db.in_transaction:  # a ROLLBACK the disk refused earlier
                        db.execute("ROLLBACK")
                    if not durable:
                        db.execute("PRAGMA synchronous=NORMAL")
                    try:
                        db.execute("BEGIN IMMEDIATE")
                        out = fn(db)
                        db.execute("COMMIT")
                    except BaseException:
                        try:
                            if db.in_transaction:
                                db.execute("ROLLBACK")
                        except sqlite3.Error:
                            pass
                        raise
                    finally:
                        if not durable:
                            db.execute("PRAGMA synchronous=FULL")
                except StorageError as err:
                    self._faults.fault(key, err)
                    raise
                except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
                    raise  # a programming error, not the disk
                except sqlite3.DatabaseError as e:
                    self._fault(key, e, attempt)
                    continue
                self._faults.clear(key)
                self._maybe_checkpoint()
                return out
        raise AssertionError("unreachable")  # pragma: no cover

    def read(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run a read; the same error handling as :meth:`tx`."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    out = fn(self._db_open())
                except StorageError as err:
                    self._faults.fault("read", err)
                    raise
                except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
                    raise
                except sqlite3.DatabaseError as e:
                    self._fault("read", e, attempt)
                    continue
                self._faults.clear("read")
                return out
        raise AssertionError("unreachable")  # pragma: no cover

    def _fault(self, key: str, e: sqlite3.DatabaseError, attempt: int) -> None:
        """Lock held: recover a corrupt file or reopen a read-only one (the caller then retries
        once), else raise a typed error, logged once."""
        kind = storage.classify(e)
        if attempt == 1 and kind == "read_only":
            # SQLite keeps a file it opened read-only so: a file made writable again (chattr -i,
            # remount) works at the next try without a restart.
            self._close_quietly()
            return
        if attempt == 1 and kind == "corrupt":
            try:
                self._recover_live(str(e))
                return
            except StorageError as err:
                self._faults.fault(key, err)
                raise err from None
        error = storage.error_for(self.path, e)
        self._faults.fault(key, error)
        raise error from None

    def _close_quietly(self) -> None:
        try:
            if self._db is not None:
                self._db.close()
        except sqlite3.Error:
            pass
        self._db = None

    def alarms(self) -> list[dict[str, Any]]:
        """What staff and operators must see: disk faults in force and corrupt files kept aside."""
        out = [{"kind": f["kind"], "code": f["code"], "reason": f["reason"], "action": f["action"],
                "count": f["count"]} for f in self._faults.active()]
        for copy in storage.corrupt_copies(self.path):
            out.append({"kind": "corrupt_kept", "code": "storage", "reason": f"corrupt outbox kept at {copy}",
                        "action": f"recover its rows (sqlite3 {copy} .recover) or archive it; then delete it"})
        return out

    def checkpoint(self, truncate: bool = False) -> None:
        """Fold the WAL back into the database file (passive: never blocks writers); ``truncate``
        also empties the -wal file, giving its disk space back."""
        with self._lock:
            self._maybe_checkpoint(force=True, mode="TRUNCATE" if truncate else "PASSIVE")

    def maybe_checkpoint(self) -> None:
        """Checkpoint if the interval has passed."""
        with self._lock:
            self._maybe_checkpoint()

    def _maybe_checkpoint(self, force: bool = False, mode: str = "PASSIVE") -> None:
        # Called with the lock held, after a commit: a failed checkpoint must not fail the write
        # that came before it (the row is stored); it is logged once and retried at the interval.
        if self._db is None or (not force and time.monotonic() - self._last_checkpoint < self.checkpoint_interval_s):
            return
        self._last_checkpoint = time.monotonic()
        try:
            self._db.execute(f"PRAGMA wal_checkpoint({mode})")
        except sqlite3.DatabaseError as e:
            self._faults.fault("checkpoint", storage.error_for(self.path, e))
        else:
            self._faults.clear("checkpoint")

    def _storage_alarm(self, fault: dict[str, Any]) -> None:
        if self.bus is not None:
            self.bus.publish("network.outbox_alarm", {**fault, "kind": "storage", "storage": fault["kind"]},
                             source="network")

    def close(self) -> None:
        """Checkpoint and close the database."""
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError as e:
                log.debug("checkpoint at close failed: %s", e)
            finally:
                self._db.close()
                self._db = None
