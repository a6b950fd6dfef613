"""Random sequences of calls on every driver index, checked at every step against a dict.

The model is a dictionary ``driver_id -> (lat, lon, available, at)`` and one rule: a driver is
live while ``at >= now - ttl``. Its answers are brute force over the live entries, with the same
haversine every index uses, so every search must equal it exactly. The sequences move drivers
across cell edges, over the poles and across ±180°, mark them busy and free, remove them (and
remove them again), send fixes dated in the past, load fleets in bulk, make refused calls, and
move the clock to exactly a driver's expiry and just past it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import (
    BruteForceIndex,
    DriverIndex,
    DriverNotFound,
    GeoError,
    GeohashIndex,
    H3Index,
    QuadTreeIndex,
    RedisGeoIndex,
)
from designpatterns_ref.geo._buckets import BucketIndex
from designpatterns_ref.geo.sphere import _haversine_m

from .strategies import CENTRES, points

TTL = 60.0
IDS = ["a", "b", "c", "d", "e", "f"]
Record = tuple[float, float, bool, float]

#: Points near the poles, on both sides of ±180°, by a pentagon, snapped onto cell edges.
anywhere = st.sampled_from(CENTRES).flatmap(lambda c: points(c))
#: Fix times relative to now: fresh, exactly at the TTL's edge, just past it, in the future.
AGES = [0.0, 0.5, 30.0, TTL, TTL + 0.5, -5.0]


class Model:
    """The dict every index must agree with."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.drivers: dict[str, Record] = {}

    def live(self) -> dict[str, Record]:
        cutoff = self.clock() - TTL
        return {d: r for d, r in self.drivers.items() if not r[3] < cutoff}

    def upsert(self, d: str, lat: float, lon: float, available: bool | None, at: float) -> None:
        old = self.live().get(d)
        flag = (True if old is None else old[2]) if available is None else available
        self.drivers[d] = (lat, -180.0 if lon == 180.0 else lon, flag, at)

    def ranked(
        self, lat: float, lon: float, radius: float, available_only: bool
    ) -> list[tuple[float, str]]:
        lon = -180.0 if lon == 180.0 else lon
        found = []
        for d, (d_lat, d_lon, available, _) in self.live().items():
            if available or not available_only:
                dist = _haversine_m(lat, lon, d_lat, d_lon)
                if dist <= radius:
                    found.append((dist, d))
        return sorted(found)


def snapshot(index: DriverIndex) -> dict[str, Record]:
    out = {}
    for d in IDS:
        state = index.get(d)
        if state is not None:
            out[d] = (state.lat, state.lon, state.available, state.at)
    return out


def check_buckets(index: DriverIndex) -> None:
    """A cell index's buckets hold exactly its driver table, each driver in its own cell."""
    if isinstance(index, BucketIndex):
        table = index._live.drivers
        held = {(key, d): rec for key, bucket in index._cells.items() for d, rec in bucket.items()}
        assert held == {(rec[4], d): rec for d, rec in table.items()}
        assert all(index._cells.values()), "an empty bucket was left behind"


