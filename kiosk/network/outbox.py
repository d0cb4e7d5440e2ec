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

A broken disk (the file itself: kiosk.network.outbox_file): a full, read-only or failing disk
gives a typed :class:`~kiosk.storage.StorageError` naming the file and what to do, logged once per
fault (not once per second). A put that cannot be stored raises it; everything else keeps going:
answers that cannot be deleted are remembered in memory (never resent) and deleted when the disk
lets us. A corrupt file is moved aside (kept) and a fresh one carries on with what could be read.

Safety net for citizens' data: bodies carry only references the central service issued; a body in
which :data:`hall_common.privacy.ID_PATTERN` matches is refused before anything touches the disk. The
one exception is a *sealed* row (``put(..., sealed=True)``, the mobile terminal's applications and
photos): its body is encrypted with :class:`kiosk.network.sealed.Sealer` before it is written, and
:meth:`Outbox.open_body` decrypts it for sending. ``secure_delete`` overwrites a removed row's pages.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hall_common.privacy import ID_PATTERN, redact_text
from kiosk.events import EventBus
from kiosk.network.errors import OutboxFull, PersonalDataRefused
from kiosk.network.outbox_file import CHECKPOINT_INTERVAL_S, COLUMNS, DEAD_COLUMNS, OutboxFile
from kiosk.network.sealed import Sealer, SealError, is_sealed
from kiosk.storage import StorageError

log = logging.getLogger("kiosk.network.outbox")

#: Why 5: the central service answers a replayed idempotency key with its first answer, so a
#: resend rarely reads better; a few cover an answer damaged on the way or a central service
#: being upgraded mid-request. At the gateway's retry delay (5 s) a row is set aside within
#: half a minute, and the alarm is up before a second citizen meets the same fault.
DEAD_LETTER_AFTER = 5
#: Why a cap on last_error: it is diagnostic text for the staff screen, not a log.
_MAX_ERROR_CHARS = 500
#: SQLite's default limit of bound parameters is 32766; ids go in chunks well below it.
_CHUNK = 500


