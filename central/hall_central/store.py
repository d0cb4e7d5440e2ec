"""The central service's storage: every SQL statement lives here, behind :class:`Store`.

SQLite (embedded, WAL) is the default: ``sqlite:///path/to/central.db`` or a plain path.
One writer thread per process owns a Store and applies a whole batch of requests inside one
transaction (group commit, see :mod:`hall_central.service`); several processes may share one file
(``BEGIN IMMEDIATE`` + ``busy_timeout`` serialise their batches). Other threads open their own
Store for reading (WAL readers do not block the writer).

PostgreSQL (``postgresql://user@host/db``) is :class:`hall_central.store_pg.PgStore`: both
dialects share :class:`SqlStore`, i.e. every statement below is written once in the SQL both
accept (``?`` placeholders, ``INSERT ... ON CONFLICT``); a dialect supplies only its connection,
its BEGIN, its column types in :data:`SCHEMA` and its row access.

Citizens' ID numbers are never stored: a citizen row is keyed by an HMAC of the number with a
per-database secret (of the number and the name given, for anyone the register does not match by
name: :mod:`hall_central.citizens`), and carries only the masked name.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, overload

from hall_central.citizens import CITIZEN_KEYS, citizen_hash
from kiosk.errors import KioskError

#: Why 30 days: a terminal may stay offline for weeks and then replay its outbox (PITFALLS.md).
IDEM_KEEP_S = 30 * 24 * 3600
#: Why 10 s: with several instances on one file a writer may wait for another's batch commit.
BUSY_TIMEOUT_MS = 10_000

#: Written once for both dialects; ``{serial_pk}`` and ``{float8}`` are filled in per dialect
#: (SQLite: INTEGER PRIMARY KEY AUTOINCREMENT / REAL; PostgreSQL: an identity column / DOUBLE
#: PRECISION, because its REAL is 4 bytes and would round epoch seconds to minutes).
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS citizens (citizen_ref TEXT PRIMARY KEY, id_hash TEXT UNIQUE NOT NULL,
  name_masked TEXT NOT NULL, kind TEXT NOT NULL, idx INTEGER, region TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS appointments (appointment_id TEXT PRIMARY KEY, citizen_ref TEXT NOT NULL,
  item_code TEXT NOT NULL, slot_id TEXT NOT NULL, date TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT NOT NULL,
  "window" TEXT NOT NULL, hall TEXT NOT NULL, status TEXT NOT NULL, demo INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS appt_citizen ON appointments (citizen_ref, date);
CREATE INDEX IF NOT EXISTS appt_slot ON appointments (slot_id, status);
CREATE TABLE IF NOT EXISTS queue_counters (hall TEXT, line TEXT, date TEXT, last_seq INTEGER NOT NULL,
  PRIMARY KEY (hall, line, date));
-- appointment_id is UNIQUE: a second check-in of one appointment can never make a second ticket.
CREATE TABLE IF NOT EXISTS tickets (ticket_id {serial_pk}, hall TEXT NOT NULL,
  line TEXT NOT NULL, date TEXT NOT NULL, seq INTEGER NOT NULL, queue_no TEXT NOT NULL, "window" TEXT NOT NULL,
  appointment_id TEXT UNIQUE, citizen_ref TEXT, terminal TEXT, status TEXT NOT NULL, created_at TEXT NOT NULL,
  UNIQUE (hall, line, date, seq));
-- The running count of waiting tickets per line and day: "people ahead" of a new ticket without a
-- COUNT(*) over the day's tickets (which grew with every check-in: 10% of the service's CPU).
-- Only add_ticket and set_ticket_status change it, in the transaction that changes the ticket.
CREATE TABLE IF NOT EXISTS queue_waiting (hall TEXT, line TEXT, date TEXT, waiting INTEGER NOT NULL,
  PRIMARY KEY (hall, line, date));
CREATE TABLE IF NOT EXISTS applications (application_no TEXT PRIMARY KEY, citizen_ref TEXT NOT NULL,
  item_code TEXT NOT NULL, region TEXT NOT NULL, submitted_at TEXT NOT NULL, promised_deadline TEXT NOT NULL,
  steps TEXT NOT NULL, current INTEGER NOT NULL, status TEXT NOT NULL, collect_at TEXT NOT NULL,
  demo_plan TEXT);
CREATE INDEX IF NOT EXISTS app_citizen ON applications (citizen_ref);
CREATE TABLE IF NOT EXISTS feedback (feedback_id TEXT PRIMARY KEY, terminal TEXT NOT NULL, kind TEXT NOT NULL,
  body TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idem (terminal TEXT NOT NULL, idem TEXT NOT NULL, op TEXT NOT NULL,
  body_hash TEXT NOT NULL, response TEXT NOT NULL, created_at {float8} NOT NULL, PRIMARY KEY (terminal, idem));
CREATE INDEX IF NOT EXISTS idem_age ON idem (created_at);
CREATE TABLE IF NOT EXISTS events (terminal TEXT NOT NULL, key TEXT NOT NULL, op TEXT NOT NULL,
  data TEXT NOT NULL, at TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (terminal, key));
CREATE TABLE IF NOT EXISTS terminals (terminal TEXT PRIMARY KEY, online INTEGER NOT NULL, state TEXT NOT NULL,
  telemetry TEXT, last_seen TEXT NOT NULL);
-- Mobile profile: document photos arrive in chunks (Base64 text: the same column type in both
-- dialects); a complete, SHA-256-checked upload moves to uploads and its chunks are deleted.
CREATE TABLE IF NOT EXISTS upload_chunks (terminal TEXT NOT NULL, upload_id TEXT NOT NULL, idx INTEGER NOT NULL,
  total INTEGER NOT NULL, sha256 TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (terminal, upload_id, idx));
CREATE TABLE IF NOT EXISTS uploads (terminal TEXT NOT NULL, upload_id TEXT NOT NULL, sha256 TEXT NOT NULL,
  size INTEGER NOT NULL, data TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (terminal, upload_id));
CREATE TABLE IF NOT EXISTS application_materials (application_no TEXT NOT NULL, idx INTEGER NOT NULL,
  name TEXT NOT NULL, provided INTEGER NOT NULL, upload_id TEXT, PRIMARY KEY (application_no, idx));
CREATE TABLE IF NOT EXISTS application_intake (application_no TEXT PRIMARY KEY, terminal TEXT NOT NULL,
  staff_id TEXT NOT NULL, consent_method TEXT NOT NULL, consent_at TEXT NOT NULL, received_at TEXT NOT NULL);
"""


