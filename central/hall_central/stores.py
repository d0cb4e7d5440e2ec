"""Which store a database URL opens: SQLite (:class:`hall_central.store.Store`, the default) or
PostgreSQL (:class:`hall_central.store_pg.PgStore`). Its own module so that neither store imports
the other."""
from __future__ import annotations

from hall_central.store import SqlStore, Store


def open_store(url: str) -> SqlStore:
    """A Store for ``sqlite:///path``, a plain path, or ``postgresql://user@host:port/db``."""
    if url.startswith(("postgresql://", "postgres://")):
        from hall_central.store_pg import PgStore  # psycopg is imported only when asked for
        return PgStore(url)
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url.removeprefix("sqlite://")
    return Store(path)
