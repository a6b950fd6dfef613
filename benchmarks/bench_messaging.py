"""Messaging: seq assignment and dedup per store, a gateway process at scale, Slack's shape, GC.

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
from designpatterns_ref.messaging.gclab import measure
from designpatterns_ref.messaging.loadgen import measure_cluster, measure_scale


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


@pytest.mark.parametrize("server", ["gateway", "naive"])
def test_gateway_scale_and_fanout(benchmark: BenchmarkFixture, quick: bool, server: str) -> None:
    """One server process (the gateway, or the naive peer): idle sockets, bytes per
    connection, fan-out to 1,000 members."""
    n, members = (100, 50) if quick else (10_000, 1000)
    result = benchmark.pedantic(
        lambda: measure_scale(n, members, rounds=3, pairs=100, server=server), rounds=1
    )
    assert result["delivered"] == result["expected"]
    result.pop("latencies_ms")  # the percentiles stay; 10,000 samples do not go in the JSON
    benchmark.extra_info.update(result)


def test_cluster_fanout(benchmark: BenchmarkFixture, quick: bool, redis_srv: Any) -> None:
    """Two gateway and two channel-server processes sharing Redis."""
    members = 20 if quick else 1000
    result = benchmark.pedantic(lambda: measure_cluster(redis_srv.url, members, rounds=3),
                                rounds=1)  # fmt: skip
    assert result["delivered"] == result["expected"]
    benchmark.extra_info.update(result)


@pytest.mark.parametrize("layout", ["naive", "gc_aware"])
def test_gc_layout_acks(benchmark: BenchmarkFixture, quick: bool, layout: str) -> None:
    entries = 5_000 if quick else 200_000
    run = benchmark.pedantic(lambda: measure(layout, entries=entries, ops=entries), rounds=1)
    benchmark.extra_info.update(p50_us=run.p(50), p99_us=run.p(99), p999_us=run.p(99.9),
                                full_collections=run.full_collections)  # fmt: skip


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_read_state_write_back(benchmark: BenchmarkFixture, quick: bool, kind: str,
                               request: pytest.FixtureRequest) -> None:  # fmt: skip
    from designpatterns_ref.messaging._bench import _acks_us
    from designpatterns_ref.messaging.readstore import RedisReadStore, SQLiteReadStore

    n = 500 if quick else 20_000
    counter = iter(range(10**9))

    def make() -> tuple[tuple[Any, int], dict[str, Any]]:
        if kind == "sqlite":
            return (SQLiteReadStore(tempfile.mkdtemp() + "/rs.db"), n), {}
        url = request.getfixturevalue("redis_srv").url
        return (RedisReadStore(url, prefix=f"rs{next(counter)}"), n), {}

    benchmark.pedantic(_acks_us, setup=make, rounds=3)
    benchmark.extra_info["acks_per_round"] = n