class StoreError(KioskError):
    """The central database cannot be opened or used."""

    code = "store"


class StoreBusy(StoreError, sqlite3.OperationalError):
    """A transient conflict (lock, serialization failure, deadlock, lost connection): retry the batch.

    Why also a ``sqlite3.OperationalError``: the service's batch loop retries the whole
    transaction on that type (SQLite's "database is locked"), so a PostgreSQL serialization
    failure takes the same, already tested path without the service knowing the dialect.
    """

    code = "store_busy"


def body_hash(op: str, body: dict) -> str:
    """A stable hash of an operation and its body (canonical JSON)."""
    canon = json.dumps([op, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


class SqlStore:
    """The statements both dialects share; a subclass supplies the connection and row access.

    Every statement uses ``?`` placeholders and standard ``ON CONFLICT`` upserts; a dialect
    that needs another placeholder translates it in :meth:`_exec` / :meth:`_row` / :meth:`_all`.
    """

    _secret: bytes | None = None

    # --- what a dialect supplies ----------------------------------------------------------
    def close(self) -> None:
        """Close the connection."""
        raise NotImplementedError

    def _begin(self) -> None:
        """Start a write transaction that serialises with every other writer of the database."""
        raise NotImplementedError

    def _exec(self, sql: str, args: tuple = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        raise NotImplementedError

    def _row(self, sql: str, args: tuple = ()) -> dict | None:
        """The first row of a query as a dict, or None."""
        raise NotImplementedError

    def _all(self, sql: str, args: tuple = ()) -> list[dict]:
        """Every row of a query as dicts."""
        raise NotImplementedError

    def _val(self, sql: str, args: tuple = ()) -> Any:
        """The first column of the first row (None when there is no row)."""
        row = self._row(sql, args)
        return None if row is None else next(iter(row.values()))

    # --- transactions ---------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[SqlStore]:
        """One write transaction (BEGIN ... COMMIT, ROLLBACK on error)."""
        self._begin()
        try:
            yield self
        except BaseException:
            self._rollback()
            raise
        self._exec("COMMIT")

    def _rollback(self) -> None:
        # The original error matters more than a failing ROLLBACK (e.g. on a lost connection).
        with contextlib.suppress(Exception):
            self._exec("ROLLBACK")

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested unit inside a batch: one request's changes roll back alone on error."""
        self._exec("SAVEPOINT req")
        try:
            yield
        except BaseException:
            self._exec("ROLLBACK TO SAVEPOINT req")
            self._exec("RELEASE SAVEPOINT req")
            raise
        self._exec("RELEASE SAVEPOINT req")

    # --- meta -----------------------------------------------------------------------------
    @overload
    def meta_get(self, key: str, default: str) -> str: ...
    @overload
    def meta_get(self, key: str, default: None = None) -> str | None: ...

    def meta_get(self, key: str, default: str | None = None) -> str | None:
        """A meta value."""
        value = self._val("SELECT value FROM meta WHERE key=?", (key,))
        return default if value is None else value

    def meta_set(self, key: str, value: str) -> None:
        """Set a meta value."""
        self._exec("INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                   (key, value))

    def next_counter(self, key: str) -> int:
        """Increment and return a named counter (command sequence numbers)."""
        n = int(self.meta_get(key, "0")) + 1
        self.meta_set(key, str(n))
        return n

    # --- citizens -------------------------------------------------------------------------
    def id_hash(self, id_number: str, name: str | None = None) -> str:
        """A citizen's key with this database's secret (:func:`hall_central.citizens.citizen_hash`)."""
        if self._secret is None:
            sec = self.meta_get("id_secret")
            if sec is None:
                sec = secrets.token_hex(32)
                self.meta_set("id_secret", sec)
            self._secret = bytes.fromhex(sec)
        return citizen_hash(self._secret, id_number, name)

    def rekey_citizens(self) -> int:
        """Once per database: retire the unregistered citizens keyed by the number alone (before
        issue 13 a lookup under any name got the card-proven citizen's row), so no lookup finds
        them again. Their records stay; returns how many were retired."""
        if self.meta_get("citizen_keys") == CITIZEN_KEYS:
            return 0
        n = self._exec("UPDATE citizens SET id_hash = 'retired:' || id_hash WHERE kind = 'unknown'")
        self.meta_set("citizen_keys", CITIZEN_KEYS)
        return n

    def citizen_by_hash(self, h: str) -> dict | None:
        """A citizen row by ID hash."""
        return self._row("SELECT * FROM citizens WHERE id_hash=?", (h,))

    def citizen(self, ref: str) -> dict | None:
        """A citizen row by citizen_ref."""
        return self._row("SELECT * FROM citizens WHERE citizen_ref=?", (ref,))

    def add_citizen(self, ref: str, h: str, name_masked: str, kind: str, idx: int | None, region: str,
                    now_iso: str) -> None:
        """Insert a citizen (ignored when the hash is already there)."""
        self._exec("INSERT INTO citizens VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                   (ref, h, name_masked, kind, idx, region, now_iso))

    def citizens_of_kind(self, kind: str) -> list[dict]:
        """Citizens of one kind (demo/synthetic/unknown)."""
        return self._all("SELECT * FROM citizens WHERE kind=? ORDER BY idx", (kind,))

    # --- appointments ---------------------------------------------------------------------
    def add_appointment(self, a: dict) -> bool:
        """Insert an appointment; False when its id already exists."""
        return self._exec(
            'INSERT INTO appointments (appointment_id,citizen_ref,item_code,slot_id,date,start,"end",'
            '"window",hall,status,demo,created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING',
            (a["appointment_id"], a["citizen_ref"], a["item_code"], a["slot_id"], a["date"], a["start"], a["end"],
             a["window"], a["hall"], a["status"], a.get("demo", 0), a["created_at"])) == 1

    def appointment(self, appointment_id: str) -> dict | None:
        """One appointment."""
        return self._row("SELECT * FROM appointments WHERE appointment_id=?", (appointment_id,))

    def appointments_of(self, ref: str, date: str | None = None) -> list[dict]:
        """A citizen's appointments (of one date), by date and time."""
        if date:
            return self._all("SELECT * FROM appointments WHERE citizen_ref=? AND date=? ORDER BY date,start,appointment_id",
                             (ref, date))
        return self._all("SELECT * FROM appointments WHERE citizen_ref=? ORDER BY date,start,appointment_id", (ref,))

    def set_appointment(self, appointment_id: str, **fields: Any) -> None:
        """Update some fields of an appointment."""
        cols = ",".join(f'"{k}"=?' for k in fields)
        self._exec(f"UPDATE appointments SET {cols} WHERE appointment_id=?", (*fields.values(), appointment_id))

    def booked_count(self, slot_id: str) -> int:
        """Live (booked or checked-in) appointments of a slot."""
        return self._val("SELECT COUNT(*) FROM appointments WHERE slot_id=? AND status IN ('booked','checked_in')",
                         (slot_id,))

    def booked_counts(self, slot_prefix: str) -> dict[str, int]:
        """Live appointments per slot for slot ids starting with ``slot_prefix``."""
        rows = self._all("SELECT slot_id, COUNT(*) AS n FROM appointments WHERE slot_id LIKE ? "
                         "AND status IN ('booked','checked_in') GROUP BY slot_id", (slot_prefix + "%",))
        return {r["slot_id"]: r["n"] for r in rows}

    # --- tickets --------------------------------------------------------------------------
    def next_seq(self, hall: str, line: str, date: str) -> int:
        """The next queue sequence number of a line on a day (per hall)."""
        # One upsert: the counter row stays locked until commit, so no two writers see one number.
        return self._val("INSERT INTO queue_counters VALUES (?,?,?,1) ON CONFLICT(hall,line,date) "
                         "DO UPDATE SET last_seq=queue_counters.last_seq+1 RETURNING last_seq", (hall, line, date))

    def add_ticket(self, t: dict) -> int:
        """Insert a waiting queue ticket (the newest of its line); returns the people ahead of it."""
        self._exec('INSERT INTO tickets (hall,line,date,seq,queue_no,"window",appointment_id,citizen_ref,'
                   "terminal,status,created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (t["hall"], t["line"], t["date"], t["seq"], t["queue_no"], t["window"], t.get("appointment_id"),
                    t.get("citizen_ref"), t.get("terminal"), "waiting", t["created_at"]))
        return self._waiting_add(t["hall"], t["line"], t["date"], 1) - 1

    def _waiting_add(self, hall: str, line: str, date: str, delta: int) -> int:
        """Change the running count of a line's waiting tickets; returns the new count."""
        n = self._val("UPDATE queue_waiting SET waiting=waiting+? WHERE hall=? AND line=? AND date=? RETURNING waiting",
                      (delta, hall, line, date))
        if n is None:
            # First ticket of the line and day (or a database from before the counter): count once.
            n = self._val("SELECT COUNT(*) FROM tickets WHERE hall=? AND line=? AND date=? AND status='waiting'",
                          (hall, line, date))
            self._exec("INSERT INTO queue_waiting VALUES (?,?,?,?)", (hall, line, date, n))
        return n

    def set_ticket_status(self, ticket_id: int, status: str) -> None:
        """Move a ticket to ``status`` (e.g. called, served), keeping the waiting count exact."""
        t = self._row("SELECT hall, line, date, status FROM tickets WHERE ticket_id=?", (ticket_id,))
        if t is None or t["status"] == status:
            return
        self._exec("UPDATE tickets SET status=? WHERE ticket_id=?", (status, ticket_id))
        if "waiting" in (t["status"], status):
            self._waiting_add(t["hall"], t["line"], t["date"], 1 if status == "waiting" else -1)

    def ticket_of_appointment(self, appointment_id: str) -> dict | None:
        """The ticket a check-in produced."""
        return self._row("SELECT * FROM tickets WHERE appointment_id=?", (appointment_id,))

    def people_ahead(self, hall: str, line: str, date: str, seq: int) -> int:
        """Waiting tickets of the same line and day before ``seq`` (a count: for an older ticket only;
        a new ticket's figure comes from :meth:`add_ticket`)."""
        return self._val("SELECT COUNT(*) FROM tickets WHERE hall=? AND line=? AND date=? AND seq<? AND status='waiting'",
                         (hall, line, date, seq))

    def count_checkins(self, appointment_id: str) -> int:
        """How many check-in tickets exist for one appointment (tests: must be 0 or 1)."""
        return self._val("SELECT COUNT(*) FROM tickets WHERE appointment_id=?", (appointment_id,))

    def applied_checkins(self) -> int:
        """How many check-ins were applied (tickets made from appointments)."""
        return self._val("SELECT COUNT(*) FROM tickets WHERE appointment_id IS NOT NULL")

    def checkin_tickets(self) -> list[dict]:
        """Every check-in ticket (appointment id, queue number) for the fleet's accounting."""
        return self._all("SELECT appointment_id, queue_no, line, date FROM tickets WHERE appointment_id IS NOT NULL")

    # --- applications ---------------------------------------------------------------------
    def add_application(self, a: dict) -> None:
        """Insert an application (ignored when the number exists)."""
        self._exec("INSERT INTO applications VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                   (a["application_no"], a["citizen_ref"], a["item_code"], a["region"], a["submitted_at"],
                    a["promised_deadline"], json.dumps(a["steps"], ensure_ascii=False), a["current"],
                    a["status"], a["collect_at"], a.get("demo_plan")))

    @staticmethod
    def _app_row(row: dict) -> dict:
        row["steps"] = json.loads(row["steps"])
        return row

    def application(self, no: str) -> dict | None:
        """One application."""
        row = self._row("SELECT * FROM applications WHERE application_no=?", (no,))
        return self._app_row(row) if row else None

    def applications_of(self, ref: str) -> list[dict]:
        """A citizen's applications, newest first."""
        return [self._app_row(r) for r in self._all(
            "SELECT * FROM applications WHERE citizen_ref=? ORDER BY submitted_at DESC, application_no", (ref,))]

    def demo_applications(self) -> list[dict]:
        """Applications whose dates follow a demo plan."""
        return [self._app_row(r) for r in self._all("SELECT * FROM applications WHERE demo_plan IS NOT NULL")]

    def update_application(self, no: str, **fields: Any) -> None:
        """Update some fields of an application (``steps`` as a list)."""
        if "steps" in fields:
            fields["steps"] = json.dumps(fields["steps"], ensure_ascii=False)
        cols = ",".join(f"{k}=?" for k in fields)
        self._exec(f"UPDATE applications SET {cols} WHERE application_no=?", (*fields.values(), no))

    # --- feedback, events, terminals ------------------------------------------------------
    def add_feedback(self, feedback_id: str, terminal: str, kind: str, body: dict, now_iso: str) -> None:
        """Store a rating, complaint or consultation."""
        self._exec("INSERT INTO feedback VALUES (?,?,?,?,?)",
                   (feedback_id, terminal, kind, json.dumps(body, ensure_ascii=False), now_iso))

    def add_event(self, terminal: str, key: str, op: str, data: dict, at: str, now_iso: str) -> bool:
        """Record an event once per (terminal, key); False for a replay."""
        return self._exec("INSERT INTO events VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                          (terminal, key, op, json.dumps(data, ensure_ascii=False), at, now_iso)) == 1

    def events(self, terminal: str | None = None) -> list[dict]:
        """Recorded events (of one terminal)."""
        if terminal:
            return self._all("SELECT * FROM events WHERE terminal=? ORDER BY received_at", (terminal,))
        return self._all("SELECT * FROM events ORDER BY received_at")

    def set_terminal_state(self, terminal: str, state: dict, now_iso: str) -> None:
        """Record a birth or last-will message."""
        self._exec("INSERT INTO terminals(terminal,online,state,last_seen) VALUES (?,?,?,?) "
                   "ON CONFLICT(terminal) DO UPDATE SET online=excluded.online, state=excluded.state, "
                   "last_seen=excluded.last_seen",
                   (terminal, int(bool(state.get("online"))), json.dumps(state), now_iso))

    def set_terminal_telemetry(self, terminal: str, telemetry: dict, now_iso: str) -> None:
        """Record the latest telemetry of a terminal."""
        self._exec("INSERT INTO terminals(terminal,online,state,telemetry,last_seen) VALUES (?,1,'{}',?,?) "
                   "ON CONFLICT(terminal) DO UPDATE SET telemetry=excluded.telemetry, last_seen=excluded.last_seen",
                   (terminal, json.dumps(telemetry), now_iso))

    def terminals(self) -> list[dict]:
        """Every known terminal with its state and latest telemetry."""
        out = []
        for r in self._all("SELECT * FROM terminals ORDER BY terminal"):
            r["state"] = json.loads(r["state"] or "{}")
            r["telemetry"] = json.loads(r["telemetry"]) if r["telemetry"] else None
            r["online"] = bool(r["online"])
            out.append(r)
        return out

    # --- mobile uploads and door-to-door applications -------------------------------------
    def add_chunk(self, terminal: str, upload_id: str, idx: int, total: int, sha256: str, data_b64: str) -> None:
        """Store one chunk (a second copy of the same chunk is ignored)."""
        self._exec("INSERT INTO upload_chunks VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                   (terminal, upload_id, idx, total, sha256, data_b64))

    def chunks(self, terminal: str, upload_id: str) -> list[dict]:
        """The chunks held for an upload, in order."""
        return self._all("SELECT idx, total, sha256, data FROM upload_chunks WHERE terminal=? AND upload_id=? "
                         "ORDER BY idx", (terminal, upload_id))

    def complete_upload(self, terminal: str, upload_id: str, sha256: str, size: int, data_b64: str,
                        now_iso: str) -> None:
        """Keep the assembled upload and drop its chunks."""
        self._exec("INSERT INTO uploads VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                   (terminal, upload_id, sha256, size, data_b64, now_iso))
        self._exec("DELETE FROM upload_chunks WHERE terminal=? AND upload_id=?", (terminal, upload_id))

    def upload(self, terminal: str, upload_id: str) -> dict | None:
        """A complete upload (sha256, size, Base64 data), or None."""
        return self._row("SELECT sha256, size, data FROM uploads WHERE terminal=? AND upload_id=?",
                         (terminal, upload_id))

    def add_intake(self, no: str, terminal: str, staff_id: str, consent_method: str, consent_at: str,
                   materials: list[dict], now_iso: str) -> None:
        """Who took a door-to-door application, the consent, and its materials."""
        self._exec("INSERT INTO application_intake VALUES (?,?,?,?,?,?)",
                   (no, terminal, staff_id, consent_method, consent_at, now_iso))
        for k, m in enumerate(materials):
            self._exec("INSERT INTO application_materials VALUES (?,?,?,?,?)",
                       (no, k, m["name"], int(bool(m["provided"])), m.get("upload_id")))

    def materials_of(self, no: str) -> list[dict]:
        """The materials recorded for an application, in order."""
        return self._all("SELECT name, provided, upload_id FROM application_materials WHERE application_no=? "
                         "ORDER BY idx", (no,))

    # --- idempotency ----------------------------------------------------------------------
    def idem_get(self, terminal: str, key: str) -> tuple[str, dict] | None:
        """(body hash, first response body) recorded for a key, or None."""
        row = self._row("SELECT body_hash, response FROM idem WHERE terminal=? AND idem=?", (terminal, key))
        return (row["body_hash"], json.loads(row["response"])) if row else None

    def idem_put(self, terminal: str, key: str, op: str, bhash: str, response: dict, now_s: float) -> None:
        """Record the first response of a key."""
        self._exec("INSERT INTO idem VALUES (?,?,?,?,?,?)",
                   (terminal, key, op, bhash, json.dumps(response, ensure_ascii=False), now_s))

    def idem_purge(self, now_s: float, keep_s: float = IDEM_KEEP_S) -> int:
        """Delete keys older than ``keep_s``; returns how many."""
        return self._exec("DELETE FROM idem WHERE created_at<?", (now_s - keep_s,))

    def idem_count(self) -> int:
        """Number of stored keys."""
        return self._val("SELECT COUNT(*) FROM idem")


class Store(SqlStore):
    """SQLite storage of one process thread; writes run inside :meth:`transaction`."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves (PITFALLS.md: implicit transactions).
            self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                        timeout=BUSY_TIMEOUT_MS / 1000)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL: a commit survives a process crash; FULL would add an fsync per batch
            # that only matters for power loss (the terminal's outbox replays anyway).
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self.conn.executescript(SCHEMA.format(serial_pk="INTEGER PRIMARY KEY AUTOINCREMENT", float8="REAL"))
        except sqlite3.Error as e:
            raise StoreError(f"cannot open {self.path}: {e}", action="check the --db path and its directory") from None
        self._secret = None

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def _begin(self) -> None:
        # IMMEDIATE takes the write lock now: the domain's read-then-write rules hold across processes.
        self.conn.execute("BEGIN IMMEDIATE")

    def _exec(self, sql: str, args: tuple = ()) -> int:
        return self.conn.execute(sql, args).rowcount

    def _row(self, sql: str, args: tuple = ()) -> dict | None:
        row = self.conn.execute(sql, args).fetchone()
        return dict(row) if row else None

    def _all(self, sql: str, args: tuple = ()) -> list[dict]:
        return [dict(r) for r in self.conn.execute(sql, args).fetchall()]
