"""The same workload on a real PostgreSQL: WAL bytes and HOT updates, beside the heap engine's.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

:func:`measure` creates the ``trips`` table of :mod:`~designpatterns_ref.storage.workload`
(same columns, same secondary indexes, fillfactor 70, autovacuum off so nothing else writes) in
a scratch schema of its own (``dpref_measure_<random>``, dropped with everything in it when the
measurement ends or fails, so a ``trips`` table of yours is never touched; the user needs the
right to create a schema in the database), loads it, runs one workload with one transaction
per operation, and reads what the server
itself reports: WAL bytes as the difference of ``pg_current_wal_insert_lsn()`` before and
after, and updates done as HOT from ``pg_stat_user_tables.n_tup_hot_upd``. The heap engine's
own count of the same workload sits beside it in ``dpref bench storage``: the model should
track the real thing in direction (indexed updates cost more WAL than HOT ones) and in rough
size, not to the byte (PostgreSQL's records carry more headers, alignment and 4-byte ints).

psycopg is imported when called (``pip install 'psycopg[binary]'``); the server is yours, or
``designpatterns_ref.testing.postgres_server()``.

Complexity: rows + ops round trips on loopback.

>>> measure("postgresql://nowhere", "bogus")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
designpatterns_ref.storage.base.StorageError: workload='bogus' must be one of (...)
"""

from __future__ import annotations

import random
import secrets
import time
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.storage.base import StorageError
from designpatterns_ref.storage.workload import WORKLOADS

__all__ = ["measure"]


def _lsn(cur: Any) -> int:
    cur.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint")
    return int(cur.fetchone()[0])


def measure(url: str, workload: str, *, indexes: int = 1, rows: int = 1000, ops: int = 1000,
            seed: int = 1) -> dict[str, Any]:  # fmt: skip
    """Run ``workload`` on the server at ``url``; WAL bytes, HOT updates, seconds, settings."""
    if not isinstance(workload, str) or workload not in WORKLOADS:
        raise StorageError(f"workload={shown(workload, 40)} must be one of {WORKLOADS}")
    for name, value, high in (("indexes", indexes, 10), ("rows", rows, 10**6), ("ops", ops, 10**6)):
        if type(value) is not int or not (0 if name == "indexes" else 1) <= value <= high:
            raise StorageError(f"{name}={shown(value, 40)} is out of range")
    if workload in ("update-indexed", "read-secondary") and not indexes:
        raise StorageError(f"workload={workload!r} needs an index on k0: indexes must be 1 or more")
    import psycopg

    rng = random.Random(seed)
    scratch = f"dpref_measure_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {scratch}".encode())
        try:
            cur.execute(f"SET search_path TO {scratch}".encode())
            return _run(cur, conn, workload, indexes, rows, ops, rng)
        finally:
            cur.execute(f"DROP SCHEMA {scratch} CASCADE".encode())


def _run(cur: Any, conn: Any, workload: str, indexes: int, rows: int, ops: int,
         rng: random.Random) -> dict[str, Any]:  # fmt: skip
    """:func:`measure` inside its scratch schema (first on the search path)."""
    cols = "".join(f", k{i} bigint" for i in range(indexes))
    cur.execute(
        f"CREATE TABLE trips (id bigint PRIMARY KEY, counter bigint, note text{cols}) "
        "WITH (fillfactor = 70, autovacuum_enabled = off)"
    )
    for i in range(indexes):
        cur.execute(f"CREATE INDEX trips_k{i} ON trips (k{i})")
    cur.execute("SHOW full_page_writes")
    fpw = cur.fetchone() == ("on",)
    ks = ", %s" * indexes
    insert = f"INSERT INTO trips VALUES (%s, 0, %s{ks})"

    def row(key: int) -> tuple[Any, ...]:
        return (key, f"trip-{key:06d}", *(rng.randrange(1000) for _ in range(indexes)))

    if workload != "insert-heavy":
        with conn.transaction():
            cur.executemany(insert, [row(k) for k in range(rows)])
        cur.execute("CHECKPOINT")
    cur.execute("SELECT pg_stat_force_next_flush()") if _has_flush(cur) else None
    start_lsn, start = _lsn(cur), time.perf_counter()
    for i in range(ops):
        if workload == "insert-heavy":
            cur.execute(insert, row(i))
        elif workload == "update-unindexed":
            cur.execute("UPDATE trips SET counter = %s WHERE id = %s", (i, rng.randrange(rows)))
        elif workload == "update-indexed":
            key = rng.randrange(rows)
            cur.execute("UPDATE trips SET k0 = %s WHERE id = %s", (rng.randrange(1000), key))
        else:
            value = rng.randrange(1000)
            cur.execute("SELECT * FROM trips WHERE k0 = %s", (value,))
            cur.fetchall()
    seconds = time.perf_counter() - start
    wal = _lsn(cur) - start_lsn
    if _has_flush(cur):
        cur.execute("SELECT pg_stat_force_next_flush()")
    cur.execute(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
        "WHERE relid = to_regclass('trips')"
    )
    found = cur.fetchone()
    updated, hot = (int(found[0]), int(found[1])) if found else (0, 0)
    return {"wal_bytes": wal, "ops": ops, "seconds": seconds, "updates": updated,
            "hot_updates": hot, "full_page_writes": fpw}  # fmt: skip


def _has_flush(cur: Any) -> bool:
    cur.execute("SELECT count(*) FROM pg_proc WHERE proname = 'pg_stat_force_next_flush'")
    return bool(cur.fetchone()[0])
