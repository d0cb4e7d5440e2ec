"""The service catalogue cache: the terminal's offline copy of the public service guide.

Filled by :meth:`kiosk.network.gateway.Gateway.sync_catalogue` (operation ``catalogue.sync``) and
read by the guide and booking services, with or without a broker. The catalogue is public data,
so it lives in SQLite under ``state_dir``; a sync replaces it in one transaction, so a reader
never sees half of a version. Search matches Chinese substrings, the code, English names and
pinyin (full or initials: ``lnyd`` finds 老年优待证办理) with the keys the central service sends.

Languages: every text a citizen reads comes with its English beside it (``name``/``name_en``,
``agency``/``agency_en``, ``steps``/``steps_en``...; contract v1). :func:`localize` is the one place
that picks the language: in English each text takes its English, and only where the English is
empty does the Chinese stay; that is a data gap, logged once and listed by
:meth:`CatalogueCache.english_gaps` (the maintenance screen and the tests read it).
"""
from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

from kiosk.storage import StorageError, connect, error_for, move_aside

log = logging.getLogger("kiosk.network.catalogue")

#: Where a text's English sits: beside it, under the same key + this suffix.
EN = "_en"
#: Chinese characters, CJK punctuation and full-width forms (what an English screen must not show).
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_reported: set[str] = set()  # gaps already logged (once per field and text, not once per redraw)


def has_chinese(value: Any) -> bool:
    """Whether a text (or a list of texts) holds Chinese."""
    if isinstance(value, str):
        return bool(CJK.search(value))
    return isinstance(value, list) and any(isinstance(v, str) and CJK.search(v) for v in value)


def localize(entry: Any, lang: str, gaps: list[str] | None = None, _path: str = "") -> Any:
    """A copy of ``entry`` (a catalogue record, or an answer that names items and offices) in
    ``lang``: in English, every text ``x`` with a non-empty ``x_en`` beside it becomes the English
    (lists of texts too, when the English list is as long); in Chinese, the entry as it is. A
    Chinese text whose English is missing or empty stays Chinese, is appended to ``gaps`` as
    ``path: text`` and logged once."""
    if isinstance(entry, list):
        return [localize(v, lang, gaps, f"{_path}[{_key(v, i)}]") for i, v in enumerate(entry)]
    if not isinstance(entry, dict):
        return entry
    if lang != "en":
        return {k: localize(v, lang) for k, v in entry.items()}
    out = {}
    for key, value in entry.items():
        here = f"{_path}.{key}" if _path else key
        english = entry.get(key + EN) if not key.endswith(EN) else None
        if english and (isinstance(value, str) or (isinstance(value, list) and isinstance(english, list)
                                                    and len(english) == len(value))):
            out[key] = english
        elif has_chinese(value) and not key.endswith(EN):
            out[key] = value
            _gap(here, value, gaps)
        else:
            out[key] = localize(value, lang, gaps, here)
    return out


def _key(entry: Any, i: int) -> str:
    """How a gap names a list member: its code when it has one (items[GA001]), else its place."""
    return entry["code"] if isinstance(entry, dict) and isinstance(entry.get("code"), str) else str(i)


def _gap(path: str, value: Any, gaps: list[str] | None) -> None:
    line = f"{path}: {value if isinstance(value, str) else ' / '.join(value)}"
    if gaps is not None:
        gaps.append(line)
    if line not in _reported:
        _reported.add(line)
        log.warning("no English for a text a citizen reads (shown in Chinese): %s", line)

