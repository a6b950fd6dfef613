"""Random sequences of requests, releases, moves and removals through a Dispatcher, against a model.

The model keeps the drivers as a dict ``driver_id -> (lat, lon, available, at)`` and the riders as
a dict ``rider_id -> (driver_id, distance)``. A request takes the nearest free live driver within
the pickup limit; a free driver that still has a rider (another writer freed it) is marked busy
again and passed over. Every dispatcher, on every index, must give the same answers and leave the
same state.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

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
from designpatterns_ref.geo.sphere import _haversine_m

from .strategies import points

TTL = 60.0
DRIVERS = ["d1", "d2", "d3", "d4", "d5"]
RIDERS = ["r1", "r2", "r3", "r4"]
#: A city, and both sides of the antimeridian.
spots = st.sampled_from([(40.758, -73.9855), (0.0, 179.9999)]).flatmap(lambda c: points(c))


class DispatchMachine(RuleBasedStateMachine):
    def make(self, clock: ManualClock) -> list[DriverIndex]:
        return [
            BruteForceIndex(ttl=TTL, clock=clock),
            GeohashIndex(ttl=TTL, clock=clock),
            GeohashIndex(3, ttl=TTL, clock=clock),
            QuadTreeIndex(capacity=2, ttl=TTL, clock=clock),
            H3Index(ttl=TTL, clock=clock),
        ]

    @initialize(max_pickup=st.sampled_from([None, 100.0, 20_000.0]))
    def start(self, max_pickup: float | None) -> None:
        self.clock = ManualClock(start=500.0)
        indexes = self.make(self.clock)
        self.dispatchers = [Dispatcher(i, max_pickup_m=max_pickup) for i in indexes]
        self.limit = math.inf if max_pickup is None else max_pickup
        self.drivers: dict[str, tuple[float, float, bool, float]] = {}
        self.riders: dict[str, tuple[str, float]] = {}

    def live(self) -> dict[str, tuple[float, float, bool, float]]:
        cutoff = self.clock() - TTL
        return {d: r for d, r in self.drivers.items() if r[3] >= cutoff}

    def rider_of(self, driver_id: str) -> str | None:
        return next((r for r, (d, _) in self.riders.items() if d == driver_id), None)

    def place(self, d: str, p: tuple[float, float], available: bool | None) -> None:
        old = self.live().get(d)
        flag = (True if old is None else old[2]) if available is None else available
        self.drivers[d] = (p[0], -180.0 if p[1] == 180.0 else p[1], flag, self.clock())

    @rule(d=st.sampled_from(DRIVERS), p=spots)
    def update(self, d: str, p: tuple[float, float]) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.update(d, *p)
        self.place(d, p, False if self.rider_of(d) is not None else None)

    @rule(d=st.sampled_from(DRIVERS), p=spots)
    def freed_by_another_writer(self, d: str, p: tuple[float, float]) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.index.upsert(d, *p, available=True)
        self.place(d, p, True)

    @rule(d=st.sampled_from(DRIVERS))
    def remove(self, d: str) -> None:
        expected = d in self.live()
        for dispatcher in self.dispatchers:
            assert dispatcher.remove(d) is expected
        self.drivers.pop(d, None)

    @rule(rider=st.sampled_from(RIDERS), p=spots)
    def request(self, rider: str, p: tuple[float, float]) -> None:
        if rider in self.riders:
            for dispatcher in self.dispatchers:
                with pytest.raises(GeoError, match="already has a driver"):
                    dispatcher.request(rider, *p)
            return
        lon = -180.0 if p[1] == 180.0 else p[1]
        expected = None
        found = sorted(
            (_haversine_m(p[0], lon, r[0], r[1]), d) for d, r in self.live().items() if r[2]
        )
        for dist, d in found:
            if dist > self.limit:
                break
            lat, lon_d, _, at = self.drivers[d]
            self.drivers[d] = (lat, lon_d, False, at)  # claimed, or a busy driver re-marked
            if self.rider_of(d) is None:
                expected = (rider, d, dist)
                self.riders[rider] = (d, dist)
                break
        for dispatcher in self.dispatchers:
            got = dispatcher.request(rider, *p)
            answer = None if got is None else (got.rider_id, got.driver_id, got.distance_m)
            assert answer == expected, dispatcher.index

    @rule(d=st.sampled_from(DRIVERS))
    def release(self, d: str) -> None:
        rider = self.rider_of(d)
        if rider is None:
            for dispatcher in self.dispatchers:
                with pytest.raises(GeoError, match="no assignment"):
                    dispatcher.release(d)
            return
        for dispatcher in self.dispatchers:
            dispatcher.release(d)
        del self.riders[rider]
        if d in self.live():
            lat, lon, _, at = self.drivers[d]
            self.drivers[d] = (lat, lon, True, at)

    @rule(seconds=st.sampled_from([1.0, 30.0, TTL, TTL + 0.5]))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def same_state(self) -> None:
        """A rule, not an invariant: reads expire stale drivers, and requests, releases and
        updates must also meet drivers whose time has passed but that no read has expired."""
        live = self.live()
        for dispatcher in self.dispatchers:
            got = {r: (a.driver_id, a.distance_m) for r, a in dispatcher.assignments.items()}
            assert got == self.riders, dispatcher.index
            for d in DRIVERS:
                state = dispatcher.index.get(d)
                expected = live.get(d)
                assert (None if state is None else (state.lat, state.lon, state.available)) == (
                    None if expected is None else expected[:3]
                ), (dispatcher.index, d)


DispatchMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
test_dispatchers_follow_the_model = DispatchMachine.TestCase

_keys = itertools.count()


@pytest.mark.redis
def test_a_dispatcher_on_redis_follows_the_model(live_redis_url: Callable[[], str]) -> None:
    import redis

    client = redis.Redis.from_url(live_redis_url())
    made: list[RedisGeoIndex] = []

    class OnRedis(DispatchMachine):
        def make(self, clock: ManualClock) -> list[DriverIndex]:
            made.append(RedisGeoIndex(client, key=f"dispatch:{next(_keys)}", ttl=TTL, clock=clock))
            return [made[-1]]

    OnRedis.TestCase.settings = settings(
        max_examples=20,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    try:
        OnRedis.TestCase().runTest()
    finally:
        for index in made:
            index.clear()
        client.close()
