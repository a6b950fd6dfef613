"""Every driver index answers exactly like brute force: poles, ±180°, cell edges, moves, TTL."""

from __future__ import annotations

import contextlib
import math
import random
import sys
import threading
from collections.abc import Callable, Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import (
    BruteForceIndex,
    Dispatcher,
    DriverIndex,
    GeoError,
    GeohashIndex,
    H3Index,
    QuadTreeIndex,
    RedisGeoIndex,
)

from .strategies import fleets, world_fleets

Factory = Callable[[ManualClock], DriverIndex]

MEMORY: dict[str, Factory] = {
    "geohash7": lambda c: GeohashIndex(clock=c),
    "geohash3": lambda c: GeohashIndex(3, clock=c),
    "geohash9": lambda c: GeohashIndex(9, clock=c),
    "quadtree2": lambda c: QuadTreeIndex(capacity=2, clock=c),
    "quadtree16": lambda c: QuadTreeIndex(clock=c),
    "h3_9": lambda c: H3Index(clock=c),
    "h3_5": lambda c: H3Index(5, clock=c),
    "h3_0": lambda c: H3Index(0, clock=c),
}


@pytest.fixture(params=[*MEMORY, "redis"])
def make(request: pytest.FixtureRequest) -> Iterator[Factory]:
    if request.param != "redis":
        yield MEMORY[request.param]
        return
    import redis

    url = request.getfixturevalue("redis_url")
    client = redis.Redis.from_url(url)
    yield lambda c: RedisGeoIndex(client, key="contract", clock=c)
    client.close()


def load(index: DriverIndex, drivers: list[tuple[str, float, float, bool]]) -> None:
    for driver_id, lat, lon, available in drivers:
        index.upsert(driver_id, lat, lon, available=available)


@given(fleets(), st.integers(1, 12), st.sampled_from([None, 10.0, 5_000.0, 300_000.0]))
def test_memory_indexes_equal_brute_force(
    fleet: tuple[object, list[tuple[str, float, float, bool]], list[tuple[float, float]]],
    k: int,
    radius: float | None,
) -> None:
    _, drivers, queries = fleet
    clock = ManualClock()
    oracle = BruteForceIndex(clock=clock)
    load(oracle, drivers)
    for make in MEMORY.values():
        index = make(clock)
        load(index, drivers)
        assert len(index) == len(oracle)
        for lat, lon in queries:
            assert index.nearest(lat, lon, k) == oracle.nearest(lat, lon, k)
            assert index.nearest(lat, lon, k, max_radius_m=radius, available_only=False) == (
                oracle.nearest(lat, lon, k, max_radius_m=radius, available_only=False)
            )
            if radius is not None:
                assert index.within(lat, lon, radius) == oracle.within(lat, lon, radius)


@settings(max_examples=20)
@given(fleets(), st.data())
def test_moves_removals_and_availability_keep_indexes_exact(
    fleet: tuple[object, list[tuple[str, float, float, bool]], list[tuple[float, float]]],
    data: st.DataObject,
) -> None:
    _, drivers, queries = fleet
    clock = ManualClock()
    indexes: list[DriverIndex] = [BruteForceIndex(clock=clock)] + [
        m(clock) for m in MEMORY.values()
    ]
    for index in indexes:
        load(index, drivers)
    ids = [d[0] for d in drivers]
    for _ in range(data.draw(st.integers(0, 30))):
        op = data.draw(st.sampled_from(["move", "remove", "busy"]))
        if not ids:
            break
        driver_id = data.draw(st.sampled_from(ids))
        if op == "move":
            _, lat, lon, _ = data.draw(st.sampled_from(drivers))
            for index in indexes:
                index.upsert(driver_id, lat, lon)
        elif op == "remove":
            results = {index.remove(driver_id) for index in indexes}
            assert len(results) == 1
        elif all(index.get(driver_id) is not None for index in indexes):
            for index in indexes:
                index.set_available(driver_id, False)
    for lat, lon in queries:
        answers = [index.nearest(lat, lon, 5, available_only=False) for index in indexes]
        assert all(a == answers[0] for a in answers)
        answers = [index.nearest(lat, lon, 5) for index in indexes]
        assert all(a == answers[0] for a in answers)


