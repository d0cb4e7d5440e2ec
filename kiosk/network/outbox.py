"""The durable outbox: what must not be lost (bookings, check-ins, feedback, events) waits here.

A row is written (and fsynced: WAL + ``synchronous=FULL``, one explicit ``BEGIN IMMEDIATE``
transaction per change) BEFORE the message is published, and removed only when the central
service's response or event acknowledgement arrives: never on PUBACK alone (PITFALLS.md). Answers
that arrive together are settled in one transaction (:meth:`Outbox.settle`: one fsync for the
batch, each row still leaves only on its own answer). Rows are retried in ``seq`` order with the
same envelope id and idempotency key. The outbox is bounded: at ``max_rows`` a new put raises
:class:`OutboxFull` and ``network.outbox_alarm`` goes on the bus.

Dead letters: a row whose answers cannot be read (they fail the contract's schemas) is counted
(:meth:`Outbox.record_failure`); after ``dead_letter_after`` of them it moves to the
``dead_letter`` table of the same file (kept across restarts, never resent) and
``network.dead_letter`` goes on the bus, for the staff's maintenance screen and the telemetry.

A broken disk (kiosk.storage): a full, read-only or failing disk gives a typed
:class:`~kiosk.storage.StorageError` naming the file and what to do, logged once per fault (not
once per second). A put that cannot be stored raises it; everything else keeps going: answers
that cannot be deleted are remembered in memory (never resent) and deleted when the disk lets us.
A corrupt file (or a directory in its place) is moved aside as ``outbox.sqlite3.corrupt-<time>``
(kept for recovery, never deleted), the rows that can still be read are carried over, and the
terminal carries on with a fresh file and an alarm.

Safety net for citizens' data: bodies carry only references the central service issued; a body in
which :data:`kiosk.privacy.ID_PATTERN` matches is refused before anything touches the disk. The
one exception is a *sealed* row (``put(..., sealed=True)``, the mobile terminal's applications and
photos): its body is encrypted with :class:`kiosk.network.sealed.Sealer` before it is written, and
:meth:`Outbox.open_body` decrypts it for sending. ``secure_delete`` overwrites a removed row's pages.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from kiosk import storage
from kiosk.events import EventBus
from kiosk.network.errors import OutboxFull, PersonalDataRefused
from kiosk.network.sealed import SealError, Sealer, is_sealed
from kiosk.privacy import ID_PATTERN, redact_text
from kiosk.storage import StorageError

log = logging.getLogger("kiosk.network.outbox")

#: Why 60 s: WAL grows until checkpointed; a kiosk writes a few rows a minute, so a passive
#: checkpoint each minute keeps the -wal file small without competing with writers.
CHECKPOINT_INTERVAL_S = 60.0
#: Why 5: the central service answers a replayed idempotency key with its first answer, so a
#: resend rarely reads better; a few cover an answer damaged on the way or a central service
#: being upgraded mid-request. At the gateway's retry delay (5 s) a row is set aside within
#: half a minute, and the alarm is up before a second citizen meets the same fault.
DEAD_LETTER_AFTER = 5
#: Why a cap on last_error: it is diagnostic text for the staff screen, not a log.
_MAX_ERROR_CHARS = 500
#: SQLite's default limit of bound parameters is 32766; ids go in chunks well below it.
_CHUNK = 500

_COLUMNS = "seq, id, op, kind, idem, body, created, attempts, last_error"
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
_DEAD_COLUMNS = _COLUMNS + ", failures, dead_at"


class _Corrupt(Exception):
    """PRAGMA quick_check found the file damaged."""


@dataclass(frozen=True)
class Row:
    """One waiting message."""

    seq: int
    id: str
    op: str
    kind: str
    idem: str
    body: dict
    created: float
    attempts: int
    last_error: str | None


class Outbox:
    """SQLite-backed FIFO of durable messages; safe to call from several threads."""

    def __init__(self, path: str | Path, max_rows: int = 10000, bus: EventBus | None = None,
                 checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S, sealer: Sealer | None = None,
                 dead_letter_after: int = DEAD_LETTER_AFTER) -> None:
        self.path = Path(path)
        self.sealer = sealer
        self.max_rows = max_rows
        self.bus = bus
        self.checkpoint_interval_s = checkpoint_interval_s
        self.dead_letter_after = dead_letter_after
        # Re-entrant: an alarm is published with the lock held, and a subscriber may read the depth.
        self._lock = threading.RLock()
        self._faults = storage.FaultLog(log, self._storage_alarm)
        #: Answered rows whose delete the disk refused: never resent, deleted at the next chance.
        self._settled: set[str] = set()
        self._depth = 0  # the last depth read (what depth() says while the disk cannot be read)
        self._db: sqlite3.Connection | None = self._open()
        self._last_checkpoint = time.monotonic()

    # -- opening, and recovery from a corrupt file ----------------------------------------------
    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(storage.classify(e), self.path.parent, f"cannot be created: {e.strerror or e}") from None
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
        db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=10.0)
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
        moved = storage.move_aside(self.path)  # StorageError when it cannot be moved: nothing changed
        try:
            db = self._connect()
        except _Corrupt as e:
            raise StorageError("corrupt", self.path, str(e)) from None
        except sqlite3.DatabaseError as e:
            raise storage.error_for(self.path, e) from None
        outbox = storage.salvage(moved, "outbox", _COLUMNS)
        dead = storage.salvage(moved, "dead_letter", _DEAD_COLUMNS)
        kept = 0
        try:
            db.execute("BEGIN IMMEDIATE")  # one transaction: one fsync for every row carried over
            for table, columns, rows in (("outbox", _COLUMNS, outbox), ("dead_letter", _DEAD_COLUMNS, dead)):
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
    def _tx(self, fn: Callable[[sqlite3.Connection], object], key: str = "write", durable: bool = True):
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

    def _read(self, fn: Callable[[sqlite3.Connection], object]):
        """Run a read; the same error handling as :meth:`_tx`."""
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
        err = storage.error_for(self.path, e)
        self._faults.fault(key, err)
        raise err from None

    def _close_quietly(self) -> None:
        try:
            if self._db is not None:
                self._db.close()
        except sqlite3.Error:
            pass
        self._db = None

    # -- writes -------------------------------------------------------------------------------
    def put(self, id: str, op: str, kind: str, idem: str, body: dict, *, sealed: bool = False) -> Row:
        """Durably store a message before it is sent; raise OutboxFull, PersonalDataRefused or
        StorageError (the disk refused: nothing was stored).

        ``sealed``: encrypt the body first (personal data allowed); refused when no sealer is set."""
        if sealed:
            if self.sealer is None:
                raise PersonalDataRefused(f"{op}: a sealed row needs a sealing key (mobile.seal_key_file); not stored")
            body = self.sealer.seal(body, id, op)
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        if ID_PATTERN.search(text):
            # Never say which field or value: the value is the citizen's ID number.
            raise PersonalDataRefused(f"{op}: body contains what looks like an ID number; not stored")
        created = time.time()

        def insert(db: sqlite3.Connection) -> int:
            depth = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
            self._depth = depth
            if depth >= self.max_rows:
                raise OutboxFull(f"outbox holds {depth} rows (bound {self.max_rows}); {op} refused")
            cur = db.execute("INSERT INTO outbox (id, op, kind, idem, body, created) VALUES (?, ?, ?, ?, ?, ?)",
                             (id, op, kind, idem, text, created))
            self._depth = depth + 1
            return cur.lastrowid
        try:
            seq = self._tx(insert)
        except OutboxFull:
            self._alarm(self._depth, op)
            raise
        return Row(seq, id, op, kind, idem, body, created, 0, None)

    def settle(self, ids: Iterable[str]) -> set[str]:
        """Remove the rows the central service answered, in one transaction (one fsync for all).

        Returns the ids that were waiting (in the outbox or among the dead letters: a late answer
        that can be read settles a dead letter too). Never raises for the disk: when the delete
        is refused the rows are remembered as answered (not resent) and deleted later."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return set()

        def delete(db: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for i in range(0, len(ids), _CHUNK):
                part = ids[i:i + _CHUNK]
                marks = ",".join("?" * len(part))
                for table in ("outbox", "dead_letter"):
                    found |= {r[0] for r in db.execute(f"SELECT id FROM {table} WHERE id IN ({marks})", part)}
                    db.execute(f"DELETE FROM {table} WHERE id IN ({marks})", part)
            return found
        try:
            found = self._tx(delete)
        except StorageError:
            try:
                found = set(self._read(lambda db: [r[0] for r in db.execute(
                    f"SELECT id FROM outbox WHERE id IN ({','.join('?' * len(ids[:_CHUNK]))})", ids[:_CHUNK])]))
            except StorageError:
                found = set(ids)  # cannot even read: treat each as answered (none is resent)
            found -= self._settled  # already announced
            self._settled = self._settled | found  # rebound, never mutated: other threads read it
            return found
        new = found - self._settled
        self._settled = self._settled - set(ids)
        return new

    def remove(self, id: str) -> bool:
        """Delete a row once the central service answered; True if it was there."""
        return id in self.settle([id])

    def record_attempt(self, id: str, error: str | None = None) -> None:
        """Count a send attempt (and why it failed, when it did). Diagnostic: never raises for the disk."""
        if error is None:
            self.record_attempts([id])
            return
        self._quietly(lambda db: db.execute("UPDATE outbox SET last_error = ? WHERE id = ?",
                                            (error[:_MAX_ERROR_CHARS], id)))

    def record_attempts(self, ids: Iterable[str]) -> None:
        """Count one send attempt of each row, in one transaction (a drain sends many)."""
        ids = list(ids)

        def count(db: sqlite3.Connection) -> None:
            for i in range(0, len(ids), _CHUNK):
                part = ids[i:i + _CHUNK]
                db.execute(f"UPDATE outbox SET attempts = attempts + 1 WHERE id IN ({','.join('?' * len(part))})", part)
        if ids:
            self._quietly(count)

    def record_failure(self, id: str, why: str) -> str | None:
        """An answer to row ``id`` could not be read: count it; at ``dead_letter_after`` move the row
        to the dead letters. Returns ``"dead"``, ``"counted"`` or None (no such row, or the disk
        refused: logged once)."""
        now = time.time()
        why = redact_text(why)[:_MAX_ERROR_CHARS]  # it may quote the answer: never a citizen's number on disk

        def fail(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT failures FROM outbox WHERE id = ?", (id,)).fetchone()
            if row is None:
                return None
            n = row[0] + 1
            if n < self.dead_letter_after:
                db.execute("UPDATE outbox SET failures = ?, last_error = ? WHERE id = ?",
                           (n, why[:_MAX_ERROR_CHARS], id))
                return "counted"
            db.execute(f"INSERT OR REPLACE INTO dead_letter ({_DEAD_COLUMNS}) SELECT {_COLUMNS}, ?, ? "
                       "FROM outbox WHERE id = ?", (n, now, id))
            db.execute("UPDATE dead_letter SET last_error = ? WHERE id = ?", (why[:_MAX_ERROR_CHARS], id))
            db.execute("DELETE FROM outbox WHERE id = ?", (id,))
            return "dead"
        try:
            outcome = self._tx(fail)
        except StorageError:
            return None
        if outcome == "dead":
            row = next((d for d in self.dead_letters() if d["id"] == id), {"op": ""})
            count = self.dead_count()
            log.error("outbox row set aside as a dead letter after %d unreadable answers: %s",
                      self.dead_letter_after, why[:200], extra={"id": id, "op": row["op"], "dead_letters": count})
            if self.bus is not None:
                self.bus.publish("network.dead_letter", {"id": id, "op": row["op"], "reason": why[:_MAX_ERROR_CHARS],
                                                         "failures": self.dead_letter_after, "dead_letters": count},
                                 source="network")
        return outcome

    def _quietly(self, fn: Callable[[sqlite3.Connection], object]) -> None:
        """A diagnostic write (send counters, the last error): not waited for, never raises."""
        try:
            self._tx(fn, durable=False)
        except StorageError:
            pass  # logged once by the fault log; the rows themselves are unaffected

    # -- reads --------------------------------------------------------------------------------
    def pending(self, limit: int | None = None) -> list[Row]:
        """Waiting rows, oldest first (raises StorageError when the file cannot be read)."""
        sql = f"SELECT {_COLUMNS} FROM outbox ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit) + len(self._settled)}"
        rows = self._read(lambda db: db.execute(sql).fetchall())
        out = []
        for s, i, o, k, d, b, c, a, e in rows:
            if i in self._settled:
                continue
            try:
                out.append(Row(s, i, o, k, d, json.loads(b), c, a, e))
            except ValueError:
                log.error("outbox row unreadable; left in the file", extra={"id": i, "op": o})
        return out[:limit] if limit is not None else out

    def open_body(self, row: Row) -> dict:
        """The body to send: decrypted for a sealed row (raises SealError), else as stored."""
        if is_sealed(row.body):
            if self.sealer is None:
                raise SealError(f"row {row.id} ({row.op}) is sealed and no key is configured")
            return self.sealer.open(row.body, row.id, row.op)
        return row.body

    def get(self, id: str) -> Row | None:
        """One waiting row by envelope id, or None."""
        if id in self._settled:
            return None
        r = self._read(lambda db: db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (id,)).fetchone())
        return None if r is None else Row(*r[:5], json.loads(r[5]), *r[6:])

    def depth(self) -> int:
        """How many rows wait (the last known figure while the disk cannot be read)."""
        try:
            n = self._read(lambda db: db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        except StorageError:
            return self._depth
        self._depth = max(0, n - len(self._settled))
        return self._depth

    def dead_count(self) -> int:
        """How many rows were set aside as dead letters (0 while the disk cannot be read)."""
        try:
            return self._read(lambda db: db.execute("SELECT COUNT(*) FROM dead_letter").fetchone()[0])
        except StorageError:
            return 0

    def dead_letters(self, limit: int = 20) -> list[dict]:
        """The newest dead letters, without their bodies: id, op, failures, last_error, when."""
        try:
            rows = self._read(lambda db: db.execute(
                "SELECT id, op, kind, failures, last_error, created, dead_at FROM dead_letter "
                "ORDER BY dead_at DESC LIMIT ?", (int(limit),)).fetchall())
        except StorageError:
            return []
        return [dict(zip(("id", "op", "kind", "failures", "last_error", "created", "dead_at"), r)) for r in rows]

    def alarms(self) -> list[dict]:
        """What staff and operators must see: disk faults in force and corrupt files kept aside."""
        out = [{"kind": f["kind"], "code": f["code"], "reason": f["reason"], "action": f["action"],
                "count": f["count"]} for f in self._faults.active()]
        for copy in storage.corrupt_copies(self.path):
            out.append({"kind": "corrupt_kept", "code": "storage", "reason": f"corrupt outbox kept at {copy}",
                        "action": f"recover its rows (sqlite3 {copy} .recover) or archive it; then delete it"})
        return out

    # -- maintenance --------------------------------------------------------------------------
    def checkpoint(self, truncate: bool = False) -> None:
        """Fold the WAL back into the database file (passive: never blocks writers); ``truncate``
        also empties the -wal file, giving its disk space back."""
        with self._lock:
            self._maybe_checkpoint(force=True, mode="TRUNCATE" if truncate else "PASSIVE")

    def maybe_checkpoint(self) -> None:
        """Called by the gateway's timer: delete answered rows the disk refused before, and
        checkpoint if the interval has passed."""
        if self._settled:
            pending = list(self._settled)
            try:
                self._tx(lambda db: [db.execute(f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(p))})", p)
                                     for p in (pending[i:i + _CHUNK] for i in range(0, len(pending), _CHUNK))])
                self._settled = self._settled - set(pending)
            except StorageError:
                pass  # still refused: counted by the fault log
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

    def _alarm(self, depth: int, op: str) -> None:
        log.error("outbox full: %d rows (bound %d), refusing %s", depth, self.max_rows, op)
        if self.bus is not None:
            self.bus.publish("network.outbox_alarm", {"kind": "max_rows", "depth": depth, "max_rows": self.max_rows,
                                                      "refused_op": op}, source="network")

    def _storage_alarm(self, fault: dict) -> None:
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
