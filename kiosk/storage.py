"""The terminal's own disk: the state directory, its SQLite files, and what to do when the disk fails.

One place for: checking that the state directory is usable (:func:`check_state_dir`); telling
SQLite's failures apart (:func:`classify`: full, read-only, corrupt, I/O, busy) and turning them
into a typed :class:`StorageError` that names the file and what to do (:func:`error_for`); moving
a corrupt file aside, kept for recovery and never deleted (:func:`move_aside`); reading what can
still be read from it (:func:`salvage`); logging a fault that repeats every second only once
(:class:`FaultLog`); and the probes `kiosk doctor` runs without disturbing a running kiosk
(:func:`free_bytes`, :func:`quick_check`, :func:`writable`).
"""
from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.errors import KioskError

#: The file-name mark of a corrupt file moved aside: ``outbox.sqlite3.corrupt-20261203T060000Z``.
CORRUPT_MARK = ".corrupt-"
#: How :func:`quick_check` begins when a full disk kept it from reading the file (not corruption).
UNCHECKED_FULL = "not checked, the disk is full"

#: SQLite's primary result codes -> our kind of fault (``sqlite3.Error.sqlite_errorname``).
_KINDS = {"SQLITE_FULL": "full", "SQLITE_READONLY": "read_only", "SQLITE_PERM": "read_only",
          "SQLITE_CANTOPEN": "cannot_open", "SQLITE_CORRUPT": "corrupt", "SQLITE_NOTADB": "corrupt",
          "SQLITE_BUSY": "busy", "SQLITE_LOCKED": "busy", "SQLITE_IOERR": "io"}
_ERRNO_KINDS = {errno.ENOSPC: "full", errno.EDQUOT: "full", errno.EROFS: "read_only", errno.EACCES: "read_only",
                errno.EPERM: "read_only", errno.ENOENT: "missing", errno.ENOTDIR: "missing"}


class StorageError(KioskError):
    """The terminal's disk refused: full, read-only, corrupt, failing, or the state directory unusable.

    ``kind`` says which (``full``, ``read_only``, ``cannot_open``, ``corrupt``, ``busy``, ``io``,
    ``missing``, ``not_a_directory``); ``path`` the file or directory; ``action`` what to do.
    """

    code = "storage"
    citizen_message = "本机暂时无法保存您的业务，请到窗口办理。"

    def __init__(self, kind: str, path: str | Path, detail: str, *, action: str = "", running: bool = True) -> None:
        self.kind, self.path, self.detail = kind, str(path), detail
        self._own_action = bool(action)
        super().__init__(f"{_WHAT.get(kind, 'storage fault')}: {path}: {detail}",
                         action=action or _action(kind, Path(path), running))

    def at_start(self) -> StorageError:
        """This error as the reason `kiosk run` refuses to start: its action then says to start
        the kiosk again once fixed (a terminal that is not running retries nothing). An action
        given where the error was raised stays."""
        if not self._own_action:
            self.action = _action(self.kind, Path(self.path), running=False)
        return self

    def to_dict(self) -> dict[str, str]:
        """The typed error plus its kind and path."""
        return {**super().to_dict(), "kind": self.kind, "path": self.path}


_WHAT = {"full": "disk full", "read_only": "not writable", "cannot_open": "cannot open",
         "corrupt": "corrupt file", "busy": "held by another process", "io": "disk I/O error",
         "missing": "state directory missing", "not_a_directory": "not a directory"}


#: After the fix, in a running terminal: its outbox tries the disk again at every put and drain,
#: and reopens a file that was opened read-only (kiosk.network.outbox_file).
RESUMES = "the running terminal resumes by itself"
#: After the fix, when `kiosk run` refused to start (it has exited: nothing retries). The units of
#: deploy/ restart it (Restart=always, every 1-2 s, no start limit), so there it comes back by itself.
START_AGAIN = ("then start the kiosk again (`kiosk run` has stopped; under the systemd units of deploy/ "
               "it is started again every few seconds by itself)")