@pytest.mark.redis
@settings(max_examples=15)
@given(fleets(max_drivers=15, redis_safe=True), st.integers(1, 8))
def test_redis_index_equals_brute_force(
    live_redis_url: Callable[[], str],
    fleet: tuple[object, list[tuple[str, float, float, bool]], list[tuple[float, float]]],
    k: int,
) -> None:
    import redis

    client = redis.Redis.from_url(live_redis_url())
    clock = ManualClock()
    index = RedisGeoIndex(client, key="prop", clock=clock)
    index.clear()
    oracle = BruteForceIndex(clock=clock)
    _, drivers, queries = fleet
    load(index, drivers)
    load(oracle, drivers)
    for lat, lon in queries:
        assert index.nearest(lat, lon, k) == oracle.nearest(lat, lon, k)
        assert index.within(lat, lon, 50_000.0, available_only=False) == oracle.within(
            lat, lon, 50_000.0, available_only=False
        )
    index.clear()
    client.close()


Fleet = tuple[object, list[tuple[str, float, float, bool]], list[tuple[float, float]]]

#: Search bounds from "none" through a street, a country, a continent, to more than the globe.
WORLD_RADII = st.sampled_from([None, 10.0, 100_000.0, 2_500_000.0, 9_000_000.0, 30_000_000.0])


def assert_world_answers(
    index: DriverIndex, oracle: DriverIndex, fleet: Fleet, k: int, radius: float | None
) -> None:
    """``nearest`` and ``within`` equal the oracle's, for free drivers and for all of them."""
    for lat, lon in fleet[2]:
        for free in (True, False):
            assert index.nearest(lat, lon, k, max_radius_m=radius, available_only=free) == (
                oracle.nearest(lat, lon, k, max_radius_m=radius, available_only=free)
            )
        assert index.nearest(lat, lon, k) == oracle.nearest(lat, lon, k)
        bound = 30_000_000.0 if radius is None else radius
        assert index.within(lat, lon, bound, available_only=False) == oracle.within(
            lat, lon, bound, available_only=False
        )


@settings(max_examples=40)
@given(world_fleets(), st.integers(1, 16), WORLD_RADII)
def test_memory_indexes_reach_across_continents(fleet: Fleet, k: int, radius: float | None) -> None:
    clock = ManualClock()
    oracle = BruteForceIndex(clock=clock)
    load(oracle, fleet[1])
    for make in MEMORY.values():
        index = make(clock)
        load(index, fleet[1])
        assert_world_answers(index, oracle, fleet, k, radius)


_NEAR_PARIS = ("near", 48.85, 2.29, True)


@pytest.mark.redis
@settings(max_examples=20)
@given(world_fleets(redis_safe=True), st.integers(1, 16), WORLD_RADII)
@example(((48.85, 2.29), [_NEAR_PARIS, ("far", 10.0, 60.0, True)], [(48.85, 2.29)]), 2, None)
@example(((48.85, 2.29), [_NEAR_PARIS, ("far", 10.0, 179.99999, True)], [(48.85, 2.29)]), 2, None)
@example(((48.85, 2.29), [_NEAR_PARIS, ("far", 85.05, 60.0, True)], [(48.85, 2.29)]), 2, 5e6)
@example(((48.85, 2.29), [_NEAR_PARIS, ("far", -33.87, 151.21, True)], [(48.85, 2.29)]), 2, 3e6)
def test_redis_index_reaches_across_continents(
    live_redis_url: Callable[[], str], fleet: Fleet, k: int, radius: float | None
) -> None:
    """Past 2,000 km the Redis index measures every driver: it must keep the caller's bound."""
    import redis

    client = redis.Redis.from_url(live_redis_url())
    clock = ManualClock()
    index = RedisGeoIndex(client, key="world", clock=clock)
    index.clear()
    oracle = BruteForceIndex(clock=clock)
    load(index, fleet[1])
    load(oracle, fleet[1])
    assert_world_answers(index, oracle, fleet, k, radius)
    index.clear()
    client.close()


