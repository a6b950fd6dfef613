"""Bulk loads equal one upsert per driver: same buckets, same answers, same refusals."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import (
    BruteForceIndex,
    GeoError,
    GeohashIndex,
    GeoTypeError,
    H3Index,
    QuadTreeIndex,
)

from .strategies import fleets

Fleet = tuple[object, list[tuple[str, float, float, bool]], list[tuple[float, float]]]

MAKERS: dict[str, Callable[[ManualClock], Any]] = {
    "geohash7": lambda c: GeohashIndex(clock=c),
    "geohash3": lambda c: GeohashIndex(3, clock=c),
    "h3_9": lambda c: H3Index(clock=c),
    "h3_4": lambda c: H3Index(4, clock=c),
}


def state(index: Any) -> object:
    """Everything a bulk load must leave as the upserts do (the heap aside: it is lazy)."""
    cells = {key: dict(bucket) for key, bucket in index._cells.items()}
    drivers = dict(index._live.drivers)
    # the buckets hold exactly the live drivers, each in the cell its record names, none empty
    assert all(cells.values())
    assert {(d, k) for k, b in cells.items() for d in b} == {(d, r[4]) for d, r in drivers.items()}
    assert all(cells[r[4]][d] is index._live.drivers[d] for d, r in drivers.items())  # shared
    return cells, drivers


@settings(max_examples=40)
@given(fleets(), fleets(), st.sampled_from(list(MAKERS)), st.booleans())
def test_bulk_load_equals_one_upsert_per_driver(
    first: Fleet, second: Fleet, name: str, available: bool
) -> None:
    clock = ManualClock()
    make = MAKERS[name]
    rows = [(d, lat, lon) for d, lat, lon, _ in first[1]]
    more = [(d, lat, lon) for d, lat, lon, _ in second[1]]
    more += rows[: len(rows) // 2]  # drivers already in the index move (or stay)
    bulk, one_by_one = make(clock), make(clock)
    bulk.bulk_load(rows)
    for d, lat, lon in rows:
        one_by_one.upsert(d, lat, lon)
    assert state(bulk) == state(one_by_one)
    clock.advance(5.0)
    bulk.bulk_load(more, available=available, at=3.0)
    for d, lat, lon in more:
        one_by_one.upsert(d, lat, lon, available=available, at=3.0)
    assert state(bulk) == state(one_by_one)
    for lat, lon in first[2] + second[2]:
        assert bulk.nearest(lat, lon, 5, available_only=False) == one_by_one.nearest(
            lat, lon, 5, available_only=False
        )
    clock.advance(63.5)  # the first load is stale, the second (at=3.0) too: both expire alike
    assert len(bulk) == len(one_by_one) == 0


def test_from_drivers_builds_the_same_index() -> None:
    rows = [(f"d{i}", 40.0 + i * 1e-3, -74.0 + (i % 7) * 1e-3) for i in range(500)]
    rows.append(("edge", 90.0, 180.0))
    for cls, arg in ((GeohashIndex, 6), (H3Index, 8)):
        built = cls.from_drivers(rows, arg, ttl=None, clock=ManualClock(5.0))
        slow = cls(arg, ttl=None, clock=ManualClock(5.0))
        for d, lat, lon in rows:
            slow.upsert(d, lat, lon)
        assert state(built) == state(slow)
        assert built.get("edge") is not None and built.get("edge").lon == -180.0  # type: ignore[union-attr]


@pytest.mark.parametrize("name", list(MAKERS))
@pytest.mark.parametrize(
    ("rows", "error", "words"),
    [
        ([("a", 1.0, 2.0), ("b", math.nan, 2.0)], GeoError, "drivers[1]: lat=nan"),
        ([("a", 1.0, 2.0), ("b", 1.0, 180.5)], GeoError, "drivers[1]: lon=180.5"),
        ([("a", 1.0, math.nan), ("b", 1.0, 2.0)], GeoError, "drivers[0]: lon=nan"),
        ([("a", -math.inf, 2.0), ("b", math.inf, 2.0)], GeoError, "drivers[0]: lat=-inf"),
        ([("a", 1e308, 2.0), ("b", -1e308, 2.0)], GeoError, "drivers[0]: lat=1e+308"),
        ([("a", 1.0, 2.0), ("", 1.0, 2.0)], GeoError, "drivers[1]: driver_id=''"),
        ([("a", 1.0, 2.0), ("\ud800", 1.0, 2.0)], GeoError, "drivers[1]: driver_id="),
        ([("a", 1.0, 2.0), (None, 1.0, 2.0)], GeoTypeError, "drivers[1]: driver_id=None"),
        ([("a", 1.0, 2.0), ("b", True, 2.0)], GeoTypeError, "drivers[1]: lat=True"),
        ([("a", 1.0, 2.0), ("b", 10**400, 2.0)], GeoError, "drivers[1]: lat="),
        ([("a", 1.0, 2.0), ("b", 1.0)], GeoTypeError, "drivers[1]="),
        ([("a", 1.0, 2.0), "b12"], GeoTypeError, "drivers[1]='b12'"),
        ("abc", GeoTypeError, "drivers='abc'"),
        (None, GeoTypeError, "drivers=None"),
        (7, GeoTypeError, "drivers=7"),
    ],
)
def test_a_bad_row_stores_nothing(name: str, rows: Any, error: type, words: str) -> None:
    index = MAKERS[name](ManualClock())
    index.upsert("kept", 1.0, 1.0)
    before = state(index)
    with pytest.raises(error) as info:
        index.bulk_load(rows)
    assert words in str(info.value)
    assert state(index) == before


@pytest.mark.parametrize("name", list(MAKERS))
def test_bulk_settings_are_checked(name: str) -> None:
    index = MAKERS[name](ManualClock())
    with pytest.raises(GeoTypeError, match="available="):
        index.bulk_load([("a", 1.0, 2.0)], available="yes")
    with pytest.raises(GeoError, match="at="):
        index.bulk_load([("a", 1.0, 2.0)], at=math.inf)
    assert len(index) == 0
    index.bulk_load([])
    index.bulk_load([["a", 1, 2]])  # ints and lists are accepted, as upsert accepts ints
    assert index.get("a") is not None and index.get("a").lat == 1.0


@pytest.mark.parametrize("name", list(MAKERS))
def test_a_bulk_loaded_driver_refreshed_later_outlives_its_batch(name: str) -> None:
    clock = ManualClock()
    index = MAKERS[name](clock)
    index.bulk_load([("a", 1.0, 2.0), ("b", 1.0, 2.001), ("c", 1.0, 2.002)])
    clock.advance(50.0)
    index.upsert("b", 1.0, 2.003)  # a fresh fix: the batch's entry must no longer drop it
    index.bulk_load([("c", 1.0, 2.004)])  # so is a second batch
    clock.advance(20.0)  # the first batch is 70 s old, past the 60 s TTL
    assert sorted(m.driver_id for m in index.nearest(1.0, 2.0, 5)) == ["b", "c"]
    assert index._live.batches.keys() == {1} and index._live.batched == 1
    clock.advance(60.0)
    assert len(index) == 0 and not index._live.batches and index._live.batched == 0


def test_batches_are_compacted_when_loads_repeat() -> None:
    clock = ManualClock()
    index = GeohashIndex(clock=clock)
    rows = [(f"d{i}", 1.0 + i * 1e-4, 2.0) for i in range(100)]
    for _ in range(5):  # every batch supersedes the last: memory must not grow with them
        index.bulk_load(rows)
        clock.advance(1.0)
        assert index._live.batched + len(index._live.heap) <= 2 * len(index) + 64 + 1
    clock.advance(58.5)  # the last load (at 4 s) is 59.5 s old: all still live
    assert len(index) == 100
    clock.advance(1.0)
    assert len(index) == 0


@settings(max_examples=40)
@given(fleets(), fleets(), st.sampled_from(list(MAKERS)), st.data())
def test_bulk_loaded_then_mutated_index_equals_brute_force(
    first: Fleet, second: Fleet, name: str, data: st.DataObject
) -> None:
    """Built in bulk (free and busy drivers in two batches, an id repeated inside a batch, a
    second batch moving drivers already loaded), then moved, removed, marked busy, loaded again
    and expired: every answer equals brute force fed the same fixes one by one."""
    clock = ManualClock()
    index, oracle = MAKERS[name](clock), BruteForceIndex(clock=clock)
    _, drivers, queries = first
    _, others, more_queries = second
    queries = queries + more_queries
    ids = sorted({d for d, _, _, _ in drivers} | {f"x{d}" for d, _, _, _ in others})

    def bulk(rows: list[tuple[str, float, float]], available: bool, at: float | None) -> None:
        index.bulk_load(rows, available=available, at=at)
        for d, lat, lon in rows:
            oracle.upsert(d, lat, lon, available=available, at=at)

    free = [(d, lat, lon) for d, lat, lon, a in drivers if a]
    busy = [(d, lat, lon) for d, lat, lon, a in drivers if not a]
    if free and others:  # a repeated id inside one batch: the last row wins
        _, lat, lon, _ = others[0]
        free.append((free[0][0], lat, lon))
    bulk(free, True, None)
    bulk(busy, False, None)
    clock.advance(10.0)
    for _ in range(data.draw(st.integers(0, 25), label="steps")):
        op = data.draw(st.sampled_from(["move", "remove", "busy", "bulk", "tick"]), label="op")
        if not ids:
            break
        driver_id = data.draw(st.sampled_from(ids), label="driver")
        _, lat, lon, _ = data.draw(st.sampled_from(drivers + others or [("", 0.0, 0.0, True)]))
        if op == "move":
            index.upsert(driver_id, lat, lon)
            oracle.upsert(driver_id, lat, lon)
        elif op == "remove":
            assert index.remove(driver_id) == oracle.remove(driver_id)
        elif op == "busy" and oracle.get(driver_id) is not None:
            index.set_available(driver_id, False)
            oracle.set_available(driver_id, False)
        elif op == "bulk":  # a few drivers, new or known, one of them twice
            some = data.draw(st.lists(st.sampled_from(ids), max_size=4), label="ids")
            rows = [(d, lat, lon) for d in some] + [(driver_id, lat, lon)]
            bulk(rows, data.draw(st.booleans(), label="available"), clock())
        elif op == "tick":
            clock.advance(data.draw(st.sampled_from([1.0, 25.0, 55.0]), label="dt"))
        state(index)  # buckets and table agree after every step
    assert len(index) == len(oracle)
    for d in ids:
        assert index.get(d) == oracle.get(d)
    for lat, lon in queries:
        for k in (1, 3, 10):
            assert index.nearest(lat, lon, k) == oracle.nearest(lat, lon, k)
            assert index.nearest(lat, lon, k, available_only=False) == oracle.nearest(
                lat, lon, k, available_only=False
            )
        for radius in (5.0, 2_000.0, 400_000.0):
            assert index.within(lat, lon, radius) == oracle.within(lat, lon, radius)


@pytest.mark.parametrize("name", [*MAKERS, "brute", "quadtree"])
def test_removing_a_stale_driver_answers_false_as_get_does(name: str) -> None:
    clock = ManualClock()
    extra: dict[str, Callable[[ManualClock], Any]] = {
        "brute": lambda c: BruteForceIndex(clock=c),
        "quadtree": lambda c: QuadTreeIndex(clock=c),
    }
    index = {**MAKERS, **extra}[name](clock)
    index.upsert("old", 1.0, 2.0)
    index.upsert("fresh", 1.0, 2.0, at=50.0)
    clock.advance(61.0)  # "old" is past its 60 s TTL, but nothing has read the index since
    assert index.remove("old") is False
    assert index.remove("fresh") is True
    assert len(index) == 0
