"""A release frees a driver only through the claim that gave it its rider.

``Dispatcher.release`` used to free the driver with a plain ``set_available(True)``. With two
dispatchers sharing one index, a driver freed meanwhile (its app reports it free, or it went
stale and came back) and claimed by the other dispatcher was freed by the first one's late
release, in the middle of the other rider's trip, and given to a third rider. The release now
goes through ``index.unclaim`` with its trip's token: once the claim has ended, it changes
nothing in the index (and returns False).

The oracle is a model of flags, claims and assignments: a driver is free only if no claim holds
it, a release frees it only if its own dispatcher's claim still does.

A driver on a trip that comes back (after going stale or being removed) is claimed again by
``Dispatcher.update`` in the same step as its location update (``upsert(..., claim=token)``). As
two calls, another dispatcher could claim it in between, and an update applied but whose reply
was lost left it free: the tests at the end act between the update's writes and lose its reply.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import (
    Assignment,
    Dispatcher,
    DriverIndex,
    DriverState,
    GeoError,
    GeoUnavailable,
    Match,
    RedisGeoIndex,
)

from .test_busy_drivers import MEMORY
from .test_dispatch_outage import LostReplies

_keys = itertools.count()
TTL = 60.0
DRIVERS = ["d0", "d1"]
#: Each driver's spot, nearest first from the riders' (40.0, -74.0).
SPOTS = {d: (40.0, -74.0 - 0.001 * i) for i, d in enumerate(DRIVERS)}
WHO = ["a", "b"]

# A step: ("request", who), ("release", who, n: which of its drivers), ("update", who, driver),
# ("free"/"busy", driver) by another writer, ("remove", who, driver), ("wait", seconds).
# Requests, releases and frees, which make the stale releases, come more often than the rest.
_request = st.tuples(st.just("request"), st.sampled_from(WHO))
_release = st.tuples(st.just("release"), st.sampled_from(WHO), st.sampled_from([0, 1]))
_free = st.tuples(st.just("free"), st.sampled_from(DRIVERS))
steps = st.lists(
    st.one_of(
        _request,
        _release,
        _free,
        _request,
        _release,
        _free,
        _request,
        st.tuples(
            st.sampled_from(["update", "remove"]), st.sampled_from(WHO), st.sampled_from(DRIVERS)
        ),
        st.tuples(st.just("busy"), st.sampled_from(DRIVERS)),
        st.tuples(st.just("wait"), st.sampled_from([30.0, TTL + 1.0])),
    ),
    min_size=4,
    max_size=30,
)
#: The first stale release found: A's rider's driver, freed by its app, given to B's rider.
STALE_RELEASE = [("request", "a"), ("free", "d0"), ("request", "b"), ("release", "a", 0)]


def run_against_model(
    indexes: dict[str, DriverIndex], clock: ManualClock, plan: list[tuple[Any, ...]]
) -> None:
    """Two dispatchers, ``a`` and ``b``, over one fleet (``indexes[who]`` are views of it)."""
    dispatchers = {who: Dispatcher(indexes[who]) for who in WHO}
    writer = indexes["a"]
    free: dict[str, bool] = {}  # live drivers -> flag
    claim: dict[str, str] = {}  # driver -> the dispatcher whose claim holds it
    held: dict[str, dict[str, str]] = {who: {} for who in WHO}  # who -> driver -> rider
    fixed: dict[str, float] = {}  # driver -> time of its last fix
    riders = itertools.count()
    for d in DRIVERS:
        dispatchers["a"].update(d, *SPOTS[d])
        free[d], fixed[d] = True, clock()

    def check(step: tuple[Any, ...]) -> None:
        for d in DRIVERS:
            state = writer.get(d)
            assert (None if state is None else state.available) == free.get(d), (d, step)
        for who in WHO:
            got_held = {a.driver_id: r for r, a in dispatchers[who].assignments.items()}
            assert got_held == held[who], (who, step)

    for step in plan:
        op = step[0]
        if op == "request":
            who = step[1]
            rider = f"r{next(riders)}"
            expected = None
            for d in DRIVERS:  # nearest first
                if not free.get(d, False):
                    continue
                free[d], claim[d] = False, who  # claimed, or a driver on a trip re-marked
                if d not in held[who]:
                    expected = d
                    held[who][d] = rider
                    break
            got = dispatchers[who].request(rider, 40.0, -74.0)
            assert (None if got is None else got.driver_id) == expected, step
        elif op == "release":  # one of who's drivers (the n-th), else any: refused
            who, n = step[1], step[2]
            mine = sorted(held[who])
            d = mine[n % len(mine)] if mine else DRIVERS[n]
            if d not in held[who]:
                with pytest.raises(GeoError, match="no assignment"):
                    dispatchers[who].release(d)
                continue
            holds = claim.get(d) == who
            freed = dispatchers[who].release(d)
            if holds:
                free[d] = True
                del claim[d]
            del held[who][d]
            check(step)
            assert freed is holds, step  # after the state, which tells more
            continue
        elif op == "update":  # the driver's phone reports through dispatcher ``who``
            who, d = step[1], step[2]
            dispatchers[who].update(d, *SPOTS[d])
            if d not in free:  # new (after going stale or being removed): free, no claim
                free[d] = True
            fixed[d] = clock()
            if d in held[who] and free[d]:  # on one of who's trips: claimed again
                free[d], claim[d] = False, who
        elif op == "remove":
            who, d = step[1], step[2]
            assert dispatchers[who].remove(d) is (d in free)
            free.pop(d, None)
            claim.pop(d, None)
        elif op == "wait":
            clock.advance(step[1])
            for d in [d for d in free if fixed[d] < clock() - TTL]:
                del free[d]
                claim.pop(d, None)
        elif step[1] in free:  # another writer sets the flag: it ends any claim
            d = step[1]
            writer.set_available(d, op == "free")
            free[d] = op == "free"
            claim.pop(d, None)
        check(step)


@settings(max_examples=80, deadline=None)
@given(plan=steps)
@example(plan=STALE_RELEASE)
def test_a_release_frees_only_a_driver_its_claim_holds_in_memory(
    plan: list[tuple[Any, ...]],
) -> None:
    for factory in MEMORY.values():
        clock = ManualClock()
        index = factory(clock)
        run_against_model({"a": index, "b": index}, clock, plan)


@pytest.mark.redis
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=steps)
@example(plan=STALE_RELEASE)
def test_a_release_frees_only_a_driver_its_claim_holds_on_redis(
    redis_url: str, plan: list[tuple[Any, ...]]
) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    clock, key = ManualClock(), f"release:{next(_keys)}"
    views = {who: RedisGeoIndex(client, key=key, ttl=TTL, clock=clock) for who in WHO}
    try:
        run_against_model(dict(views), clock, plan)
    finally:
        views["a"].clear()
        client.close()


@pytest.fixture(params=[*MEMORY, "redis"])
def views(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[DriverIndex, DriverIndex, ManualClock]]:
    """Two views of one fleet (the same in-memory index twice, or two clients of one Redis),
    with a TTL of ``TTL`` seconds on their clock."""
    clock = ManualClock()
    if request.param != "redis":
        index = MEMORY[request.param](clock)
        yield index, index, clock
        return
    import redis

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    key = f"release:{next(_keys)}"
    first = RedisGeoIndex(client, key=key, ttl=TTL, clock=clock)
    yield first, RedisGeoIndex(client, key=key, ttl=TTL, clock=clock), clock
    first.clear()
    client.close()


@pytest.fixture
def shared(
    views: tuple[DriverIndex, DriverIndex, ManualClock],
) -> tuple[DriverIndex, DriverIndex]:
    return views[0], views[1]


def test_a_late_release_never_frees_another_dispatchers_driver(
    shared: tuple[DriverIndex, DriverIndex],
) -> None:
    a, b = Dispatcher(shared[0]), Dispatcher(shared[1])
    a.update("d1", 40.0, -74.0)
    assert a.request("r1", 40.0, -74.0).driver_id == "d1"  # type: ignore[union-attr]
    shared[1].set_available("d1", True)  # its app reports the trip over
    assert b.request("r2", 40.0, -74.0).driver_id == "d1"  # type: ignore[union-attr]
    freed = a.release("d1")  # r1's end of trip, late: d1 is on r2's trip now
    assert a.assignments == {}
    assert not shared[0].get("d1").available  # type: ignore[union-attr]
    assert Dispatcher(shared[0]).request("r3", 40.0, -74.0) is None
    assert freed is False
    assert b.release("d1") is True
    assert shared[0].get("d1").available  # type: ignore[union-attr]


def test_a_driver_with_a_rider_that_comes_back_is_freed_by_its_release(
    shared: tuple[DriverIndex, DriverIndex],
) -> None:
    """Back after going offline, the driver is claimed again with its trip's token, so its
    release still frees it."""
    a = Dispatcher(shared[0])
    a.update("d1", 40.0, -74.0)
    assert a.request("r1", 40.0, -74.0).driver_id == "d1"  # type: ignore[union-attr]
    assert a.remove("d1")
    a.update("d1", 40.0, -74.0)  # back online, still on the trip
    assert not shared[1].get("d1").available  # type: ignore[union-attr]
    assert a.release("d1") is True
    assert shared[1].get("d1").available  # type: ignore[union-attr]


@pytest.mark.redis
def test_a_release_retried_after_a_lost_reply_frees_nobody_else(redis_url: str) -> None:
    """The release's write reached the server, its reply did not: the assignment is kept, the
    driver is free and another dispatcher takes it; the retry must not free it again."""
    import redis

    client = redis.Redis.from_url(redis_url)
    clock, key = ManualClock(), f"release:{next(_keys)}"
    lossy = LostReplies(client, key=key, clock=clock)
    lossy.failures = []
    other = RedisGeoIndex(client, key=key, clock=clock)
    try:
        a, b = Dispatcher(lossy), Dispatcher(other)
        a.update("d1", 40.0, -74.0)
        assert a.request("r1", 40.0, -74.0).driver_id == "d1"  # type: ignore[union-attr]
        lossy.failures = [True]
        with pytest.raises(GeoUnavailable):
            a.release("d1")
        assert a.assignments["r1"].driver_id == "d1"  # to be released again
        assert b.request("r2", 40.0, -74.0).driver_id == "d1"  # type: ignore[union-attr]
        freed = a.release("d1")
        assert not other.get("d1").available  # type: ignore[union-attr]
        assert b.assignments["r2"].driver_id == "d1"
        assert freed is False
    finally:
        other.clear()
        client.close()


@pytest.mark.redis
@pytest.mark.parametrize("applied", [False, True])
def test_a_driver_on_a_trip_whose_reclaim_failed_is_freed_by_its_release(
    redis_url: str, applied: bool
) -> None:
    """Another writer freed a driver on a trip; the next request marks it busy again (a new
    claim) and that claim's reply is lost. Applied or not, the trip's release frees it."""
    import redis

    client = redis.Redis.from_url(redis_url)
    lossy = LostReplies(client, key=f"release:{next(_keys)}", clock=ManualClock())
    lossy.failures = []
    try:
        a = Dispatcher(lossy)
        a.update("d1", 40.0, -74.0)
        assert a.request("r1", 40.0, -74.0).driver_id == "d1"  # type: ignore[union-attr]
        lossy.upsert("d1", 40.0, -74.0, available=True)  # freed by mistake
        lossy.failures = [applied]
        with pytest.raises(GeoUnavailable):
            a.request("r2", 40.0, -74.0)
        a.release("d1")
        assert lossy.get("d1").available  # type: ignore[union-attr]
        assert a.request("r3", 40.0, -74.0).driver_id == "d1"  # type: ignore[union-attr]
    finally:
        lossy.clear()
        client.close()


class Watched:
    """A view of an index that runs ``between()`` after each of its writes (where another
    dispatch server may act), and whose next writes listed in ``lost`` fail: ``True`` ones are
    applied before the reply is lost, the others never reach the index."""

    def __init__(self, index: DriverIndex) -> None:
        self.index = index
        self.between: Callable[[], object] | None = None
        self.lost: list[bool] = []

    def _write(self, call: Callable[[], Any]) -> Any:
        if self.lost:
            if self.lost.pop(0):
                call()
            raise GeoUnavailable("the server did not answer in time")
        got = call()
        if self.between is not None:
            self.between()
        return got

    def upsert(self, driver_id: str, lat: float, lon: float, **kw: Any) -> None:
        self._write(lambda: self.index.upsert(driver_id, lat, lon, **kw))

    def remove(self, driver_id: str) -> bool:
        return bool(self._write(lambda: self.index.remove(driver_id)))

    def set_available(self, driver_id: str, available: bool) -> None:
        self._write(lambda: self.index.set_available(driver_id, available))

    def claim(self, driver_id: str, token: str) -> bool:
        return bool(self._write(lambda: self.index.claim(driver_id, token)))

    def unclaim(self, driver_id: str, token: str) -> bool:
        return bool(self._write(lambda: self.index.unclaim(driver_id, token)))

    def get(self, driver_id: str) -> DriverState | None:
        return self.index.get(driver_id)

    def nearest(self, lat: float, lon: float, k: int = 10, **kw: Any) -> list[Match]:
        return self.index.nearest(lat, lon, k, **kw)

    def within(self, lat: float, lon: float, radius_m: float, **kw: Any) -> list[Match]:
        return self.index.within(lat, lon, radius_m, **kw)

    def __len__(self) -> int:
        return len(self.index)


def _leave(how: str, dispatcher: Dispatcher, clock: ManualClock) -> None:
    """Driver d1 goes offline in the middle of its trip."""
    if how == "stale":
        clock.advance(TTL + 1.0)  # its phone loses signal
    else:
        assert dispatcher.remove("d1")


@pytest.mark.parametrize("how", ["stale", "removed"])
def test_a_driver_on_a_trip_that_comes_back_is_never_free_for_another_dispatcher(
    views: tuple[DriverIndex, DriverIndex, ManualClock], how: str
) -> None:
    """The update that brings it back claims it again in the same step: another dispatcher
    that searches after any write of that update finds no driver."""
    first, second, clock = views
    watched = Watched(first)
    a, b = Dispatcher(watched), Dispatcher(second)
    a.update("d1", 40.0, -74.0)
    assert a.request("r1", 40.0, -74.0).driver_id == "d1"  # type: ignore[union-attr]
    _leave(how, a, clock)
    seen: list[Assignment | None] = []
    watched.between = lambda: seen.append(b.request(f"b{len(seen)}", 40.0, -74.0))
    a.update("d1", 40.0, -74.0)  # back, still on r1's trip
    watched.between = None
    assert seen
    assert b.assignments == {}
    assert not second.get("d1").available  # type: ignore[union-attr]
    assert a.release("d1") is True
    assert second.get("d1").available  # type: ignore[union-attr]


@pytest.mark.parametrize("applied", [True, False])
@pytest.mark.parametrize("how", ["stale", "removed"])
def test_an_update_whose_reply_is_lost_never_leaves_a_driver_on_a_trip_free(
    views: tuple[DriverIndex, DriverIndex, ManualClock], how: str, applied: bool
) -> None:
    """The update bringing back a driver on a trip fails, applied or not: no other dispatcher
    can take the driver, and the retry, applied twice or once, leaves it on its trip."""
    first, second, clock = views
    watched = Watched(first)
    a, b = Dispatcher(watched), Dispatcher(second)
    a.update("d1", 40.0, -74.0)
    assert a.request("r1", 40.0, -74.0).driver_id == "d1"  # type: ignore[union-attr]
    _leave(how, a, clock)
    watched.lost = [applied]
    with pytest.raises(GeoUnavailable):
        a.update("d1", 40.0, -74.0)
    assert b.request("r2", 40.0, -74.0) is None
    a.update("d1", 40.0, -74.0)  # the retry
    assert b.request("r3", 40.0, -74.0) is None
    assert a.release("d1") is True
    assert b.request("r4", 40.0, -74.0).driver_id == "d1"  # type: ignore[union-attr]


def test_a_claiming_upsert_claims_only_a_driver_that_would_come_out_free(
    views: tuple[DriverIndex, DriverIndex, ManualClock],
) -> None:
    """``upsert(..., claim=token)``: new, stale or free drivers come out busy under ``token``;
    a busy one keeps its flag and its own claim; with ``available`` it is refused unchanged."""
    index, _, clock = views
    index.upsert("stale", 40.0, -74.0)
    assert index.claim("stale", "t-old")
    clock.advance(TTL + 1.0)
    index.upsert("stale", 40.0, -74.0, claim="t-back")
    index.upsert("new", 40.0, -74.0, claim="t-new")
    index.upsert("free", 40.0, -74.0)
    index.upsert("free", 40.0, -74.001, claim="t-free")
    index.upsert("taken", 40.0, -74.0)
    assert index.claim("taken", "t-other")
    index.upsert("taken", 40.0, -74.0, claim="t-mine")
    for d in ("new", "free", "taken", "stale"):
        assert index.get(d) is not None and not index.get(d).available  # type: ignore[union-attr]
    assert not index.unclaim("taken", "t-mine")
    assert not index.unclaim("stale", "t-old")
    for d, token in [("new", "t-new"), ("free", "t-free"), ("taken", "t-other")]:
        assert index.unclaim(d, token), d
    assert index.unclaim("stale", "t-back")
    before = index.get("new")
    with pytest.raises(GeoError, match="claim"):
        index.upsert("new", 41.0, -74.0, available=True, claim="t")
    with pytest.raises(GeoError, match="claim"):
        index.upsert("new", 41.0, -74.0, claim="")
    assert index.get("new") == before


def test_an_index_whose_upsert_cannot_take_a_claim_is_refused_when_given() -> None:
    """An index written before ``upsert`` took ``claim=`` would fail at the first update of a
    driver on a trip (and lose it): the dispatcher refuses it at once, naming the keyword."""
    from designpatterns_ref.geo import Dispatcher, GeohashIndex, GeoTypeError

    class Older(GeohashIndex):
        def upsert(  # type: ignore[override]
            self, driver_id: str, lat: float, lon: float, *, available: bool | None = None,
            at: float | None = None,
        ) -> None:  # fmt: skip
            super().upsert(driver_id, lat, lon, available=available, at=at)

    with pytest.raises(GeoTypeError, match="upsert must take claim="):
        Dispatcher(Older())
    Dispatcher(GeohashIndex())  # the library's own indexes take it
