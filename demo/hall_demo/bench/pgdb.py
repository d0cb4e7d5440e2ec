"""A fresh PostgreSQL schema for the benchmark's PostgreSQL figure (dropped afterwards)."""
from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

#: Where the PostgreSQL figure runs (a fresh schema, dropped afterwards); KIOSK_BENCH_PG overrides.
PG_URLS = ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test")


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose search_path is a fresh schema (README "Scaling out": the same statements as SQLite)."""
    import psycopg
    errors = []
    for base in ([os.environ["KIOSK_BENCH_PG"]] if os.environ.get("KIOSK_BENCH_PG") else PG_URLS):
        try:
            admin = psycopg.connect(base, autocommit=True, connect_timeout=5)
            break
        except psycopg.OperationalError as e:
            errors.append(f"{base}: {str(e).strip()}"[:120])
    else:
        raise RuntimeError("PostgreSQL not reachable: " + "; ".join(errors))
    schema = "kiosk_bench_" + uuid.uuid4().hex[:12]
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()