def _action(kind: str, path: Path, running: bool = True) -> str:
    where = path if path.is_dir() else path.parent
    then = RESUMES if running else START_AGAIN
    fix = {
        "full": f"free space on the file system of {where} (df -h {where}); {then}",
        "read_only": f"make {path} writable: lsattr/chattr -i, remount the file system read-write, "
                     f"check owner and mode; {then}",
        "cannot_open": f"check that {path} is a file the kiosk user may create and write (not a directory), "
                       "and that the file system is mounted read-write",
        "corrupt": f"the file is kept for recovery (sqlite3 FILE .recover); the terminal uses a fresh one; "
                   f"if this repeats, check the disk of {where} (dmesg, smartctl)",
        "busy": f"only one kiosk may use {where}: stop the other process (fuser {path})",
        "io": f"check the disk of {where} (dmesg, smartctl) and the file's attributes (lsattr); "
              "replace the storage if errors repeat",
        "missing": f"create {path} for the kiosk user, or set runtime.state_dir to a writable directory",
        "not_a_directory": f"{path} is not a directory: move it away or set runtime.state_dir elsewhere",
    }.get(kind, f"check {path} and its disk")
    return fix if running or then in fix else f"{fix}; {then}"


#: Extended codes whose primary code (IOERR) would say "failing disk" where the disk is only full.
#: SHMSIZE: SQLite could not grow the WAL's shared-memory index (``-shm``); on Linux that is ENOSPC.
_EXACT_KINDS = {"SQLITE_IOERR_SHMSIZE": "full"}


def classify(exc: BaseException) -> str:
    """The kind of a storage failure: full, read_only, cannot_open, corrupt, busy, io or missing."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name in _EXACT_KINDS:
        return _EXACT_KINDS[name]
    for prefix, kind in _KINDS.items():
        if name == prefix or name.startswith(prefix + "_"):
            return kind
    if isinstance(exc, OSError) and exc.errno in _ERRNO_KINDS:
        return _ERRNO_KINDS[exc.errno]
    text = str(exc).lower()  # older SQLite bindings without error names
    for needle, kind in (("disk is full", "full"), ("readonly", "read_only"), ("malformed", "corrupt"),
                         ("not a database", "corrupt"), ("unable to open", "cannot_open"), ("locked", "busy")):
        if needle in text:
            return kind
    return "io"


def error_for(path: str | Path, exc: BaseException) -> StorageError:
    """The typed error for ``exc`` raised while using ``path``."""
    kind, detail = classify(exc), str(exc) or type(exc).__name__
    if kind == "cannot_open" and free_inodes(path) == 0:
        # SQLite says only "unable to open database file" when no inode is left for a new file
        # (its -wal, -shm, or the outbox itself): the disk is full, not the file unusable.
        kind, detail = "full", f"{detail}: no free inode left on the file system (df -i {Path(path).parent})"
    return StorageError(kind, path, detail)


#: The files SQLite keeps beside a database (WAL mode: -wal and -shm; -journal of a rollback).
COMPANIONS = ("-wal", "-shm", "-journal")


def unusable_files(path: str | Path) -> StorageError | None:
    """What keeps SQLite from opening ``path`` that is not its content: the path a link to nothing
    (a data partition not mounted), or a companion file (``-wal``, ``-shm``) that is a directory or a
    broken link. Named, with what to do; None when there is none. (A cold try: a directory named
    ``outbox.sqlite3-wal`` made `kiosk run` refuse with "unable to open database file", naming
    only the outbox, while `kiosk doctor` said run would move the outbox aside.)"""
    p = Path(path)
    if p.is_symlink() and not p.exists():
        return StorageError("cannot_open", p, f"is a link to {os.readlink(p)}, which does not exist",
                            action=f"mount or restore what {p} points to, or remove the link "
                                   "(the kiosk then starts a fresh outbox)")
    for suffix in COMPANIONS:
        c = Path(str(p) + suffix)
        if os.path.lexists(c) and not c.is_file():
            what = "a directory" if c.is_dir() else "a link to nothing" if c.is_symlink() else "not a regular file"
            return StorageError("cannot_open", c, f"is {what} where SQLite keeps the {suffix[1:]} file of {p.name}",
                                action=f"move {c} away (SQLite makes its {suffix} file again; no row is lost)")
    return None


def check_state_dir(path: str | Path) -> Path:
    """Create the state directory if needed and prove it takes a file; raise :class:`StorageError`.

    A full disk passes (the directory is usable; the outbox reports the full disk itself, and the
    terminal still serves what needs no disk): only a directory that cannot exist or cannot be
    written is refused; a refusal's action says to start the kiosk again once fixed (this check
    runs before `kiosk run` starts). Why a probe file rather than ``os.access``: root passes every
    mode check.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise StorageError("not_a_directory", p, "exists and is not a directory", running=False)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StorageError(classify(e), p, f"cannot be created: {e.strerror or e}",
                           running=False) from None
    probe = p / f".kiosk-probe-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        if classify(e) == "full":  # no inode left: usable, just full
            return p
        raise StorageError(classify(e), p, f"cannot create a file: {e.strerror or e}",
                           running=False) from None
    try:
        os.write(fd, b"k")
        os.fsync(fd)
    except OSError as e:
        if classify(e) != "full":
            raise StorageError(classify(e), p, f"cannot write a file: {e.strerror or e}",
                               running=False) from None
    finally:
        os.close(fd)
        try:
            os.unlink(probe)
        except OSError:
            pass
    return p


