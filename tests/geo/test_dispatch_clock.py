"""The dispatcher on a clock that moves between its reads: a driver going stale mid-request.

``Dispatcher.request`` finds the nearest driver and then claims it; a real clock moves between
the two, so the driver found may be stale by the claim. The request must then go on to the
next driver (or return None when none is left), never raise. The clock here advances on every
reading, so each index call sees a later time than the one before.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.geo import (
    BruteForceIndex,
    Dispatcher,
    DriverIndex,
    GeohashIndex,
    H3Index,
    QuadTreeIndex,
    RedisGeoIndex,
)

Make = Callable[[float, Callable[[], float]], DriverIndex]
_keys = itertools.count()

MEMORY: dict[str, Make] = {
    "geohash": lambda ttl, clock: GeohashIndex(ttl=ttl, clock=clock),
    "brute": lambda ttl, clock: BruteForceIndex(ttl=ttl, clock=clock),
    "quadtree": lambda ttl, clock: QuadTreeIndex(ttl=ttl, clock=clock),
    "h3": lambda ttl, clock: H3Index(ttl=ttl, clock=clock),
}


@pytest.fixture(params=[*MEMORY, "redis"])
def make(request: pytest.FixtureRequest) -> Iterator[Make]:
    if request.param != "redis":
        yield MEMORY[request.param]
        return
    import redis

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield lambda ttl, clock: RedisGeoIndex(
        client, key=f"dispatch:{next(_keys)}", ttl=ttl, clock=clock
    )
    client.close()


class TickingClock:
    """Each reading is ``step`` seconds after the previous one."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_a_driver_going_stale_between_find_and_claim_is_skipped(make: Make) -> None:
    # d1 (fixed first) is stale when the search runs; d2 is live and nearest for the search
    # but stale by the claim: the rider gets no error, and no driver, since none is left live.
    clock = TickingClock(0.001)
    index = make(10.0, clock)
    index.upsert("d1", 40.7580, -73.9855)
    index.upsert("d2", 40.7680, -73.9855)
    clock.now = 10.0005
    assert Dispatcher(index).request("rider", 40.7585, -73.9855) is None


offsets = st.lists(
    st.tuples(st.integers(-40, 40), st.integers(-40, 40), st.booleans()), min_size=1, max_size=12
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    drivers=offsets,
    step=st.sampled_from([0.0, 0.001, 0.3, 1.0]),
    ttl=st.sampled_from([0.5, 2.0, 5.0]),
    wait=st.sampled_from([0.0, 0.5, 1.9, 4.0]),
    riders=st.integers(1, 6),
)
@example(drivers=[(0, 0, True), (10, 0, True)], step=0.001, ttl=10.0, wait=9.9995, riders=1)
@example(drivers=[(i, 0, True) for i in range(8)], step=1.0, ttl=5.0, wait=0.0, riders=3)
def test_requests_never_raise_and_take_the_nearest_live_driver(
    make: Make,
    drivers: list[tuple[int, int, bool]],
    step: float,
    ttl: float,
    wait: float,
    riders: int,
) -> None:
    clock = TickingClock(step)
    index = make(ttl, clock)
    for i, (dlat, dlon, available) in enumerate(drivers):
        index.upsert(f"d{i:02d}", 40.0 + dlat * 1e-3, -74.0 + dlon * 1e-3, available=available)
    clock.now += wait
    dispatcher = Dispatcher(index)
    for r in range(riders):
        got = dispatcher.request(f"r{r}", 40.0, -74.0)
        # Time only moves forward and nothing is added, so a driver live and free after the
        # request was live and free during it: it can be neither nearer than the one taken,
        # nor there at all when the request found none.
        left: list[Any] = index.nearest(40.0, -74.0, 50)
        if got is None:
            assert left == []
            break
        assert all((m.distance_m, m.driver_id) > (got.distance_m, got.driver_id) for m in left)
        assert got.driver_id not in {m.driver_id for m in left}
        assert dispatcher.assignments[f"r{r}"] == got


@pytest.mark.parametrize("twentieths", range(-4, 24))
def test_release_never_fails_halfway_for_a_driver_going_stale(make: Make, twentieths: int) -> None:
    """The driver's fix expires somewhere around the release (``twentieths / 20`` seconds of its
    TTL left when the release starts, on a clock that moves at every reading): the release
    drops the assignment and never raises."""
    left = twentieths / 20
    clock = TickingClock(0.25)
    index = make(60.0, clock)
    index.upsert("d7", 40.7580, -73.9855, at=0.0)
    dispatcher = Dispatcher(index)
    got = dispatcher.request("rider-1", 40.7585, -73.9855)
    assert got is not None and got.driver_id == "d7"
    clock.now = 60.0 - left
    dispatcher.release("d7")
    assert dispatcher.assignments == {}
    state = index.get("d7")
    assert state is None or state.available


@pytest.mark.parametrize("twentieths", range(-4, 24))
def test_an_unclaim_never_fails_for_a_driver_going_stale(make: Make, twentieths: int) -> None:
    """The fix expires somewhere around the unclaim (on a clock that moves at every reading):
    the unclaim frees the driver or leaves it as it was, and never raises ``DriverNotFound``
    (a dispatcher's undo of a failed claim, and its release, would fail with it)."""
    clock = TickingClock(0.25)
    index = make(60.0, clock)
    index.upsert("d7", 40.7580, -73.9855, at=0.0)
    assert index.claim("d7", "mine")
    clock.now = 60.0 - twentieths / 20
    freed = index.unclaim("d7", "mine")
    state = index.get("d7")
    assert state is None or state.available is freed
