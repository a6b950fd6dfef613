"""Storage engines: operations per second and bytes per operation, and a real PostgreSQL beside.

Workloads on a ``trips`` table with 3 secondary indexes (``storage.workload.run_workload``):
insert-heavy, update of an unindexed column, update of an indexed column, read through a
secondary index; on the heap engine without and with HOT and on the clustered engine. The
timed call builds a fresh engine, loads it and runs the operations; ``extra_info`` keeps the
operations' own rate (``ops_per_s_without_load``, what ``dpref bench storage`` reports). Each
benchmark records, in ``extra_info``, the engine's per-operation WAL bytes, pages written,
index entries and replica bytes; the PostgreSQL benchmark records the server's WAL bytes per
operation beside the heap engine's count of the same workload.

Run the figures: ``pytest benchmarks/bench_storage.py --benchmark-only`` (``dpref bench
storage`` prints the same as tables); CI runs it once with ``--benchmark-disable`` (quick mode).
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.storage.postgres import measure
from designpatterns_ref.storage.workload import WORKLOADS, make_engine, run_workload, trips_schema

INDEXES = 3


@pytest.fixture(scope="module")
def sizes(quick: bool) -> tuple[int, int]:
    return (200, 200) if quick else (2000, 2000)


@pytest.mark.parametrize("engine", ["heap", "heap_hot", "clustered"])
@pytest.mark.parametrize("workload", WORKLOADS)
def test_workload(
    benchmark: BenchmarkFixture, sizes: tuple[int, int], engine: str, workload: str
) -> None:
    rows, ops = sizes

    def run() -> tuple[object, int, float]:
        return run_workload(
            make_engine(engine, trips_schema(INDEXES)), workload, rows=rows, ops=ops
        )

    delta, done, seconds = benchmark.pedantic(run, rounds=3, iterations=1)
    counts = delta.as_dict()  # type: ignore[attr-defined]
    benchmark.extra_info["ops_per_s_without_load"] = done / seconds
    benchmark.extra_info.update({k: counts[k] / done for k in (
        "wal_bytes", "pages_written", "pages_read", "index_entries_written", "undo_bytes",
        "physical_replica_bytes", "logical_replica_bytes")})  # fmt: skip
    if workload == "update-unindexed":
        assert counts["index_entries_written"] / done == {"heap": INDEXES + 1, "heap_hot": 0,
                                                          "clustered": 1}[engine]  # fmt: skip


@pytest.mark.parametrize("workload", WORKLOADS)
def test_real_postgres_wal(
    benchmark: BenchmarkFixture, pg_url: str, sizes: tuple[int, int], workload: str
) -> None:
    rows, ops = sizes
    real = benchmark.pedantic(
        lambda: measure(pg_url, workload, indexes=INDEXES, rows=rows, ops=ops),
        rounds=1,
        iterations=1,
    )
    engine = make_engine(
        "heap_hot", trips_schema(INDEXES), full_page_writes=bool(real["full_page_writes"])
    )
    delta, done, _ = run_workload(engine, workload, rows=rows, ops=ops)
    benchmark.extra_info.update({
        "postgres_wal_bytes_per_op": real["wal_bytes"] / ops,
        "heap_engine_wal_bytes_per_op": delta.wal_bytes / done,
        "postgres_hot_updates": real["hot_updates"],
    })  # fmt: skip
