"""Messaging: seq assignment and dedup per store, gateway fan-out on loopback, the GC lab.

Run the figures: ``pytest benchmarks/bench_messaging.py --benchmark-only`` (``dpref bench
messaging`` prints the same as tables, with fan-out p50/p99 and memory per connection); CI
runs it once with ``--benchmark-disable`` (quick mode).
"""

from __future__ import annotations

import tempfile
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.messaging import MemoryStore, RedisStore, SQLiteStore
from designpatterns_ref.messaging._bench import fanout
from designpatterns_ref.messaging.gclab import measure


def _appends(store: Any, n: int) -> None:
    for i in range(n):
        store.append("c", "ann", f"m{i - 3 if i % 5 == 4 else i}", "x" * 100)


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_append_with_retries(benchmark: BenchmarkFixture, quick: bool, kind: str,
                             request: pytest.FixtureRequest) -> None:  # fmt: skip
    n = 100 if quick else 1000
    counter = iter(range(10**9))

    def make() -> tuple[tuple[Any, int], dict[str, Any]]:
        if kind == "memory":
            store: Any = MemoryStore()
        elif kind == "sqlite":
            store = SQLiteStore(tempfile.mkdtemp() + "/chat.db")
        else:
            store = RedisStore(request.getfixturevalue("redis_srv").url, prefix=f"b{next(counter)}")
        return (store, n), {}

    benchmark.pedantic(_appends, setup=make, rounds=3 if quick else 5)
    benchmark.extra_info["appends_per_round"] = n


def test_fanout_to_members(benchmark: BenchmarkFixture, quick: bool) -> None:
    members = 50 if quick else 1000
    result = benchmark.pedantic(lambda: fanout(members, rounds=3), rounds=1)
    assert result["delivered"] == result["expected"]
    benchmark.extra_info.update(result)


@pytest.mark.parametrize("layout", ["naive", "gc_aware"])
def test_gc_layout_acks(benchmark: BenchmarkFixture, quick: bool, layout: str) -> None:
    entries = 5_000 if quick else 200_000
    run = benchmark.pedantic(lambda: measure(layout, entries=entries, ops=entries), rounds=1)
    benchmark.extra_info.update(p50_us=run.p(50), p99_us=run.p(99), p999_us=run.p(99.9),
                                full_collections=run.full_collections)  # fmt: skip
