"""``dpref bench storage``: both engines on four workloads, and the same on a real PostgreSQL.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

Step one runs each workload of :func:`~designpatterns_ref.storage.workload.run_workload`
(insert-heavy, update of an unindexed column, update of an indexed column, read through a
secondary index) on a ``trips`` table with 3 secondary indexes, on the heap engine without
HOT, with HOT (fillfactor 70) and on the clustered engine: operations per second (the median
of three fresh runs, each operation its own transaction) and, per operation, WAL bytes, pages
written and read, index entries, and the bytes a physical and a logical replica receive.

Step two runs the same workloads on a real PostgreSQL (``$DPREF_PG_URL``, else a throwaway
server from :func:`designpatterns_ref.testing.postgres_server`) and puts the server's own WAL
bytes per operation (``pg_current_wal_insert_lsn()`` before and after) and HOT share
(``n_tup_hot_upd``) beside the heap engine's count of the same workload.

Full run: 2,000 rows and 2,000 operations a workload. Quick run: 300 and 300.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from designpatterns_ref.benchkit import Table
from designpatterns_ref.storage.workload import WORKLOADS, make_engine, run_workload, trips_schema

__all__ = ["bench_engines", "bench_postgres", "bench_steps", "postgres_url"]

INDEXES = 3
NAMES = {"heap": "heap (no HOT)", "heap_hot": "heap + HOT", "clustered": "clustered + undo"}


def _sizes(quick: bool) -> tuple[int, int]:
    return (300, 300) if quick else (2000, 2000)


def bench_engines(quick: bool) -> list[Table]:
    """Ops/s and per-operation costs of every workload on the three engine settings."""
    rows, ops = _sizes(quick)
    table = Table(
        f"storage engines: trips table with {INDEXES} secondary indexes, {rows} rows, "
        f"{ops} operations (one transaction each); per-operation costs",
        ["workload", "engine", "ops/s", "WAL B", "pages written", "pages read",
         "index entries", "undo B", "physical repl B", "logical repl B"],
    )  # fmt: skip
    for workload in WORKLOADS:
        for name in NAMES:
            runs = [
                run_workload(make_engine(name, trips_schema(INDEXES)), workload, rows=rows, ops=ops)
                for _ in range(3)
            ]
            d, n, _ = runs[0]
            rate = statistics.median(done / seconds for _, done, seconds in runs)
            table.add(workload, NAMES[name], round(rate), d.wal_bytes / n, d.pages_written / n,
                      d.pages_read / n, d.index_entries_written / n, d.undo_bytes / n,
                      d.physical_replica_bytes / n, d.logical_replica_bytes / n)  # fmt: skip
    table.note = (
        "Counts are deterministic (seeded); ops/s is the median of 3 runs. WAL: no full-page "
        "images (as the PostgreSQL comparison runs); replication: physical = every WAL byte, "
        "logical = committed row changes."
    )
    return [table]


@contextmanager
def postgres_url() -> Iterator[str]:
    """``$DPREF_PG_URL``, or a throwaway local server's URL for the ``with`` block."""
    if os.environ.get("DPREF_PG_URL"):
        yield os.environ["DPREF_PG_URL"]
        return
    from designpatterns_ref.testing import postgres_server

    with postgres_server() as server:
        yield server.url


def bench_postgres(quick: bool) -> list[Table]:
    """The heap engine's WAL bytes per operation beside a real PostgreSQL's."""
    from designpatterns_ref.storage.postgres import measure

    rows, ops = _sizes(quick)
    table = Table(
        f"real PostgreSQL beside the heap engine: {INDEXES} secondary indexes, fillfactor 70, "
        f"{rows} rows, {ops} operations",
        ["workload", "PostgreSQL WAL B/op", "heap engine WAL B/op", "ratio",
         "PostgreSQL HOT %", "engine HOT %", "PostgreSQL ops/s"],
    )  # fmt: skip
    try:
        with postgres_url() as url:
            for workload in WORKLOADS:
                real = measure(url, workload, indexes=INDEXES, rows=rows, ops=ops)
                engine = make_engine("heap_hot", trips_schema(INDEXES),
                                     full_page_writes=bool(real["full_page_writes"]))  # fmt: skip
                d, n, _ = run_workload(engine, workload, rows=rows, ops=ops)
                pg, model = real["wal_bytes"] / ops, d.wal_bytes / n
                updates = d.row_versions_written if workload.startswith("update") else 0
                hot_model = 100 * d.hot_updates / updates if updates else 0.0
                hot_pg = 100 * real["hot_updates"] / real["updates"] if real["updates"] else 0.0
                table.add(workload, pg, model, pg / model if model else "-", hot_pg, hot_model,
                          round(ops / real["seconds"]))  # fmt: skip
            fpw = "on" if real["full_page_writes"] else "off"
            table.note = f"full_page_writes={fpw} on the server and in the engine."
    except Exception as exc:  # a missing server or driver: say so, keep the other step's tables
        table.note = f"no PostgreSQL available: {type(exc).__name__}: {exc}"
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench storage`` runs, each returning its tables."""
    return [
        ("both engines, four workloads", lambda: bench_engines(quick)),
        ("real PostgreSQL WAL", lambda: bench_postgres(quick)),
    ]
