"""``dpref bench geo``: geohash codecs beside their peers, and the driver indexes on a city.

The city: drivers spread uniformly over a 30 x 30 km square around Manhattan (seeded), riders
asking for the 10 nearest from points in the same square, and drivers moving a few tens of metres
per update. Full mode is the reference workload (100,000 drivers, 10,000 queries, 1,000,000
updates; brute force and Redis on fewer, as noted in each table); quick mode shrinks everything
so the whole run takes seconds. Peers (``pygeohash``, ``python-geohash``, ``h3``) are measured
when installed; the Redis rows need a ``redis-server`` binary and are skipped without one.
"""

from __future__ import annotations

import importlib
import math
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from designpatterns_ref.benchkit import Table, installed, percentile, time_per_item
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import geohash as gh
from designpatterns_ref.geo.base import DriverIndex
from designpatterns_ref.geo.brute import BruteForceIndex
from designpatterns_ref.geo.geohash_index import GeohashIndex
from designpatterns_ref.geo.quadtree import QuadTreeIndex

__all__ = ["bench_codecs", "bench_nearest", "bench_steps", "bench_updates", "city"]

SEED = 20240606
CENTRE = (40.7580, -73.9855)
SIDE_M = 30_000.0


def city(n: int, seed: int = SEED) -> list[tuple[float, float]]:
    """``n`` points uniform over the 30 x 30 km square around the centre."""
    rng = random.Random(seed)
    half_lat = SIDE_M / 2 / 111_195.0
    half_lon = half_lat / math.cos(math.radians(CENTRE[0]))
    return [
        (CENTRE[0] + rng.uniform(-half_lat, half_lat), CENTRE[1] + rng.uniform(-half_lon, half_lon))
        for _ in range(n)
    ]


def bench_codecs(quick: bool) -> list[Table]:
    """Encode, decode and neighbours per call, beside pygeohash, python-geohash and h3."""
    count, repeat = (1_000, 3) if quick else (20_000, 7)
    rng = random.Random(SEED)
    pts = [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(count)]
    codes = [gh.encode(a, b, 12) for a, b in pts]
    codes7 = [c[:7] for c in codes]
    table = Table(
        f"geohash: µs per call, median of {repeat} passes over {count:,} random points",
        ["library", "encode µs", "decode µs", "neighbours µs", "note"],
    )
    table.add(
        "designpatterns_ref (pure Python)",
        time_per_item(lambda p: gh.encode(p[0], p[1], 12), pts, repeat) * 1e6,
        time_per_item(gh.decode, codes, repeat) * 1e6,
        time_per_item(gh.neighbors, codes7, repeat) * 1e6,
        "targets 2 / 2 / 5; neighbours: all 8 cells in one call",
    )
    if installed("pygeohash"):
        pg: Any = importlib.import_module("pygeohash")

        def pg_neighbours(code: str) -> list[str]:  # the same 8 cells, from its get_adjacent
            north, south = pg.get_adjacent(code, "top"), pg.get_adjacent(code, "bottom")
            return [
                north,
                pg.get_adjacent(north, "right"),
                pg.get_adjacent(code, "right"),
                pg.get_adjacent(south, "right"),
                south,
                pg.get_adjacent(south, "left"),
                pg.get_adjacent(code, "left"),
                pg.get_adjacent(north, "left"),
            ]

        table.add(
            "pygeohash",
            time_per_item(lambda p: pg.encode(p[0], p[1], 12), pts, repeat) * 1e6,
            time_per_item(pg.decode, codes, repeat) * 1e6,
            time_per_item(pg_neighbours, codes7, repeat) * 1e6,
            "neighbours: all 8 cells, 8 get_adjacent calls",
        )
    if installed("geohash"):
        pyg: Any = importlib.import_module("geohash")
        table.add(
            "python-geohash (C)",
            time_per_item(lambda p: pyg.encode(p[0], p[1], 12), pts, repeat) * 1e6,
            time_per_item(pyg.decode, codes, repeat) * 1e6,
            time_per_item(pyg.neighbors, codes7, repeat) * 1e6,
            "",
        )
    if installed("h3"):
        h3: Any = importlib.import_module("h3")
        cells = [h3.latlng_to_cell(a, b, 9) for a, b in pts]
        table.add(
            "h3 (C), resolution 9",
            time_per_item(lambda p: h3.latlng_to_cell(p[0], p[1], 9), pts, repeat) * 1e6,
            time_per_item(h3.cell_to_latlng, cells, repeat) * 1e6,
            time_per_item(lambda c: h3.grid_disk(c, 1), cells, repeat) * 1e6,
            "neighbours: grid_disk(1), 7 cells",
        )
    return [table]