_KINDS = ("categories", "departments", "lines", "items")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    kind TEXT NOT NULL, code TEXT NOT NULL, pos INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (kind, code)
);
"""


def search_keys(item: dict[str, Any]) -> tuple[str, str]:
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
        self.path = path
        self._lock = threading.Lock()
        #: The disk fault met at start (None: the file is in use), for health and staff.
        self.fault: StorageError | None = None
        try:
            self._open(str(path))
        except (sqlite3.Error, OSError) as e:
            self._recover(e)

    def _open(self, where: str) -> None:
        if where == ":memory:":
            self._db = sqlite3.connect(where, isolation_level=None, check_same_thread=False)
        else:
            self._db = connect(where, isolation_level=None, check_same_thread=False)
        try:
            if where != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            self._load()
        except BaseException:
            self._db.close()
            raise

    def _recover(self, exc: BaseException) -> None:
        """The file could not be opened or read. The catalogue is a copy of the central service's
        (the next catalogue.sync fills it again), so the terminal never stops for it: a corrupt file
        (or a directory in its place) is moved aside, kept, and a fresh one started; any other
        fault (disk full, read-only) keeps the catalogue in memory until the next start. Logged
        once with the path and what to do."""
        path = self.path
        err = (error_for(path, exc) if not path.is_dir() else
               StorageError("corrupt", path, "a directory is where the catalogue file should be"))
        if err.kind == "corrupt":
            try:
                moved = move_aside(path)
                self._open(str(path))
                self.fault = StorageError("corrupt", path, f"{err.detail}; moved aside to {moved.name}; a fresh "
                                          "catalogue comes with the next catalogue.sync")
                log.error("%s (%s)", self.fault.reason, self.fault.action,
                          extra={"code": err.code, "kind": err.kind})
                return
            except StorageError as e:
                err = e
            except (sqlite3.Error, OSError) as e:
                err = error_for(path, e)
        self.fault = err
        log.error("%s; the catalogue is kept in memory until the next start (%s)", err.reason, err.action,
                  extra={"code": err.code, "kind": err.kind})
        self._open(":memory:")

    def _load(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        version = int(row[0]) if row else 0
        # Built aside, then swapped in with one assignment each: readers take no lock, and a
        # screen that read while a refresh filled the lists in place saw an empty catalogue (a
        # fresh-clone run under load: no walk-in line right after a sync had stored 46 items).
        data: dict[str, list[dict[str, Any]]] = {k: [] for k in _KINDS}
        for kind, row_data in self._db.execute("SELECT kind, data FROM entries ORDER BY kind, pos"):
            data[kind].append(json.loads(row_data))
        index = [(it, (it.get("name") or "").lower(), *search_keys(it),
                  (it.get("name_en") or "").lower(), (it.get("code") or "").lower())
                 for it in data["items"]]
        self._data, self._index, self._version = data, index, version

    @property
    def version(self) -> int:
        """The cached catalogue version (0 = empty, never synced)."""
        return self._version

    def store(self, result: dict[str, Any]) -> bool:
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

    # Every reader takes ``lang``: None gives the records as stored (both languages), "zh_CN" or
    # "en" gives them localized (see localize).
    def _out(self, kind: str, rows: list[dict[str, Any]], lang: str | None) -> list[dict[str, Any]]:
        return rows if lang is None else localize(rows, lang, _path=kind)

    def items(self, category: str | None = None, lang: str | None = None) -> list[dict[str, Any]]:
        """All items (of one category when given), in the central service's order."""
        return self._out("items", [i for i in self._data["items"] if category is None or i.get("category") == category], lang)

    def categories(self, lang: str | None = None) -> list[dict[str, Any]]:
        """Categories [{code, name, name_en}]."""
        return self._out("categories", list(self._data["categories"]), lang)

    def departments(self, lang: str | None = None) -> list[dict[str, Any]]:
        """Departments [{code, name, name_en}]."""
        return self._out("departments", list(self._data["departments"]), lang)

    def lines(self, lang: str | None = None) -> list[dict[str, Any]]:
        """Walk-in business lines [{code, name, name_en, prefix, zone, zone_en}]."""
        return self._out("lines", list(self._data["lines"]), lang)

    def item(self, code: str, lang: str | None = None) -> dict[str, Any] | None:
        """One item by code, or None."""
        it = next((i for i in self._data["items"] if i.get("code") == code), None)
        return it if it is None or lang is None else localize([it], lang, _path="items")[0]

    def search(self, query: str, lang: str | None = None) -> list[dict[str, Any]]:
        """Items whose name, code, English name, pinyin or pinyin initials contain ``query``."""
        q = "".join((query or "").split()).lower()
        if not q:
            return []
        return self._out("items", [it for it, name, full, initials, en, code in self._index
                                   if q in name or q in full or q in initials or q in code or q in en.replace(" ", "")], lang)

    def english_gaps(self) -> list[str]:
        """Every text of the cached catalogue that a citizen would read in Chinese in an English
        session (``kind[code].field: text``); empty when the catalogue is complete."""
        gaps: list[str] = []
        for kind in _KINDS:
            localize(self._data[kind], "en", gaps, kind)
        return gaps

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
