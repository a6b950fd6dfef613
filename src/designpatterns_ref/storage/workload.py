"""The case study's experiments: the same workload on both engines, counted.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

A table ``trips(id, counter, note, k0 .. k{n-1})`` with ``n`` secondary indexes on the ``k``
columns. :func:`write_amplification` updates the unindexed ``counter`` and reports, per
update, index entries and WAL bytes on the heap engine with and without HOT and on the
clustered engine, for n = 0..10. :func:`replication_volume` ships the same workload physically
(every WAL byte) and logically (committed rows). :func:`long_reader` keeps one snapshot open
while updates run: dead versions pile up in the heap, undo in the clustered engine, and
neither VACUUM nor purge can free them until the reader ends. :func:`secondary_reads` counts
the pages a read through a secondary index costs (one lookup against two).
:func:`run_workload` is the benchmark's workloads (insert-heavy, update-heavy with and without
an indexed column, read-through-secondary) and :data:`SQL` their PostgreSQL equivalents.

Every function is deterministic (a seeded ``random.Random``).

Complexity: each experiment is O(rows + operations) engine calls.

>>> rows = write_amplification(max_indexes=2, rows=50, updates=20)
>>> for r in rows:
...     print(r["indexes"], r["heap"], r["heap_hot"], r["clustered"])
0 1.0 0.0 1.0
1 2.0 0.0 1.0
2 3.0 0.0 1.0
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.storage.base import Counters, Schema, StorageError
from designpatterns_ref.storage.clustered import ClusteredEngine
from designpatterns_ref.storage.heap import HeapEngine

__all__ = [
    "ENGINES",
    "SQL",
    "WORKLOADS",
    "long_reader",
    "make_engine",
    "replication_volume",
    "run_workload",
    "secondary_reads",
    "trips_schema",
    "write_amplification",
]

#: Engine names the experiments accept.
ENGINES = ("heap", "heap_hot", "clustered")
#: Workloads of :func:`run_workload`.
WORKLOADS = ("insert-heavy", "update-unindexed", "update-indexed", "read-secondary")


def _count(name: str, value: object, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise StorageError(f"{name}={shown(value, 40)} must be an int from {low} to {high}")
    return value


def trips_schema(indexes: int) -> Schema:
    """``trips(id, counter, note, k0..)`` with ``indexes`` secondary indexes (0 to 10)."""
    _count("indexes", indexes, 0, 10)
    columns: dict[str, type] = {"id": int, "counter": int, "note": str}
    columns.update({f"k{i}": int for i in range(indexes)})
    return Schema(columns, primary_key="id", indexes=[f"k{i}" for i in range(indexes)])


def make_engine(name: str, schema: Schema, *, full_page_writes: bool = False) -> Any:
    """``"heap"`` (no HOT), ``"heap_hot"`` (HOT, fillfactor 70) or ``"clustered"``."""
    if not isinstance(schema, Schema):
        raise StorageError(f"schema={shown(schema, 40)} must be a Schema")
    if name == "heap":
        return HeapEngine(schema, hot=False, full_page_writes=full_page_writes)
    if name == "heap_hot":
        return HeapEngine(schema, hot=True, fillfactor=70, full_page_writes=full_page_writes)
    if name == "clustered":
        return ClusteredEngine(schema)
    raise StorageError(f"name={shown(name, 40)} must be one of {ENGINES}")


def _row(schema: Schema, key: int, rng: random.Random) -> dict[str, Any]:
    row: dict[str, Any] = {"id": key, "counter": 0, "note": f"trip-{key:06d}"}
    for column in schema.indexes:
        row[column] = rng.randrange(1000)
    return row


def _one(engine: Any, work: Callable[..., object], *args: Any) -> None:
    """Run ``work(tx, *args)`` in a transaction of its own; abort it if ``work`` fails, so no
    transaction is left open to hold VACUUM or purge back."""
    tx = engine.begin()
    try:
        work(tx, *args)
    except BaseException:
        if tx.status == "active":
            tx.abort()
        raise
    tx.commit()


def _load(engine: Any, rows: int, rng: random.Random, batch: int = 100) -> None:
    def insert(tx: Any, keys: range) -> None:
        for key in keys:
            tx.insert(_row(engine.schema, key, rng))

    for start in range(0, rows, batch):
        _one(engine, insert, range(start, min(rows, start + batch)))
    engine.checkpoint()


def _rows_held(engine: HeapEngine | ClusteredEngine) -> int:
    """Row versions the engine holds (live, dead or delete-marked), read without a transaction."""
    if isinstance(engine, HeapEngine):
        return engine.stats()["versions"]
    return len(engine.state.rows)


def _measure(engine: Any, ops: Callable[[], int]) -> tuple[Counters, int, float]:
    before = engine.counters.copy()
    start = time.perf_counter()
    done = ops()
    return engine.counters - before, done, time.perf_counter() - start


def run_workload(engine: Any, workload: str, *, rows: int = 1000, ops: int = 1000,
                 seed: int = 1) -> tuple[Counters, int, float]:  # fmt: skip
    """Load ``rows`` (not counted), run ``ops`` operations of ``workload``.

    Returns ``(counters, ops, seconds)``: what the operations cost, how many ran, how long
    they took (the load excluded).

    One operation is one transaction: an insert of a new row, an update of ``counter`` (or of
    the indexed ``k0``), or a read of the rows whose ``k0`` equals a random value.

    ``engine`` must be a fresh one (:func:`make_engine` on :func:`trips_schema`): no rows and
    no open transaction, since the load writes keys ``0 .. rows - 1``; ``"update-indexed"``
    and ``"read-secondary"`` need an index on ``k0`` (``trips_schema(1)`` or more). Anything
    else is refused with :class:`StorageError` before the engine is touched; an operation that
    fails anyway is aborted, never left open.
    """
    if not isinstance(workload, str) or workload not in WORKLOADS:
        raise StorageError(f"workload={shown(workload, 40)} must be one of {WORKLOADS}")
    if not isinstance(engine, HeapEngine | ClusteredEngine):
        raise StorageError(f"engine={shown(engine, 40)} must be a HeapEngine or ClusteredEngine")
    if engine.schema.primary_key != "id" or "counter" not in engine.schema.columns:
        raise StorageError("engine must hold a trips_schema() table")
    _count("rows", rows, 1, 1_000_000)
    _count("ops", ops, 1, 1_000_000)
    _count("seed", seed, 0, 2**32)
    if workload in ("update-indexed", "read-secondary") and "k0" not in engine.schema.indexes:
        raise StorageError(
            f"workload={workload!r} needs an index on k0: make the engine with trips_schema(n) "
            f"for n >= 1 (this one has indexes {list(engine.schema.indexes)})"
        )
    if engine.active or _rows_held(engine):
        raise StorageError(
            f"engine must be fresh (no rows, no open transaction); it holds "
            f"{_rows_held(engine)} row versions and {len(engine.active)} open transactions"
        )
    rng = random.Random(seed)
    if workload != "insert-heavy":
        _load(engine, rows, rng)

    def op(tx: Any, i: int) -> None:
        if workload == "insert-heavy":
            tx.insert(_row(engine.schema, i, rng))
        elif workload == "update-unindexed":
            tx.update(rng.randrange(rows), {"counter": i})
        elif workload == "update-indexed":
            tx.update(rng.randrange(rows), {"k0": rng.randrange(1000)})
        else:
            value = rng.randrange(1000)
            tx.scan("k0", value, value + 1)

    def go() -> int:
        for i in range(ops):
            _one(engine, op, i)
        return ops

    return _measure(engine, go)


def write_amplification(max_indexes: int = 10, *, rows: int = 500,
                        updates: int = 500) -> list[dict[str, float]]:  # fmt: skip
    """Per update of the unindexed column: index entries and WAL bytes, by index count."""
    _count("max_indexes", max_indexes, 0, 10)
    _count("rows", rows, 1, 100_000)
    _count("updates", updates, 1, 100_000)
    out = []
    for n in range(max_indexes + 1):
        result: dict[str, float] = {"indexes": n}
        for name in ENGINES:
            delta, done, _ = run_workload(make_engine(name, trips_schema(n)),
                                          "update-unindexed", rows=rows, ops=updates)  # fmt: skip
            result[name] = delta.index_entries_written / done
            result[f"{name}_wal"] = delta.wal_bytes / done
            result[f"{name}_pages"] = delta.pages_written / done
        out.append(result)
    return out


def replication_volume(indexes: int = 3, *, rows: int = 500,
                       updates: int = 500) -> list[dict[str, Any]]:  # fmt: skip
    """Bytes per update a replica receives, physical against logical, on both engines.

    The heap engine runs with full-page writes on and a checkpoint before the updates, as
    PostgreSQL does by default: the first change to each page ships a whole page.
    """
    out = []
    for name in ENGINES:
        for workload in ("update-unindexed", "update-indexed"):
            engine = make_engine(name, trips_schema(indexes), full_page_writes=True)
            delta, done, _ = run_workload(engine, workload, rows=rows, ops=updates)
            out.append({
                "engine": name,
                "workload": workload,
                "physical": delta.physical_replica_bytes / done,
                "logical": delta.logical_replica_bytes / done,
                "full_page_images": delta.full_page_images / done,
            })  # fmt: skip
    return out


def long_reader(*, rows: int = 200, rounds: int = 5, updates: int = 200,
                indexes: int = 2) -> list[dict[str, Any]]:  # fmt: skip
    """Rounds of updates while one reader keeps its snapshot; then the reader ends.

    After each round both engines clean up (VACUUM, purge) and report what remains: heap
    pages and dead versions; undo records (history length) and undo bytes.
    """
    _count("rows", rows, 1, 100_000)
    _count("rounds", rounds, 1, 100)
    _count("updates", updates, 1, 100_000)
    trips_schema(indexes)
    rng = random.Random(3)
    heap = make_engine("heap_hot", trips_schema(indexes))
    clustered = make_engine("clustered", trips_schema(indexes))
    for engine in (heap, clustered):
        _load(engine, rows, random.Random(2))
    readers = [heap.begin(), clustered.begin()]
    out = []
    for step in range(rounds + 1):
        if step == rounds:
            for reader in readers:
                reader.commit()
        else:
            keys = [rng.randrange(rows) for _ in range(updates)]
            for engine in (heap, clustered):
                for i, key in enumerate(keys):
                    tx = engine.begin()
                    tx.update(key, {"counter": step * updates + i})
                    tx.commit()
        heap.vacuum()
        clustered.purge()
        hs, cs = heap.stats(), clustered.stats()
        out.append({
            "round": step + 1,
            "reader_open": step < rounds,
            "heap_pages": hs["pages"],
            "heap_dead_versions": hs["dead_versions"],
            "heap_free_bytes": hs["free_bytes"],
            "heap_versions": hs["versions"],
            "undo_records": cs["history_length"],
            "undo_bytes": cs["undo_bytes"],
        })  # fmt: skip
    return out


def secondary_reads(*, rows: int = 5000, lookups: int = 200) -> list[dict[str, Any]]:
    """Pages read per row found through a secondary index (and, for contrast, by key)."""
    _count("rows", rows, 1, 1_000_000)
    _count("lookups", lookups, 1, 100_000)
    out = []
    for name in ("heap_hot", "clustered"):
        engine = make_engine(name, trips_schema(1))
        rng = random.Random(5)
        _load(engine, rows, rng)
        before = engine.counters.copy()
        found = 0
        for _ in range(lookups):
            value = rng.randrange(1000)
            tx = engine.begin()
            found += len(tx.scan("k0", value, value + 1))
            tx.commit()
        by_index = (engine.counters - before).pages_read
        before = engine.counters.copy()
        for _ in range(lookups):
            tx = engine.begin()
            tx.get(rng.randrange(rows))
            tx.commit()
        by_key = (engine.counters - before).pages_read
        out.append({
            "engine": name,
            "rows_found": found,
            "pages_per_row_via_secondary": by_index / max(1, found),
            "pages_per_key_lookup": by_key / lookups,
        })  # fmt: skip
    return out


#: PostgreSQL statements for :func:`run_workload`'s workloads (``{n}`` secondary indexes).
SQL = {
    "create": "CREATE TABLE trips (id bigint PRIMARY KEY, counter bigint, note text{cols})",
    "index": "CREATE INDEX trips_k{i} ON trips (k{i})",
    "insert": "INSERT INTO trips VALUES (%s, 0, %s{params})",
    "update-unindexed": "UPDATE trips SET counter = %s WHERE id = %s",
    "update-indexed": "UPDATE trips SET k0 = %s WHERE id = %s",
    "read-secondary": "SELECT * FROM trips WHERE k0 = %s",
}
