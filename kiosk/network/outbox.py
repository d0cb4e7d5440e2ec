"""The durable outbox: what must not be lost (bookings, check-ins, feedback, events) waits here.

A row is written (and fsynced: WAL + ``synchronous=FULL``, one explicit ``BEGIN IMMEDIATE``
transaction per change) BEFORE the message is published, and removed only when the central
service's response or event acknowledgement arrives: never on PUBACK alone (PITFALLS.md). Rows are
retried in ``seq`` order with the same envelope id and idempotency key. The outbox is bounded: at
``max_rows`` a new put raises :class:`OutboxFull` and ``network.outbox_alarm`` goes on the bus.

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
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kiosk.events import EventBus
from kiosk.network.errors import OutboxFull, PersonalDataRefused
from kiosk.network.sealed import SealError, Sealer, is_sealed
from hall_common.privacy import ID_PATTERN

log = logging.getLogger("kiosk.network.outbox")

#: Why 60 s: WAL grows until checkpointed; a kiosk writes a few rows a minute, so a passive
#: checkpoint each minute keeps the -wal file small without competing with writers.
CHECKPOINT_INTERVAL_S = 60.0
#: Why a cap on last_error: it is diagnostic text for the staff screen, not a log.
_MAX_ERROR_CHARS = 500

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
    last_error TEXT
)
"""


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
                 checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S, sealer: Sealer | None = None) -> None:
        self.path = Path(path)
        self.sealer = sealer
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_rows = max_rows
        self.bus = bus
        self.checkpoint_interval_s = checkpoint_interval_s
        self._lock = threading.Lock()
        # isolation_level=None: no implicit transactions; we open each one explicitly.
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False,
                                   timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        # Why: an acknowledged row's bytes (a sealed photo, a check-in) must not linger in free pages.
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.execute(_SCHEMA)
        self._last_checkpoint = time.monotonic()

    # -- writes -------------------------------------------------------------------------------
    def put(self, id: str, op: str, kind: str, idem: str, body: dict, *, sealed: bool = False) -> Row:
        """Durably store a message before it is sent; raise OutboxFull or PersonalDataRefused.

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
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                depth = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
                if depth >= self.max_rows:
                    self._db.execute("ROLLBACK")
                    self._alarm(depth, op)
                    raise OutboxFull(f"outbox holds {depth} rows (bound {self.max_rows}); {op} refused")
                cur = self._db.execute(
                    "INSERT INTO outbox (id, op, kind, idem, body, created) VALUES (?, ?, ?, ?, ?, ?)",
                    (id, op, kind, idem, text, created))
                self._db.execute("COMMIT")
            except OutboxFull:
                raise
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._maybe_checkpoint()
        return Row(cur.lastrowid, id, op, kind, idem, body, created, 0, None)

    def remove(self, id: str) -> bool:
        """Delete a row once the central service answered; True if it was there."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                n = self._db.execute("DELETE FROM outbox WHERE id = ?", (id,)).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._maybe_checkpoint()
        return n > 0

    def record_attempt(self, id: str, error: str | None = None) -> None:
        """Count a send attempt (and why it failed, when it did)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if error is None:
                    self._db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (id,))
                else:
                    self._db.execute("UPDATE outbox SET last_error = ? WHERE id = ?",
                                     (error[:_MAX_ERROR_CHARS], id))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- reads --------------------------------------------------------------------------------
    def pending(self, limit: int | None = None) -> list[Row]:
        """Waiting rows, oldest first."""
        sql = "SELECT seq, id, op, kind, idem, body, created, attempts, last_error FROM outbox ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql).fetchall()
        return [Row(s, i, o, k, d, json.loads(b), c, a, e) for s, i, o, k, d, b, c, a, e in rows]

    def open_body(self, row: Row) -> dict:
        """The body to send: decrypted for a sealed row (raises SealError), else as stored."""
        if is_sealed(row.body):
            if self.sealer is None:
                raise SealError(f"row {row.id} ({row.op}) is sealed and no key is configured")
            return self.sealer.open(row.body, row.id, row.op)
        return row.body

    def get(self, id: str) -> Row | None:
        """One row by envelope id, or None."""
        return next((r for r in self.pending() if r.id == id), None)

    def depth(self) -> int:
        """How many rows wait."""
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    # -- maintenance --------------------------------------------------------------------------
    def checkpoint(self) -> None:
        """Fold the WAL back into the database file (passive: never blocks writers)."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._last_checkpoint = time.monotonic()

    def maybe_checkpoint(self) -> None:
        """Checkpoint if the interval has passed (called by the gateway's timer)."""
        with self._lock:
            self._maybe_checkpoint()

    def _maybe_checkpoint(self) -> None:
        # Called with the lock held.
        if time.monotonic() - self._last_checkpoint >= self.checkpoint_interval_s:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._last_checkpoint = time.monotonic()

    def _alarm(self, depth: int, op: str) -> None:
        log.error("outbox full: %d rows (bound %d), refusing %s", depth, self.max_rows, op)
        if self.bus is not None:
            self.bus.publish("network.outbox_alarm", {"depth": depth, "max_rows": self.max_rows, "refused_op": op},
                             source="network")

    def close(self) -> None:
        """Checkpoint and close the database."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._db.close()