def connect(path: str | Path, **kwargs: Any) -> sqlite3.Connection:
    """``sqlite3.connect`` for a WAL database the kiosk writes, which still opens on a full disk.

    Why: WAL keeps a shared-memory index in a ``-shm`` file that SQLite must grow; on a full disk
    it cannot (SQLITE_IOERR_SHMSIZE) and not even a read works, so a terminal with rows waiting
    could not start to send them. Then the connection takes ``locking_mode=EXCLUSIVE``, which
    keeps the index in this process's memory: the file is read as before, writes fail as "disk
    full" and work again once there is space. The cost, only in that case: no other process
    (``kiosk doctor``) can read the file while this one has it open."""
    db: sqlite3.Connection = sqlite3.connect(str(path), **kwargs)
    try:
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.Error as e:
        db.close()
        if getattr(e, "sqlite_errorname", "") != "SQLITE_IOERR_SHMSIZE":
            raise
    db = sqlite3.connect(str(path), **kwargs)
    try:
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except BaseException:
        db.close()
        raise
    return db


def move_aside(path: str | Path, now: float | None = None) -> Path:
    """Rename a corrupt database (or a directory in its place) and its ``-wal``/``-shm`` companions
    to ``<name>.corrupt-<UTC time>``: kept for recovery, never deleted. The WAL keeps its
    ``-wal`` suffix after the new name, so ``sqlite3 <new name>`` still reads what it held.
    Raises :class:`StorageError` when the file cannot be moved (read-only or immutable)."""
    p = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    target, n = p.with_name(p.name + CORRUPT_MARK + stamp), 1
    while target.exists():
        target, n = p.with_name(f"{p.name}{CORRUPT_MARK}{stamp}.{n}"), n + 1
    try:
        os.rename(p, target)
        for suffix in ("-wal", "-shm", "-journal"):
            companion = Path(str(p) + suffix)
            if companion.exists():
                os.rename(companion, str(target) + suffix)
    except OSError as e:
        raise StorageError("corrupt", p, f"cannot be moved aside ({e.strerror or e})",
                           action=f"make {p.parent} writable (lsattr/chattr -i, mount read-write), "
                                  f"then move {p} away by hand and restart the kiosk") from None
    return target


def corrupt_copies(path: str | Path) -> list[Path]:
    """Files moved aside by :func:`move_aside` for ``path`` (companions left out), oldest first."""
    p = Path(path)
    try:
        found = [c for c in p.parent.glob(p.name + CORRUPT_MARK + "*")
                 if not c.name.endswith(("-wal", "-shm", "-journal"))]
    except OSError:
        return []
    return sorted(found)


