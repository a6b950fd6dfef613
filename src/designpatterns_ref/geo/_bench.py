"""``dpref bench geo``: geohash codecs beside their peers, and the driver indexes on a city.

The city: drivers spread uniformly over a 30 x 30 km square around Manhattan (seeded), riders
asking for the 10 nearest from points in the same square, and drivers moving a few tens of metres
per update. Full mode is the reference workload (100,000 drivers, 10,000 queries, 1,000,000
updates; brute force and Redis on fewer, as noted in each table); quick mode shrinks everything
so the whole run takes seconds. Peers (``pygeohash``, ``python-geohash``, ``h3``) are measured
when installed (``h3`` always is: the ``geo`` extra needs it for :class:`H3Index`); the Redis rows
need a ``redis-server`` binary and are skipped without one.
"""

from __future__ import annotations

import gc
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
from designpatterns_ref.geo.h3_index import H3Index
from designpatterns_ref.geo.quadtree import QuadTreeIndex

__all__ = [
    "bench_build",
    "bench_codecs",
    "bench_nearest",
    "bench_steps",
    "bench_surge",
    "bench_updates",
    "city",
]

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
    gh.neighbors(codes7[0])  # the first call builds its lookup tables: not what is timed
    ours = (
        time_per_item(lambda p: gh.encode(p[0], p[1], 12), pts, repeat),
        time_per_item(gh.decode, codes, repeat),
        time_per_item(gh.neighbors, codes7, repeat),
    )
    table.add(
        "designpatterns_ref (pure Python)",
        *(t * 1e6 for t in ours),
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
        c_times = (
            time_per_item(lambda p: pyg.encode(p[0], p[1], 12), pts, repeat),
            time_per_item(pyg.decode, codes, repeat),
            time_per_item(pyg.neighbors, codes7, repeat),
        )
        speed = [c / o for c, o in zip(c_times, ours, strict=True)]
        table.add(
            "python-geohash (C)",
            *(t * 1e6 for t in c_times),
            "ours runs at {:.2f} / {:.2f} / {:.2f} of its speed".format(*speed),
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
        ("H3Index (resolution 9)", lambda: H3Index(9, ttl=None), 0),
        ("H3Index (resolution 10)", lambda: H3Index(10, ttl=None), 50 if quick else 0),
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
            is_oracle = isinstance(index, BruteForceIndex)
            if is_oracle:
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
            equal = "oracle" if is_oracle else f"{same}/{len(checked)}"
            table.add(
                name,
                len(run),
                percentile(samples, 50) * 1e6,
                percentile(samples, 99) * 1e6,
                equal,
            )
    finally:
        if server is not None:
            server[0].__exit__(None, None, None)
    table.note = (
        "target for GeohashIndex: p50 <= 100 µs, p99 <= 300 µs, every answer exact; the "
        "brute-force index is the oracle the others are checked against"
    )
    return [table]


def bench_updates(quick: bool) -> list[Table]:
    """Location updates per second: every driver moves a few tens of metres, again and again."""
    drivers, updates = (5_000, 20_000) if quick else (100_000, 1_000_000)
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


def bench_build(quick: bool) -> list[Table]:
    """Building an index of a whole fleet: one upsert per driver, a bulk load, and the peer, a
    plain dictionary of H3 cells, in interleaved passes of one run.

    Two more dictionaries put the peer in context, without replacing it as the yardstick: the
    same at H3 resolution 10, whose cells are the size of geohash precision 7's (so the cell
    count matches the geohash index's), and one that also keeps each driver's position and
    cell, the least any index that can move or remove a driver must store."""
    drivers, repeat = (10_000, 3) if quick else (100_000, 7)
    rows = [(f"driver{i}", lat, lon) for i, (lat, lon) in enumerate(city(drivers))]
    h3 = H3Index(9, ttl=None)._h3

    def h3_dict(resolution: int = 9) -> dict[int, list[str]]:
        cells: dict[int, list[str]] = {}  # the peer: ids by cell; no positions, checks, TTL
        to_cell = h3.latlng_to_cell
        for driver_id, lat, lon in rows:
            cell = to_cell(lat, lon, resolution)
            group = cells.get(cell)
            if group is None:
                cells[cell] = [driver_id]
            else:
                group.append(driver_id)
        return cells

    def h3_dict_and_positions() -> tuple[dict[int, list[str]], dict[str, tuple[float, ...]]]:
        cells: dict[int, list[str]] = {}
        where: dict[str, tuple[float, ...]] = {}
        to_cell = h3.latlng_to_cell
        for driver_id, lat, lon in rows:
            cell = to_cell(lat, lon, 9)
            where[driver_id] = (lat, lon, cell)
            group = cells.get(cell)
            if group is None:
                cells[cell] = [driver_id]
            else:
                group.append(driver_id)
        return cells, where

    def one_by_one(kind: Callable[[], DriverIndex]) -> Callable[[], DriverIndex]:
        def build() -> DriverIndex:
            index = kind()
            upsert = index.upsert
            for driver_id, lat, lon in rows:
                upsert(driver_id, lat, lon)
            return index

        return build

    builds: list[tuple[str, Callable[[], object], str]] = [
        ("h3: dict of cells -> ids (peer)", h3_dict, "resolution 9, latlng_to_cell per driver"),
        ("h3: the same at resolution 10", lambda: h3_dict(10), "cells of geohash 7's size"),
        ("h3: dict of cells + positions", h3_dict_and_positions, "id -> (lat, lon, cell) too"),
        ("GeohashIndex: upsert per driver", one_by_one(GeohashIndex), "precision 7, TTL 60 s"),
        ("GeohashIndex.from_drivers (bulk)", lambda: GeohashIndex.from_drivers(rows), ""),
        ("H3Index: upsert per driver", one_by_one(H3Index), "resolution 9, TTL 60 s"),
        ("H3Index.from_drivers (bulk)", lambda: H3Index.from_drivers(rows), ""),
    ]
    times: list[list[float]] = [[] for _ in builds]
    for _ in range(repeat):  # interleaved, so load on the machine hits every row alike
        for samples, (_, build, _) in zip(times, builds, strict=True):
            gc.collect()  # each build starts from the same heap (the collector stays on)
            start = time.perf_counter()
            built = build()
            samples.append(time.perf_counter() - start)
            del built  # freeing the structure is not part of building it
    peer = statistics.median(times[0])
    table = Table(
        f"building an index of {drivers:,} drivers: median of {repeat} interleaved passes",
        ["build", "ms", "x the h3 dict", "per pass, lowest-highest", "note"],
    )
    for samples, (name, _, note) in zip(times, builds, strict=True):
        ratios = [t / p for t, p in zip(samples, times[0], strict=True)]
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        middle = statistics.median(samples)
        table.add(name, middle * 1e3, middle / peer, spread, note)
    table.note = "target for GeohashIndex.from_drivers: within 2x of the h3 dict (resolution 9)"
    return [table]


def bench_surge(quick: bool) -> list[Table]:
    """One pricing period of a city: riders and free drivers counted per cell and priced, per
    H3 hexagon (resolution 8) and per geohash cell (precision 6, cells of a similar size)."""
    from designpatterns_ref.geo.h3_surge import HexSurgePricer
    from designpatterns_ref.geo.surge import SurgePricer

    riders, free, repeat = (2_000, 5_000, 3) if quick else (20_000, 50_000, 7)
    asks, cars = city(riders, SEED + 3), city(free, SEED + 4)
    clock = ManualClock()
    hexes = HexSurgePricer(8, clock=clock)
    plain = SurgePricer(clock=clock)

    def by_geohash() -> None:
        demand: dict[str, int] = {}
        supply: dict[str, int] = {}
        for lat, lon in asks:
            cell = gh.encode(lat, lon, 6)
            demand[cell] = demand.get(cell, 0) + 1
        for lat, lon in cars:
            cell = gh.encode(lat, lon, 6)
            supply[cell] = supply.get(cell, 0) + 1
        for cell in sorted(demand.keys() | supply.keys()):
            plain.update(cell, demand=demand.get(cell, 0), supply=supply.get(cell, 0))

    runs: dict[str, list[float]] = {"h3": [], "geohash": []}
    for _ in range(repeat):
        clock.advance(30.0)
        start = time.perf_counter()
        priced = hexes.observe(asks, cars)
        runs["h3"].append(time.perf_counter() - start)
        start = time.perf_counter()
        by_geohash()
        runs["geohash"].append(time.perf_counter() - start)
    table = Table(
        f"surge: one period of {riders:,} riders and {free:,} free drivers, median of {repeat}",
        ["cells", "ms per period", "cells priced"],
    )
    table.add("HexSurgePricer (H3 resolution 8)", statistics.median(runs["h3"]) * 1e3, len(priced))
    table.add(
        "SurgePricer by geohash (precision 6)",
        statistics.median(runs["geohash"]) * 1e3,
        len(plain._cells),
    )
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench geo`` runs, each returning its tables."""
    return [
        ("geohash codecs", lambda: bench_codecs(quick)),
        ("nearest drivers", lambda: bench_nearest(quick)),
        ("location updates", lambda: bench_updates(quick)),
        ("index builds", lambda: bench_build(quick)),
        ("surge per cell", lambda: bench_surge(quick)),
    ]
