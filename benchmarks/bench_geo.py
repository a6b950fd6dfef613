"""geo benchmarks: geohash codecs beside pygeohash / python-geohash / h3, and the driver indexes.

Run ``pytest benchmarks/bench_geo.py --benchmark-only`` for figures, or ``--benchmark-disable``
for the quick correctness pass CI makes (small workloads, every answer checked against brute
force). The summary tables of ``dpref bench geo`` come from ``designpatterns_ref.geo._bench``.
"""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Callable
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import (
    BruteForceIndex,
    GeohashIndex,
    QuadTreeIndex,
    RedisGeoIndex,
    decode,
    encode,
    neighbors,
)
from designpatterns_ref.geo._bench import bench_steps, city

N = 1_000
rng = random.Random(7)
POINTS = [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(N)]
CODES = [encode(a, b, 12) for a, b in POINTS]


def each(fn: Callable[[Any], object], inputs: list[Any]) -> Callable[[], None]:
    def run() -> None:
        for x in inputs:
            fn(x)

    return run


@pytest.mark.parametrize("op", ["encode", "decode", "neighbors"])
def test_geohash_ours(benchmark: BenchmarkFixture, op: str) -> None:
    fn = {
        "encode": each(lambda p: encode(p[0], p[1], 12), POINTS),
        "decode": each(decode, CODES),
        "neighbors": each(lambda c: neighbors(c[:7]), CODES),
    }[op]
    benchmark(fn)


@pytest.mark.parametrize("peer", ["pygeohash", "geohash", "h3"])
def test_geohash_peers(benchmark: BenchmarkFixture, peer: str) -> None:
    if importlib.util.find_spec(peer) is None:
        pytest.skip(f"{peer} is not installed")
    module: Any = __import__(peer)
    if peer == "h3":
        benchmark(each(lambda p: module.latlng_to_cell(p[0], p[1], 9), POINTS))
    else:
        benchmark(each(lambda p: module.encode(p[0], p[1], 12), POINTS))


@pytest.fixture(scope="module")
def fleet(quick: bool) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    return city(3_000 if quick else 100_000), city(200 if quick else 2_000, seed=99)


@pytest.mark.parametrize("kind", ["geohash", "quadtree"])
def test_nearest(
    benchmark: BenchmarkFixture,
    kind: str,
    fleet: tuple[list[tuple[float, float]], list[tuple[float, float]]],
) -> None:
    drivers, asks = fleet
    index = GeohashIndex(ttl=None) if kind == "geohash" else QuadTreeIndex(ttl=None)
    oracle = BruteForceIndex(ttl=None)
    for i, (lat, lon) in enumerate(drivers):
        index.upsert(f"d{i}", lat, lon)
        oracle.upsert(f"d{i}", lat, lon)
    for lat, lon in asks[:20]:
        assert index.nearest(lat, lon, 10) == oracle.nearest(lat, lon, 10)
    benchmark(each(lambda q: index.nearest(q[0], q[1], 10), asks))


@pytest.mark.parametrize("kind", ["geohash", "quadtree", "brute"])
def test_updates(
    benchmark: BenchmarkFixture,
    kind: str,
    fleet: tuple[list[tuple[float, float]], list[tuple[float, float]]],
) -> None:
    drivers, _ = fleet
    index = {
        "geohash": lambda: GeohashIndex(clock=ManualClock()),
        "quadtree": lambda: QuadTreeIndex(clock=ManualClock()),
        "brute": lambda: BruteForceIndex(clock=ManualClock()),
    }[kind]()
    moves = [(f"d{i % len(drivers)}", lat + 1e-4, lon) for i, (lat, lon) in enumerate(drivers)]
    benchmark(each(lambda m: index.upsert(m[0], m[1], m[2]), moves))
    assert len(index) == len(drivers)


def test_redis_nearest(
    benchmark: BenchmarkFixture,
    redis_srv: Any,
    fleet: tuple[list[tuple[float, float]], list[tuple[float, float]]],
) -> None:
    import redis

    drivers, asks = fleet
    index = RedisGeoIndex(redis.Redis.from_url(redis_srv.url), key="bench", ttl=None)
    index.clear()
    oracle = BruteForceIndex(ttl=None)
    for i, (lat, lon) in enumerate(drivers[:3_000]):
        index.upsert(f"d{i}", lat, lon)
        oracle.upsert(f"d{i}", lat, lon)
    for lat, lon in asks[:10]:
        assert index.nearest(lat, lon, 10) == oracle.nearest(lat, lon, 10)
    benchmark(each(lambda q: index.nearest(q[0], q[1], 10), asks[:100]))
    index.clear()


def test_bench_steps_quick() -> None:
    for _, step in bench_steps(True)[:1]:
        tables = step()
        assert tables and tables[0].rows