class IndexMachine(RuleBasedStateMachine):
    """Drives a set of indexes (made by :meth:`make`) and the model with the same calls."""

    def make(self, clock: ManualClock) -> list[DriverIndex]:
        raise NotImplementedError

    def place(self, p: tuple[float, float]) -> tuple[float, float]:
        """Where a drawn point goes (Redis keeps latitudes within ±85.05 degrees)."""
        return p

    def stored(self) -> object:
        """What the indexes hold, read without expiring anyone (a refused call changes none)."""
        return [dict(index._live.drivers) for index in self.indexes]  # type: ignore[attr-defined]

    @initialize()
    def start(self) -> None:
        self.clock = ManualClock(start=1000.0)
        self.model = Model(self.clock)
        self.indexes = self.make(self.clock)

    # -- writes ----------------------------------------------------------------------------

    @rule(
        d=st.sampled_from(IDS),
        p=anywhere,
        available=st.sampled_from([None, None, True, False]),
        age=st.sampled_from([None, None, *AGES]),
    )
    def upsert(
        self, d: str, p: tuple[float, float], available: bool | None, age: float | None
    ) -> None:
        at = None if age is None else self.clock() - age
        p = self.place(p)
        for index in self.indexes:
            index.upsert(d, p[0], p[1], available=available, at=at)
        self.model.upsert(d, p[0], p[1], available, self.clock() if at is None else at)

    @rule(
        rows=st.lists(st.tuples(st.sampled_from(IDS), anywhere), max_size=6),
        available=st.booleans(),
        age=st.sampled_from([None, 0.0, TTL, TTL + 0.5]),
    )
    def bulk_load(
        self, rows: list[tuple[str, tuple[float, float]]], available: bool, age: float | None
    ) -> None:
        at = None if age is None else self.clock() - age
        flat = [(d, *self.place(p)) for d, p in rows]
        for index in self.indexes:
            if isinstance(index, BucketIndex):
                index.bulk_load(flat, available=available, at=at)
            else:
                for d, lat, lon in flat:
                    index.upsert(d, lat, lon, available=available, at=at)
        for d, lat, lon in flat:
            self.model.upsert(d, lat, lon, available, self.clock() if at is None else at)

    @rule(d=st.sampled_from(IDS))
    def remove(self, d: str) -> None:
        expected = d in self.model.live()
        for index in self.indexes:
            assert index.remove(d) is expected, (index, d)
        self.model.drivers.pop(d, None)

    @rule(d=st.sampled_from(IDS), available=st.booleans())
    def set_available(self, d: str, available: bool) -> None:
        live = self.model.live()
        before = self.stored()
        for index in self.indexes:
            if d in live:
                index.set_available(d, available)
            else:
                with pytest.raises(DriverNotFound):
                    index.set_available(d, available)
        if d not in live:  # refused: nothing changed, and nobody expired
            assert self.stored() == before
        if d in live:
            lat, lon, _, at = live[d]
            self.model.drivers[d] = (lat, lon, available, at)

    @rule(
        call=st.sampled_from(
            [
                ("upsert", ("a", 91.0, 0.0)),
                ("upsert", ("a", math.nan, 0.0)),
                ("upsert", ("", 1.0, 2.0)),
                ("upsert", ("a", 1.0, 180.5)),
                ("set_available", ("a", "yes")),
                ("set_available", (7, True)),
                ("remove", ("",)),
                ("nearest", (0.0, 0.0, 0)),
                ("within", (0.0, 0.0, -1.0)),
                ("get", ("",)),
            ]
        )
    )
    def refused(self, call: tuple[str, tuple[object, ...]]) -> None:
        """A refused call raises GeoError and changes nothing (it expires nobody either)."""
        name, args = call
        before = self.stored()
        for index in self.indexes:
            with pytest.raises(GeoError):
                getattr(index, name)(*args)
        assert self.stored() == before

    # -- the clock ---------------------------------------------------------------------------

    @rule(seconds=st.sampled_from([0.5, 1.0, 29.5, TTL, TTL + 0.5]))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: bool(self.model.live()))
    @rule(data=st.data(), past=st.booleans())
    def wait_until_expiry(self, data: st.DataObject, past: bool) -> None:
        """The clock to exactly a driver's last live moment, or the first moment after it."""
        d = data.draw(st.sampled_from(sorted(self.model.live())))
        edge = self.model.live()[d][3] + TTL
        if edge > self.clock():
            self.clock.set(math.nextafter(edge, math.inf) if past else edge)

    # -- reads -------------------------------------------------------------------------------

    @rule(
        p=anywhere,
        k=st.integers(1, 7),
        radius=st.sampled_from([None, None, 0.0, 50.0, 5_000.0, 3_000_000.0]),
        available_only=st.booleans(),
    )
    def nearest(
        self, p: tuple[float, float], k: int, radius: float | None, available_only: bool
    ) -> None:
        limit = math.inf if radius is None else radius
        p = self.place(p)
        expected = self.model.ranked(p[0], p[1], limit, available_only)[:k]
        for index in self.indexes:
            got = index.nearest(p[0], p[1], k, max_radius_m=radius, available_only=available_only)
            assert [tuple(m) for m in got] == expected, index

    @rule(
        p=anywhere,
        radius=st.sampled_from([0.0, 10.0, 5_000.0, 300_000.0, 2_500_000.0, 3e7]),
        available_only=st.booleans(),
    )
    def within(self, p: tuple[float, float], radius: float, available_only: bool) -> None:
        p = self.place(p)
        expected = self.model.ranked(p[0], p[1], radius, available_only)
        for index in self.indexes:
            got = index.within(p[0], p[1], radius, available_only=available_only)
            assert [tuple(m) for m in got] == expected, index

    @rule()
    def same_drivers(self) -> None:
        """A rule, not an invariant: reads expire stale drivers, and other calls must meet
        drivers whose time has passed but that no read has expired yet."""
        live = self.model.live()
        for index in self.indexes:
            assert snapshot(index) == live, index
            assert len(index) == len(live), index
            assert all((d in index) is (d in live) for d in IDS), index
            check_buckets(index)


class MemoryIndexes(IndexMachine):
    def make(self, clock: ManualClock) -> list[DriverIndex]:
        return [
            BruteForceIndex(ttl=TTL, clock=clock),
            GeohashIndex(ttl=TTL, clock=clock),
            GeohashIndex(1, ttl=TTL, clock=clock),
            GeohashIndex(4, ttl=TTL, clock=clock),
            QuadTreeIndex(capacity=2, ttl=TTL, clock=clock),
            H3Index(ttl=TTL, clock=clock),
            H3Index(0, ttl=TTL, clock=clock),
            H3Index(4, ttl=TTL, clock=clock),
        ]


MemoryIndexes.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_memory_indexes_follow_the_model = MemoryIndexes.TestCase

_keys = itertools.count()


@pytest.mark.redis
def test_redis_index_follows_the_model(live_redis_url: Callable[[], str]) -> None:
    import redis

    client = redis.Redis.from_url(live_redis_url())
    made: list[RedisGeoIndex] = []

    class RedisIndexes(IndexMachine):
        def make(self, clock: ManualClock) -> list[DriverIndex]:
            index = RedisGeoIndex(client, key=f"seq:{next(_keys)}", ttl=TTL, clock=clock)
            made.append(index)
            return [index]

        def place(self, p: tuple[float, float]) -> tuple[float, float]:
            return max(-85.0, min(85.0, p[0])), p[1]

        def stored(self) -> object:
            """The four keys as stored (reading them expires nobody, unlike ``get``)."""
            index = self.indexes[0]
            assert isinstance(index, RedisGeoIndex)
            return [
                client.zrange(index._all, 0, -1, withscores=True),
                client.zrange(index._free, 0, -1, withscores=True),
                client.hgetall(index._meta),
                client.zrange(index._at, 0, -1, withscores=True),
            ]

    RedisIndexes.TestCase.settings = settings(
        max_examples=20,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    try:
        RedisIndexes.TestCase().runTest()
    finally:
        for index in made:
            index.clear()
        client.close()