def test_contract_basics(make: Factory) -> None:
    clock = ManualClock()
    index = make(clock)
    index.upsert("b", 40.0, -74.0)
    index.upsert("a", 40.0, -74.0)  # same spot: ties broken by id
    index.upsert("c", 40.01, -74.0, available=False)
    assert [m.driver_id for m in index.nearest(40.0, -74.0, 3)] == ["a", "b"]
    assert [m.driver_id for m in index.nearest(40.0, -74.0, 3, available_only=False)] == [
        "a",
        "b",
        "c",
    ]
    assert [m.driver_id for m in index.within(40.0, -74.0, 2_000.0, available_only=False)] == [
        "a",
        "b",
        "c",
    ]
    assert index.nearest(40.0, -74.0, 3, max_radius_m=0.0) == index.nearest(40.0, -74.0, 2)
    assert len(index) == 3 and "c" in index
    state = index.get("c")
    assert state is not None and not state.available and state.lat == 40.01
    index.set_available("c", True)
    assert index.nearest(40.011, -74.0, 1)[0].driver_id == "c"
    assert index.remove("c") and not index.remove("c")
    assert len(index) == 2 and index.get("c") is None


def test_stale_drivers_are_dropped_on_the_clock(make: Factory) -> None:
    clock = ManualClock()
    index = make(clock)
    index.upsert("old", 10.0, 10.0)
    clock.advance(30.0)
    index.upsert("new", 10.001, 10.0)
    clock.advance(30.5)  # "old" is 60.5 s old: past the 60 s TTL
    assert [m.driver_id for m in index.nearest(10.0, 10.0, 5)] == ["new"]
    assert len(index) == 1 and index.get("old") is None
    index.upsert("new", 10.0, 10.0, at=clock() - 100.0)  # a fix from long ago is stale at once
    assert len(index) == 0


def test_removing_a_stale_driver_answers_false(make: Factory) -> None:
    clock = ManualClock()
    index = make(clock)
    index.upsert("old", 1.0, 2.0)
    index.upsert("fresh", 1.0, 2.0, at=50.0)
    clock.advance(61.0)  # "old" is past its 60 s TTL, and nothing has read the index since
    assert index.remove("old") is False
    assert index.remove("fresh") is True and len(index) == 0


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda ix: ix.upsert("x", float("nan"), 0.0), "finite"),
        (lambda ix: ix.upsert("x", 0.0, 181.0), "[-180, 180]"),
        (lambda ix: ix.upsert("x", "1", 0.0), "number"),
        (lambda ix: ix.upsert(7, 1.0, 0.0), "driver_id"),
        (lambda ix: ix.upsert("x", 1.0, 0.0, available="yes"), "available"),
        (lambda ix: ix.nearest(1.0, 0.0, 0), "k=0"),
        (lambda ix: ix.nearest(1.0, 0.0, 2, max_radius_m=-1.0), "radius"),
        (lambda ix: ix.within(91.0, 0.0, 5.0), "latitude"),
    ],
)
def test_bad_input_raises_and_changes_nothing(
    make: Factory, call: Callable[[DriverIndex], object], words: str
) -> None:
    index = make(ManualClock())
    index.upsert("kept", 1.0, 1.0)
    with pytest.raises(GeoError) as info:
        call(index)
    assert words in str(info.value)
    assert len(index) == 1 and index.get("x") is None


@pytest.mark.redis
def test_redis_refuses_what_it_cannot_answer(redis_url: str) -> None:
    import redis

    index = RedisGeoIndex(redis.Redis.from_url(redis_url), clock=ManualClock())
    with pytest.raises(GeoError, match=r"85\.05112878"):
        index.upsert("polar", 86.0, 0.0)
    with pytest.raises(GeoError, match=r"85\.05112878"):
        index.nearest(-89.0, 0.0)
    assert len(index) == 0


@pytest.mark.redis
def test_redis_scores_match_the_server(redis_url: str) -> None:
    import random

    import redis

    from designpatterns_ref.geo.geohash import redis_decode, redis_score

    client = redis.Redis.from_url(redis_url)
    rng = random.Random(11)
    pts = [(rng.uniform(-85.05, 85.05), rng.uniform(-180, 180)) for _ in range(300)]
    pts += [(0.0, -180.0), (85.05, 179.999999), (-85.05112878, 0.0)]
    for i, (lat, lon) in enumerate(pts):
        client.geoadd("scores", (lon, lat, f"m{i}"))
    for i, (lat, lon) in enumerate(pts):
        assert int(client.zscore("scores", f"m{i}")) == redis_score(lat, lon)
        r_lon, r_lat = client.geopos("scores", f"m{i}")[0]
        mine = redis_decode(redis_score(lat, lon))
        assert abs(mine[0] - r_lat) < 1e-9 and abs(mine[1] - r_lon) < 1e-9


