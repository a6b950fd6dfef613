"""capacity benchmarks: bed events appended and projected per second on SQLite and a real
PostgreSQL, and the time to rebuild the projection from a log of 1M events.

Run ``pytest benchmarks/bench_capacity.py --benchmark-only`` for figures, or
``--benchmark-disable`` for the quick pass CI makes. ``dpref bench capacity`` prints the table.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.capacity import (
    CapacityProjection,
    EventLog,
    PostgresEventLog,
    SQLiteEventLog,
)
from designpatterns_ref.capacity._bench import append_rate, rebuild_seconds, topology, workload

_names = itertools.count()
TOPO = topology()


def _log(engine: str, request: pytest.FixtureRequest) -> EventLog:
    if engine == "sqlite":
        return SQLiteEventLog(os.path.join(tempfile.mkdtemp(prefix="dpref-bench-"), "beds.db"))
    srv = request.getfixturevalue("pg_srv")
    return PostgresEventLog(srv.create_database(f"bench_capacity_{next(_names)}"))


@pytest.mark.parametrize("batch", [1, 100])
@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_append_and_project(
    benchmark: BenchmarkFixture, engine: str, batch: int, quick: bool,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    n = (500 if quick else 5_000) * (1 if batch == 1 else 10)
    events = workload(TOPO, n)

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (_log(engine, request), TOPO, events, batch), {}

    rate = benchmark.pedantic(append_rate, setup=setup, rounds=1 if quick else 3)
    assert rate > 0
    benchmark.extra_info["events_per_s"] = round(rate)


def test_rebuild_in_memory(benchmark: BenchmarkFixture, quick: bool) -> None:
    n = 10_000 if quick else 1_000_000
    big = workload(TOPO, n, seed=12)
    flat = sorted((e for v in big.values() for e in v), key=lambda e: e.at)
    p = benchmark.pedantic(CapacityProjection.rebuild, args=(TOPO, flat),
                           rounds=1 if quick else 3)  # fmt: skip
    assert len(p.seen) == n
    benchmark.extra_info["events"] = n


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_rebuild_from_the_log(
    benchmark: BenchmarkFixture, engine: str, quick: bool, request: pytest.FixtureRequest
) -> None:
    n = 10_000 if quick else 1_000_000
    log = _log(engine, request)
    for home, stream in workload(TOPO, n, seed=12).items():
        for i in range(0, len(stream), 5_000):
            log.append(home, stream[i : i + 5_000])
    assert len(log) == n
    seconds = benchmark.pedantic(rebuild_seconds, args=(log, TOPO), rounds=1 if quick else 3)
    benchmark.extra_info["events"] = n
    benchmark.extra_info["events_per_s"] = round(n / seconds)
    log.close()
