"""geo benchmarks: geohash codecs beside pygeohash / python-geohash / h3, the driver indexes
(geohash and H3 side by side), index builds beside an h3 dictionary of cells, surge per cell.

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
    H3Index,
    HexSurgePricer,
    QuadTreeIndex,
    RedisGeoIndex,
    SurgePricer,
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


INDEXES: dict[str, Callable[[], Any]] = {
    "geohash": lambda: GeohashIndex(ttl=None),
    "h3": lambda: H3Index(ttl=None),
    "quadtree": lambda: QuadTreeIndex(ttl=None),
}


@pytest.mark.parametrize("kind", list(INDEXES))
def test_nearest(
    benchmark: BenchmarkFixture,
    kind: str,
    fleet: tuple[list[tuple[float, float]], list[tuple[float, float]]],
) -> None:
    drivers, asks = fleet
    index = INDEXES[kind]()
    oracle = BruteForceIndex(ttl=None)
    for i, (lat, lon) in enumerate(drivers):
        index.upsert(f"d{i}", lat, lon)
        oracle.upsert(f"d{i}", lat, lon)
    for lat, lon in asks[:20]:
        assert index.nearest(lat, lon, 10) == oracle.nearest(lat, lon, 10)
    benchmark(each(lambda q: index.nearest(q[0], q[1], 10), asks))


@pytest.mark.parametrize("kind", ["geohash", "h3", "quadtree", "brute"])
def test_updates(
    benchmark: BenchmarkFixture,
    kind: str,
    fleet: tuple[list[tuple[float, float]], list[tuple[float, float]]],
) -> None:
    drivers, _ = fleet
    index = {
        "geohash": lambda: GeohashIndex(clock=ManualClock()),
        "h3": lambda: H3Index(clock=ManualClock()),
        "quadtree": lambda: QuadTreeIndex(clock=ManualClock()),
        "brute": lambda: BruteForceIndex(clock=ManualClock()),
    }[kind]()
    moves = [(f"d{i % len(drivers)}", lat + 1e-4, lon) for i, (lat, lon) in enumerate(drivers)]
    benchmark(each(lambda m: index.upsert(m[0], m[1], m[2]), moves))
    assert len(index) == len(drivers)


@pytest.mark.parametrize(
    "kind",
    [
        "h3_dict_peer",
        "h3_dict_res10",
        "h3_dict_positions",
        "geohash_upserts",
        "geohash_bulk",
        "h3_bulk",
    ],
)
def test_build(
    benchmark: BenchmarkFixture,
    kind: str,
    fleet: tuple[list[tuple[float, float]], list[tuple[float, float]]],
) -> None:
    drivers, asks = fleet
    rows = [(f"d{i}", lat, lon) for i, (lat, lon) in enumerate(drivers)]
    h3: Any = __import__("h3.api.basic_int", fromlist=["latlng_to_cell"])

    def h3_dict(res: int = 9) -> dict[int, list[str]]:  # the peer: ids by cell, no positions
        cells: dict[int, list[str]] = {}
        for driver_id, lat, lon in rows:
            cells.setdefault(h3.latlng_to_cell(lat, lon, res), []).append(driver_id)
        return cells

    def h3_dict_positions() -> dict[str, tuple[float, float, int]]:  # context: the peer + where
        cells: dict[int, list[str]] = {}
        where: dict[str, tuple[float, float, int]] = {}
        for driver_id, lat, lon in rows:
            cell = h3.latlng_to_cell(lat, lon, 9)
            where[driver_id] = (lat, lon, cell)
            cells.setdefault(cell, []).append(driver_id)
        return where

    def upserts() -> GeohashIndex:
        index = GeohashIndex()
        for driver_id, lat, lon in rows:
            index.upsert(driver_id, lat, lon)
        return index

    build: Callable[[], Any] = {
        "h3_dict_peer": h3_dict,
        "h3_dict_res10": lambda: h3_dict(10),  # cells of geohash precision 7's size
        "h3_dict_positions": h3_dict_positions,
        "geohash_upserts": upserts,
        "geohash_bulk": lambda: GeohashIndex.from_drivers(rows),
        "h3_bulk": lambda: H3Index.from_drivers(rows),
    }[kind]
    built = benchmark(build)
    if not kind.startswith("h3_dict"):
        for lat, lon in asks[:10]:
            assert built.nearest(lat, lon, 5) == upserts().nearest(lat, lon, 5)


@pytest.mark.parametrize("grid", ["h3", "geohash"])
def test_surge_period(
    benchmark: BenchmarkFixture,
    grid: str,
    fleet: tuple[list[tuple[float, float]], list[tuple[float, float]]],
) -> None:
    drivers, asks = fleet
    clock = ManualClock()
    if grid == "h3":
        hexes = HexSurgePricer(8, clock=clock)
        benchmark(lambda: hexes.observe(asks, drivers))
        return
    plain = SurgePricer(clock=clock)

    def period() -> None:
        demand: dict[str, int] = {}
        supply: dict[str, int] = {}
        for lat, lon in asks:
            cell = encode(lat, lon, 6)
            demand[cell] = demand.get(cell, 0) + 1
        for lat, lon in drivers:
            cell = encode(lat, lon, 6)
            supply[cell] = supply.get(cell, 0) + 1
        for cell in sorted(demand.keys() | supply.keys()):
            plain.update(cell, demand=demand.get(cell, 0), supply=supply.get(cell, 0))

    benchmark(period)


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
    """Every step of ``dpref bench geo --quick`` runs and fills its tables; every index but
    the oracle answers every checked query as brute force does."""
    for _, step in bench_steps(True):
        tables = step()
        assert tables and all(table.rows for table in tables)
        for table in tables:
            if "equal to brute force" in table.columns:
                column = table.columns.index("equal to brute force")
                for row in table.rows:
                    if row[0].startswith("BruteForceIndex"):
                        assert row[column] == "oracle"
                    else:
                        done, asked = row[column].split("/")
                        assert done == asked, row
