"""The service catalogue cache: the terminal's offline copy of the public service guide.

Filled by :meth:`kiosk.network.gateway.Gateway.sync_catalogue` (operation ``catalogue.sync``) and
read by the guide and booking services, with or without a broker. The catalogue is public data,
so it lives in SQLite under ``state_dir``; a sync replaces it in one transaction, so a reader
never sees half of a version. Search matches Chinese substrings, the code, English names and
pinyin (full or initials: ``lnyd`` finds 老年优待证办理) with the keys the central service sends.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path


log = logging.getLogger("kiosk.network.catalogue")

_KINDS = ("categories", "departments", "lines", "items")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    kind TEXT NOT NULL, code TEXT NOT NULL, pos INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (kind, code)
);
"""


def search_keys(item: dict) -> tuple[str, str]:
    """(full pinyin, initials) of an item as the central service sent them (``search_keys``).

    Why not computed here: a pinyin dictionary costs a terminal about 50 MiB; the central
    service makes the keys once per catalogue version (contract: item.search_keys)."""
    keys = item.get("search_keys") or {}
    return (keys.get("pinyin") or "").lower(), (keys.get("initials") or "").lower()


class CatalogueCache:
    """SQLite-backed catalogue with an in-memory index for search."""

    def __init__(self, state_dir: str | Path) -> None:
        path = Path(state_dir) / "catalogue.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._load()

    def _load(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        self._version = int(row[0]) if row else 0
        self._data: dict[str, list[dict]] = {k: [] for k in _KINDS}
        for kind, data in self._db.execute("SELECT kind, data FROM entries ORDER BY kind, pos"):
            self._data[kind].append(json.loads(data))
        self._index = [(it, (it.get("name") or "").lower(), *search_keys(it),
                        (it.get("name_en") or "").lower(), (it.get("code") or "").lower())
                       for it in self._data["items"]]

    @property
    def version(self) -> int:
        """The cached catalogue version (0 = empty, never synced)."""
        return self._version

    def store(self, result: dict) -> bool:
        """Store a catalogue.sync result; False (nothing changed) when it says ``unchanged``."""
        if result.get("unchanged"):
            return False
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM entries")
                for kind in _KINDS:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO entries (kind, code, pos, data) VALUES (?, ?, ?, ?)",
                        [(kind, e["code"], i, json.dumps(e, ensure_ascii=False))
                         for i, e in enumerate(result.get(kind, []))])
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)",
                                 (str(int(result["version"])),))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._load()
        log.info("catalogue version %d stored (%d items)", self._version, len(self._data["items"]))
        return True

    def items(self, category: str | None = None) -> list[dict]:
        """All items (of one category when given), in the central service's order."""
        return [i for i in self._data["items"] if category is None or i.get("category") == category]

    def categories(self) -> list[dict]:
        """Categories [{code, name, name_en}]."""
        return list(self._data["categories"])

    def departments(self) -> list[dict]:
        """Departments [{code, name, name_en}]."""
        return list(self._data["departments"])

    def lines(self) -> list[dict]:
        """Walk-in business lines [{code, name, name_en, prefix}]."""
        return list(self._data["lines"])

    def item(self, code: str) -> dict | None:
        """One item by code, or None."""
        return next((i for i in self._data["items"] if i.get("code") == code), None)

    def search(self, query: str) -> list[dict]:
        """Items whose name, code, English name, pinyin or pinyin initials contain ``query``."""
        q = "".join((query or "").split()).lower()
        if not q:
            return []
        return [it for it, name, full, initials, en, code in self._index
                if q in name or q in full or q in initials or q in code or q in en.replace(" ", "")]

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