def _redis() -> tuple[Any, Any] | None:
    """A throwaway redis-server and a client, or None when the binary or redis-py is missing."""
    if not installed("redis"):
        return None
    import redis

    from designpatterns_ref.testing import ServerUnavailable, redis_server

    context = redis_server()
    try:
        server = context.__enter__()
    except ServerUnavailable:
        return None
    return context, redis.Redis.from_url(server.url)


def _indexes(quick: bool, redis_client: Any) -> list[tuple[str, Callable[[], DriverIndex], int]]:
    """(name, factory, how many of the queries/updates it runs: brute force and Redis run fewer)."""
    out: list[tuple[str, Callable[[], DriverIndex], int]] = [
        ("GeohashIndex (precision 7)", lambda: GeohashIndex(7, ttl=None), 0),
        ("QuadTreeIndex (capacity 16)", lambda: QuadTreeIndex(16, ttl=None), 0),
        ("BruteForceIndex", lambda: BruteForceIndex(ttl=None), 20 if quick else 100),
    ]
    if redis_client is not None:
        from designpatterns_ref.geo.redis import RedisGeoIndex

        def make() -> DriverIndex:
            index = RedisGeoIndex(redis_client, key="bench", ttl=None)
            index.clear()
            return index

        out.append(("RedisGeoIndex (GEOSEARCH, re-ranked)", make, 200 if quick else 2_000))
    return out


def bench_nearest(quick: bool) -> list[Table]:
    """k=10 nearest over a city of drivers: p50 and p99 per query, and exactness."""
    drivers, queries = (5_000, 300) if quick else (100_000, 10_000)
    positions = city(drivers)
    asks = city(queries, SEED + 1)
    oracle = BruteForceIndex(ttl=None, clock=ManualClock())
    for i, (lat, lon) in enumerate(positions):
        oracle.upsert(f"driver{i}", lat, lon)
    checked = asks[: 50 if quick else 200]
    truth = [oracle.nearest(a, b, 10) for a, b in checked]
    server = _redis()
    table = Table(
        f"nearest(k=10) over {drivers:,} drivers in a 30 x 30 km city",
        ["index", "queries", "p50 µs", "p99 µs", "equal to brute force"],
    )
    try:
        for name, make, limit in _indexes(quick, None if server is None else server[1]):
            index = make()
            if isinstance(index, BruteForceIndex):
                index = oracle
            else:
                for i, (lat, lon) in enumerate(positions):
                    index.upsert(f"driver{i}", lat, lon)
            run = asks[:limit] if limit else asks
            samples = []
            for lat, lon in run:
                start = time.perf_counter()
                index.nearest(lat, lon, 10)
                samples.append(time.perf_counter() - start)
            same = sum(
                index.nearest(a, b, 10) == t for (a, b), t in zip(checked, truth, strict=True)
            )
            table.add(
                name,
                len(run),
                percentile(samples, 50) * 1e6,
                percentile(samples, 99) * 1e6,
                f"{same}/{len(checked)}",
            )
    finally:
        if server is not None:
            server[0].__exit__(None, None, None)
    table.note = "target for GeohashIndex: p50 <= 100 µs, p99 <= 300 µs, every answer exact"
    return [table]


def bench_updates(quick: bool) -> list[Table]:
    """Location updates per second: every driver moves a few tens of metres, again and again."""
    drivers, updates = (5_000, 50_000) if quick else (100_000, 1_000_000)
    positions = city(drivers)
    rng = random.Random(SEED + 2)
    moves = []
    for _ in range(updates):
        i = rng.randrange(drivers)
        lat, lon = positions[i]
        moves.append((f"driver{i}", lat + rng.uniform(-3e-4, 3e-4), lon + rng.uniform(-3e-4, 3e-4)))
    server = _redis()
    table = Table(
        f"location updates over {drivers:,} drivers",
        ["index", "updates", "median per second", "best slice per second"],
    )
    try:
        for name, make, limit in _indexes(quick, None if server is None else server[1]):
            index = make()
            for i, (lat, lon) in enumerate(positions):
                index.upsert(f"driver{i}", lat, lon)
            run = moves[: 20 * limit] if limit and "Redis" in name else moves
            upsert = index.upsert
            rates = []
            chunk = max(1, len(run) // 5)
            for part in range(0, len(run), chunk):  # the median over five slices of the run
                moves_part = run[part : part + chunk]
                start = time.perf_counter()
                for driver_id, lat, lon in moves_part:
                    upsert(driver_id, lat, lon, at=0.0)
                rates.append(len(moves_part) / (time.perf_counter() - start))
            table.add(name, len(run), statistics.median(rates), max(rates))
    finally:
        if server is not None:
            server[0].__exit__(None, None, None)
    table.note = "target for GeohashIndex: at least 300,000 updates per second"
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench geo`` runs, each returning its tables."""
    return [
        ("geohash codecs", lambda: bench_codecs(quick)),
        ("nearest drivers", lambda: bench_nearest(quick)),
        ("location updates", lambda: bench_updates(quick)),
    ]