@dataclass(frozen=True)
class Row:
    """One waiting message."""

    seq: int
    id: str
    op: str
    kind: str
    idem: str
    body: dict[str, Any]
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
        #: Answered rows whose delete the disk refused: never resent, deleted at the next chance.
        self._settled: set[str] = set()
        self._depth = 0  # the last depth read (what depth() says while the disk cannot be read)
        self._file = OutboxFile(self.path, bus, checkpoint_interval_s)

    @property
    def _db(self) -> sqlite3.Connection | None:
        """The open connection (tests look at its pragmas and statements)."""
        return self._file.db

    # -- writes -------------------------------------------------------------------------------
    def put(self, id: str, op: str, kind: str, idem: str, body: dict[str, Any], *, sealed: bool = False) -> Row:
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
            seq = cur.lastrowid
            assert seq is not None  # an INSERT always sets it
            return seq
        try:
            seq = self._file.tx(insert)
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
            found = self._file.tx(delete)
        except StorageError:
            try:
                found = set(self._file.read(lambda db: [r[0] for r in db.execute(
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
            db.execute(f"INSERT OR REPLACE INTO dead_letter ({DEAD_COLUMNS}) SELECT {COLUMNS}, ?, ? "
                       "FROM outbox WHERE id = ?", (n, now, id))
            db.execute("UPDATE dead_letter SET last_error = ? WHERE id = ?", (why[:_MAX_ERROR_CHARS], id))
            db.execute("DELETE FROM outbox WHERE id = ?", (id,))
            return "dead"
        try:
            outcome = self._file.tx(fail)
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
            self._file.tx(fn, durable=False)
        except StorageError:
            pass  # logged once by the fault log; the rows themselves are unaffected

    # -- reads --------------------------------------------------------------------------------
    def pending(self, limit: int | None = None) -> list[Row]:
        """Waiting rows, oldest first (raises StorageError when the file cannot be read)."""
        sql = f"SELECT {COLUMNS} FROM outbox ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit) + len(self._settled)}"
        rows = self._file.read(lambda db: db.execute(sql).fetchall())
        out = []
        for s, i, o, k, d, b, c, a, e in rows:
            if i in self._settled:
                continue
            try:
                out.append(Row(s, i, o, k, d, json.loads(b), c, a, e))
            except ValueError:
                log.error("outbox row unreadable; left in the file", extra={"id": i, "op": o})
        return out[:limit] if limit is not None else out

    def open_body(self, row: Row) -> dict[str, Any]:
        """The body to send: decrypted for a sealed row (raises SealError), else as stored."""
        if is_sealed(row.body):
            if self.sealer is None:
                raise SealError(f"row {row.id} ({row.op}) is sealed and no key is configured")
            return self.sealer.open(row.body, row.id, row.op)
        return row.body

    def ops_of(self, ids: Iterable[str]) -> dict[str, str]:
        """The operation of each of ``ids`` waiting or set aside (one read; {} when the disk
        cannot be read: then nothing can be checked)."""
        ids = list(dict.fromkeys(ids))

        def ops(db: sqlite3.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for i in range(0, len(ids), _CHUNK):
                part = ids[i:i + _CHUNK]
                marks = ",".join("?" * len(part))
                for table in ("outbox", "dead_letter"):
                    found.update(db.execute(f"SELECT id, op FROM {table} WHERE id IN ({marks})", part).fetchall())
            return found
        if not ids:
            return {}
        try:
            return self._file.read(ops)
        except StorageError:
            return {}

    def get(self, id: str) -> Row | None:
        """One waiting row by envelope id, or None."""
        if id in self._settled:
            return None
        r = self._file.read(lambda db: db.execute(f"SELECT {COLUMNS} FROM outbox WHERE id = ?", (id,)).fetchone())
        if r is None:
            return None
        s, i, o, k, d, b, c, a, e = r
        return Row(s, i, o, k, d, json.loads(b), c, a, e)

    def depth(self) -> int:
        """How many rows wait (the last known figure while the disk cannot be read)."""
        try:
            n = self._file.read(lambda db: db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        except StorageError:
            return self._depth
        self._depth = max(0, n - len(self._settled))
        return self._depth

    def dead_count(self) -> int:
        """How many rows were set aside as dead letters (0 while the disk cannot be read)."""
        try:
            dead: int = self._file.read(lambda db: db.execute("SELECT COUNT(*) FROM dead_letter").fetchone()[0])
            return dead
        except StorageError:
            return 0

    def dead_letters(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest dead letters, without their bodies: id, op, failures, last_error, when."""
        try:
            rows = self._file.read(lambda db: db.execute(
                "SELECT id, op, kind, failures, last_error, created, dead_at FROM dead_letter "
                "ORDER BY dead_at DESC LIMIT ?", (int(limit),)).fetchall())
        except StorageError:
            return []
        return [dict(zip(("id", "op", "kind", "failures", "last_error", "created", "dead_at"), r)) for r in rows]

    def alarms(self) -> list[dict[str, Any]]:
        """What staff and operators must see: disk faults in force, corrupt files kept aside, and
        the bound reached (new durable requests refused until answers drain it; a cold try found
        only the one-off ``network.outbox_alarm`` said so, never the health the screens show)."""
        out = self._file.alarms()
        depth = self.depth()  # one COUNT: the screens and the telemetry ask now and then, not per row
        if depth >= self.max_rows:
            out.append({"kind": "max_rows", "code": OutboxFull.code,
                        "reason": f"the outbox holds {depth} rows (bound {self.max_rows}): "
                                  "new check-ins, bookings and feedback are refused",
                        "action": "check the link to the central service (the rows leave as it answers); "
                                  "raise network.outbox_max_rows only if the disk allows"})
        return out

    # -- maintenance --------------------------------------------------------------------------
    def checkpoint(self, truncate: bool = False) -> None:
        """Fold the WAL back into the database file (passive: never blocks writers); ``truncate``
        also empties the -wal file, giving its disk space back."""
        self._file.checkpoint(truncate)

    def maybe_checkpoint(self) -> None:
        """Called by the gateway's timer: delete answered rows the disk refused before, and
        checkpoint if the interval has passed."""
        if self._settled:
            pending = list(self._settled)
            try:
                self._file.tx(lambda db: [db.execute(f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(p))})", p)
                                          for p in (pending[i:i + _CHUNK] for i in range(0, len(pending), _CHUNK))])
                self._settled = self._settled - set(pending)
            except StorageError:
                pass  # still refused: counted by the fault log
        self._file.maybe_checkpoint()

    def _alarm(self, depth: int, op: str) -> None:
        log.error("outbox full: %d rows (bound %d), refusing %s", depth, self.max_rows, op)
        if self.bus is not None:
            self.bus.publish("network.outbox_alarm", {"kind": "max_rows", "depth": depth, "max_rows": self.max_rows,
                                                      "refused_op": op}, source="network")

    def close(self) -> None:
        """Checkpoint and close the database."""
        self._file.close()