def salvage(path: str | Path, table: str, columns: str) -> list[tuple[Any, ...]]:
    """The rows of ``table`` that can still be read from a (moved-aside) corrupt database.

    Read-only (the file stays as it was, for a real recovery). Rows are read by ``seq`` from both
    ends, so one bad page costs only the rows on it and not every row after it. ``columns`` start
    with ``seq, id``; the rows come back in ``seq`` order, one per id. Never raises."""
    try:
        db = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    rows: dict[Any, tuple[Any, ...]] = {}
    try:
        for order in ("ASC", "DESC"):
            try:
                for r in db.execute(f"SELECT {columns} FROM {table} ORDER BY seq {order}"):
                    rows.setdefault(r[1], r)
            except sqlite3.Error:
                continue
    finally:
        db.close()
    return sorted(rows.values(), key=lambda r: r[0])


class FaultLog:
    """A storage fault that may repeat every second is logged once, not once per second.

    ``fault(key, err)`` logs the first occurrence of a fault at ERROR (path, reason, action) and
    calls ``on_alarm``; repeats are counted and logged at DEBUG; ``clear(key)`` logs the recovery
    once at INFO with the count. ``active()`` lists the faults in force (for health and staff).
    """

    def __init__(self, logger: logging.Logger, on_alarm: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.log = logger
        self.on_alarm = on_alarm
        self._lock = threading.Lock()
        self._faults: dict[str, dict[str, Any]] = {}

    def fault(self, key: str, err: StorageError) -> bool:
        """Record ``err`` under ``key``; True when it is new (logged and announced)."""
        with self._lock:
            cur = self._faults.get(key)
            if cur is not None and cur["kind"] == err.kind:
                cur["count"] += 1
                count = cur["count"]
            else:
                cur = {**err.to_dict(), "key": key, "count": 1, "since": time.time()}
                self._faults[key] = cur
                count = None
        if count is not None:
            self.log.debug("storage fault repeats (%d times): %s", count, err.reason)
            return False
        self.log.error("%s (%s)", err.reason, err.action, extra={"code": err.code, "kind": err.kind, "op": key})
        if self.on_alarm is not None:
            self.on_alarm(dict(cur))
        return True

    def clear(self, key: str) -> None:
        """``key`` works again: log the recovery once."""
        if key not in self._faults:  # the common case, without the lock
            return
        with self._lock:
            cur = self._faults.pop(key, None)
        if cur is not None:
            self.log.info("storage works again after %d failures: %s", cur["count"], cur["path"],
                          extra={"op": key, "kind": cur["kind"]})

    def active(self) -> list[dict[str, Any]]:
        """The faults in force, oldest first."""
        with self._lock:
            return sorted((dict(f) for f in self._faults.values()), key=lambda f: f["since"])


# -- probes for `kiosk doctor` (read-only: a running kiosk is not disturbed) ------------------------
def free_bytes(path: str | Path) -> int:
    """Bytes free for an unprivileged writer on the file system of ``path`` (its nearest existing parent)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    st = os.statvfs(p)
    return st.f_bavail * st.f_frsize


def free_inodes(path: str | Path) -> int | None:
    """Inodes free on the file system of ``path`` (its nearest existing parent); None where the
    file system does not count them (btrfs says 0 of 0) or cannot be asked."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        st = os.statvfs(p)
    except OSError:
        return None
    return st.f_favail if st.f_files else None


def quick_check(path: str | Path) -> str:
    """``ok``, or what SQLite's ``PRAGMA quick_check`` (or opening the file) says is wrong.

    Opened read-only: nothing is written, and a running kiosk keeps its file as it is."""
    p = Path(path)
    if p.is_dir():
        return "a directory is where the database file should be"
    try:
        db = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=5.0)
        try:
            rows = [r[0] for r in db.execute("PRAGMA quick_check(5)")]
        finally:
            db.close()
    except sqlite3.Error as e:
        if classify(e) == "full":  # the -shm index cannot be made: nothing is known about the pages
            return f"{UNCHECKED_FULL}: {e}"
        return str(e)
    return "ok" if rows == ["ok"] else "; ".join(map(str, rows))


def writable(path: str | Path) -> str | None:
    """None if ``path`` (an existing file) can be opened for writing, else why not. Writes nothing.

    Why opening rather than ``os.access``: the kernel's answer to a real open is the one that
    counts; an immutable file (chattr +i) and a read-only mount refuse it even to root."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except OSError as e:
        return e.strerror or str(e)
    os.close(fd)
    return None