@pytest.mark.redis
@pytest.mark.parametrize("lat", [85.05112878, -85.05112878])
@pytest.mark.parametrize("lon", [10.0, 180.0, -180.0])
def test_a_driver_on_the_latitude_limit_is_found_on_redis(
    redis_url: str, lat: float, lon: float
) -> None:
    """Redis scores +85.05112878 one row past the last, where GEOSEARCH never looks: the
    index must still find a driver there, as the brute-force oracle does."""
    import redis

    clock = ManualClock()
    oracle = BruteForceIndex(clock=clock, ttl=None)
    index = RedisGeoIndex(
        redis.Redis.from_url(redis_url), key=f"limit{lat}{lon}", clock=clock, ttl=None
    )
    rider = (math.copysign(85.0, lat), lon - math.copysign(0.05, lon))
    for target in (oracle, index):
        target.upsert("edge", lat, lon)
        target.upsert("south", rider[0] - math.copysign(0.08, lat), rider[1])
    for radius in (10_000, 50_000, 3_000_000):
        assert index.within(*rider, radius) == oracle.within(*rider, radius)
    assert index.nearest(*rider, k=2) == oracle.nearest(*rider, k=2)


def test_trace_reports_the_cells_searched() -> None:
    index = GeohashIndex(clock=ManualClock())
    for i in range(50):
        index.upsert(f"d{i}", 40.0 + i * 1e-4, -74.0)
    trace = index.trace(40.0025, -74.0, 3)
    assert [m.driver_id for m in trace.matches] == ["d25", "d24", "d26"]
    assert trace.cells and all(len(c) == 7 for c in trace.cells)


