"""booking benchmarks: bookings per second per strategy under low and high contention, on SQLite
and on a real PostgreSQL.

Run ``pytest benchmarks/bench_booking.py --benchmark-only`` for figures, or
``--benchmark-disable`` for the quick pass CI makes. ``dpref bench booking`` prints the table.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.booking import PostgresStore, SQLiteStore
from designpatterns_ref.booking._bench import FIRST, STRATEGIES, run

_names = itertools.count()


def _store(engine: str, request: pytest.FixtureRequest) -> Any:
    if engine == "sqlite":
        return SQLiteStore(os.path.join(tempfile.mkdtemp(prefix="dpref-bench-"), "h.db"))
    srv = request.getfixturevalue("pg_srv")
    return PostgresStore(srv.create_database(f"bench_booking_{next(_names)}"))


@pytest.mark.parametrize("contention", ["low", "high"])
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_bookings(
    benchmark: BenchmarkFixture,
    engine: str,
    strategy: str,
    contention: str,
    quick: bool,
    request: pytest.FixtureRequest,
) -> None:
    threads, per_thread = 8, (5 if quick else 100)
    hotels = threads if contention == "low" else 1

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        store = _store(engine, request)
        for h in range(hotels):
            store.add_inventory(f"h{h}", "double", FIRST, 30, total=threads * per_thread // hotels)
        return (STRATEGIES[strategy](store), threads, per_thread, hotels), {}

    rate, attempts, refused = benchmark.pedantic(run, setup=setup, rounds=1 if quick else 3)
    assert refused == 0  # inventory sized so nothing sells out: this measures contention only
    assert attempts >= 1
    benchmark.extra_info["bookings_per_s"] = round(rate)