@pytest.mark.parametrize("name", list(MEMORY))
def test_dispatcher_never_gives_a_driver_to_two_riders(name: str) -> None:
    index = MEMORY[name](ManualClock())
    for i in range(40):
        index.upsert(f"d{i:02d}", 40.0 + (i % 7) * 1e-3, -74.0 + (i // 7) * 1e-3)
    dispatcher = Dispatcher(index)
    got: list[str] = []
    lock = threading.Lock()

    def riders(t: int) -> None:
        for j in range(15):
            a = dispatcher.request(f"r{t}-{j}", 40.003, -73.998)
            if a is not None:
                with lock:
                    got.append(a.driver_id)

    threads = [threading.Thread(target=riders, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 40 and len(set(got)) == 40  # 90 riders, 40 drivers, each given once
    assert index.nearest(40.0, -74.0, 1) == []
    dispatcher.release(got[0])
    assert index.nearest(40.0, -74.0, 1)[0].driver_id == got[0]
    with pytest.raises(GeoError):
        dispatcher.release(got[0])


@pytest.mark.parametrize("centre", [(40.758, -73.9855), (89.99, 0.0), (-89.99, 0.0), (0.0, 179.99)])
def test_dense_search_skips_rows_beyond_reach_and_stays_exact(centre: tuple[float, float]) -> None:
    # Many drivers per cell, some exactly on row edges and some sharing a spot, so the search
    # runs several rings with a k-th distance in hand and skips rows of cells beyond it.
    rng = random.Random(5)
    lat0, lon0 = centre
    row = 180.0 / 2**17  # precision 7: 17 latitude bits
    clock = ManualClock()
    index, oracle = GeohashIndex(clock=clock), BruteForceIndex(clock=clock)
    for i in range(1_500):
        lat = max(-90.0, min(90.0, lat0 + rng.uniform(-0.01, 0.01)))
        if i % 4 == 0:
            lat = max(-90.0, min(90.0, (round((lat + 90.0) / row) * row) - 90.0))
        lon = (lon0 + rng.uniform(-0.01, 0.01) + 180.0) % 360.0 - 180.0
        for index_ in (index, oracle):
            index_.upsert(f"d{i:04d}", lat, lon, available=i % 5 != 0)
            if i % 7 == 0:
                index_.upsert(f"e{i:04d}", lat, lon)  # a twin: a tie broken by id
    skipped = 0
    for _ in range(60):
        lat = max(-90.0, min(90.0, lat0 + rng.uniform(-0.008, 0.008)))
        lon = (lon0 + rng.uniform(-0.008, 0.008) + 180.0) % 360.0 - 180.0
        for k in (1, 10, 40):
            assert index.nearest(lat, lon, k) == oracle.nearest(lat, lon, k)
            assert index.nearest(lat, lon, k, available_only=False) == oracle.nearest(
                lat, lon, k, available_only=False
            )
        assert index.within(lat, lon, 300.0) == oracle.within(lat, lon, 300.0)
        trace = index.trace(lat, lon, 40)
        side = 2 * trace.rings + 1
        skipped += len(trace.cells) < side * side
    if abs(lat0) < 80.0:  # (near a pole the rings are clipped anyway)
        assert skipped > 0  # the row skipping really ran


@pytest.mark.redis
def test_redis_set_available_never_undoes_a_concurrent_move_or_remove(redis_url: str) -> None:
    """set_available changes the flag only, in one step on the server: a driver that another
    process moves meanwhile keeps its new fix (the fix times a reader sees never go back), and
    one removed meanwhile stays removed."""
    import redis

    client = redis.Redis.from_url(redis_url)
    mover, flipper = (RedisGeoIndex(client, key="race", ttl=None) for _ in range(2))
    mover.upsert("ana", 40.0, -74.0, at=0.0)
    done = threading.Event()
    flips = 0
    seen: list[tuple[float, float]] = []

    def move() -> None:
        for i in range(1, 300):
            mover.upsert("ana", 40.0 + i * 1e-4, -74.0, at=float(i))
        mover.remove("ana")
        done.set()

    def flip() -> None:
        nonlocal flips
        while not done.is_set():
            with contextlib.suppress(KeyError):  # DriverNotFound: removed already
                flipper.set_available("ana", flips % 2 == 0)
            flips += 1

    def read() -> None:
        while not done.is_set():
            state = mover.get("ana")
            if state is not None:
                seen.append((state.at, state.lat))

    threads = [threading.Thread(target=f) for f in (move, flip, read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60.0)
    assert done.is_set() and flips > 10 and len(seen) > 10
    times = [at for at, _ in seen]
    assert times == sorted(times), "a reader saw a driver's fix go back in time"
    assert all(lat == 40.0 + at * 1e-4 for at, lat in seen)
    assert "ana" not in mover and mover.get("ana") is None
    sizes = [client.zcard(f"race:{k}") for k in ("geo", "free", "at")]
    assert [*sizes, client.hlen("race:pos")] == [0, 0, 0, 0], "a removed driver came back"
    client.close()


@pytest.mark.parametrize("precision", range(1, 13))
@settings(max_examples=15)
@example(radius=1e307, drivers=[], rider=(0.0, 0.0), k=1)
@example(radius=sys.float_info.max, drivers=[(1.0, 2.0)], rider=(0.0, 0.0), k=1)
@given(
    radius=st.one_of(
        st.sampled_from([2.0e7, math.pi * 6_371_008.8, 1e9, 1e307, sys.float_info.max]),
        st.floats(1e6, sys.float_info.max),
    ),
    drivers=st.lists(st.tuples(st.floats(-90.0, 90.0), st.floats(-180.0, 179.999)), max_size=6),
    rider=st.tuples(st.floats(-90.0, 90.0), st.floats(-180.0, 179.999)),
    k=st.integers(1, 4),
)
def test_geohash_takes_any_finite_radius_at_every_precision(
    precision: int,
    radius: float,
    drivers: list[tuple[float, float]],
    rider: tuple[float, float],
    k: int,
) -> None:
    """A radius past half the globe skips no row of cells; fine cells must not overflow."""
    clock = ManualClock()
    index, oracle = GeohashIndex(precision, clock=clock), BruteForceIndex(clock=clock)
    for i, (lat, lon) in enumerate(drivers):
        index.upsert(f"d{i}", lat, lon)
        oracle.upsert(f"d{i}", lat, lon)
    lat, lon = rider
    assert index.nearest(lat, lon, k, max_radius_m=radius) == oracle.nearest(
        lat, lon, k, max_radius_m=radius
    )
    assert index.within(lat, lon, radius) == oracle.within(lat, lon, radius)
