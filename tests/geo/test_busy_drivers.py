"""A location update never frees a busy driver, and the dispatcher never gives one driver to two
riders, whoever writes to the index.

Every index's ``upsert`` without ``available`` keeps a live driver's flag (a new or stale driver
comes in free); a model of flags and fix times is the oracle. The dispatcher skips (and marks
busy again) a driver an index write made free while it still has a rider.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import (
    BruteForceIndex,
    Dispatcher,
    DriverIndex,
    DriverNotFound,
    GeoError,
    GeohashIndex,
    H3Index,
    QuadTreeIndex,
    RedisGeoIndex,
)

Factory = Callable[[ManualClock], DriverIndex]
_keys = itertools.count()

MEMORY: dict[str, Factory] = {
    "brute": lambda c: BruteForceIndex(clock=c),
    "geohash": lambda c: GeohashIndex(clock=c),
    "quadtree": lambda c: QuadTreeIndex(capacity=2, clock=c),
    "h3": lambda c: H3Index(clock=c),
}


@pytest.fixture(params=[*MEMORY, "redis"])
def make(request: pytest.FixtureRequest) -> Iterator[Factory]:
    if request.param != "redis":
        yield MEMORY[request.param]
        return
    import redis

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield lambda c: RedisGeoIndex(client, key=f"busy:{next(_keys)}", clock=c)
    client.close()


def test_an_update_without_a_flag_keeps_the_drivers_flag(make: Factory) -> None:
    clock = ManualClock()
    index = make(clock)
    index.upsert("d7", 40.7580, -73.9855)  # new: available
    state = index.get("d7")
    assert state is not None and state.available
    index.set_available("d7", False)
    index.upsert("d7", 40.7581, -73.9855)  # the busy driver's phone reports a new position
    state = index.get("d7")
    assert state is not None and not state.available and state.lat == 40.7581
    assert index.nearest(40.7585, -73.9855, 1) == []
    index.upsert("d7", 40.7582, -73.9855, at=5.0)  # with a fix time of its own, too
    state = index.get("d7")
    assert state is not None and not state.available and state.at == 5.0
    index.upsert("d7", 40.7583, -73.9855, available=True)  # an explicit flag still sets it
    assert [m.driver_id for m in index.nearest(40.7585, -73.9855, 1)] == ["d7"]
    index.upsert("d7", 40.7584, -73.9855, available=False)
    index.upsert("d7", 40.7585, -73.9855, available=None)
    state = index.get("d7")
    assert state is not None and not state.available


def test_a_stale_busy_driver_comes_back_free(make: Factory) -> None:
    """Stale is unknown: its old flag is not kept, even before anything has expired it."""
    clock = ManualClock()
    index = make(clock)
    index.upsert("d7", 40.7580, -73.9855, available=False)
    clock.advance(61.0)  # past the 60 s TTL, and nothing has read the index since
    index.upsert("d7", 40.7581, -73.9855)
    state = index.get("d7")
    assert state is not None and state.available


# A step: ("move", id, flag or None), ("busy"/"free", id), ("remove", id), ("wait", seconds),
# ("claim"/"unclaim", id, token).
steps = st.lists(
    st.one_of(
        st.tuples(st.just("move"), st.sampled_from("abc"), st.sampled_from([None, True, False])),
        st.tuples(st.sampled_from(["busy", "free", "remove"]), st.sampled_from("abc")),
        st.tuples(st.just("wait"), st.sampled_from([1.0, 30.0, 59.0, 61.0])),
        st.tuples(
            st.sampled_from(["claim", "unclaim"]), st.sampled_from("abc"), st.sampled_from("xy")
        ),
    ),
    max_size=25,
)


def run_against_model(
    index: DriverIndex, clock: ManualClock, plan: list[tuple[object, ...]]
) -> None:
    """Apply ``plan`` to ``index`` and to a dict of (flag, fix time) and one of claim tokens;
    they must agree throughout. A claim holds until a flag is written (or the driver leaves);
    a move that keeps the flag keeps it."""
    model: dict[str, tuple[bool, float]] = {}
    claims: dict[str, str] = {}

    def live(d: str) -> bool:
        return d in model and model[d][1] >= clock() - 60.0

    for n, step in enumerate(plan):
        op, d = step[0], step[1]
        if op == "wait":
            clock.advance(d)  # type: ignore[arg-type]
        elif op == "move":
            flag = step[2]
            index.upsert(d, 40.0 + n * 1e-5, -74.0, available=flag)  # type: ignore[arg-type]
            kept = model[d][0] if live(d) else True  # type: ignore[index]
            if flag is not None or not live(d):  # type: ignore[arg-type]
                claims.pop(d, None)  # type: ignore[arg-type]
            model[d] = (kept if flag is None else flag, clock())  # type: ignore[index,assignment]
        elif op == "remove":
            assert index.remove(d) == live(d)  # type: ignore[arg-type]
            model.pop(d, None)  # type: ignore[arg-type]
            claims.pop(d, None)  # type: ignore[arg-type]
        elif op == "claim":
            if not live(d):  # type: ignore[arg-type]
                with pytest.raises(DriverNotFound):
                    index.claim(d, step[2])  # type: ignore[arg-type]
            else:
                free = model[d][0]  # type: ignore[index]
                assert index.claim(d, step[2]) == free  # type: ignore[arg-type]
                if free:
                    model[d] = (False, model[d][1])  # type: ignore[index]
                    claims[d] = step[2]  # type: ignore[index]
        elif op == "unclaim":
            holds = live(d) and claims.get(d) == step[2]  # type: ignore[arg-type]
            assert index.unclaim(d, step[2]) == holds  # type: ignore[arg-type]
            if holds:
                model[d] = (True, model[d][1])  # type: ignore[index]
                del claims[d]  # type: ignore[arg-type]
        elif live(d):  # type: ignore[arg-type]
            index.set_available(d, op == "free")  # type: ignore[arg-type]
            model[d] = (op == "free", model[d][1])  # type: ignore[index]
            claims.pop(d, None)  # type: ignore[arg-type]
        for driver in "abc":
            state = index.get(driver)
            expected = model[driver][0] if live(driver) else None
            assert (None if state is None else state.available) == expected, (driver, step)


@settings(max_examples=60)
@given(steps)
def test_memory_indexes_keep_flags_as_the_model_says(plan: list[tuple[object, ...]]) -> None:
    for factory in MEMORY.values():
        clock = ManualClock()
        run_against_model(factory(clock), clock, plan)


@pytest.mark.redis
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps)
def test_redis_index_keeps_flags_as_the_model_says(
    live_redis_url: Callable[[], str], plan: list[tuple[object, ...]]
) -> None:
    import redis

    client = redis.Redis.from_url(live_redis_url())
    clock = ManualClock()
    index = RedisGeoIndex(client, key=f"model:{next(_keys)}", clock=clock)
    try:
        run_against_model(index, clock, plan)
    finally:
        index.clear()
        client.close()


def test_a_moving_busy_driver_is_not_given_to_a_second_rider(make: Factory) -> None:
    index = make(ManualClock())
    index.upsert("d7", 40.7580, -73.9855)
    dispatcher = Dispatcher(index)
    first = dispatcher.request("rider-1", 40.7585, -73.9855)
    assert first is not None and first.driver_id == "d7"
    index.upsert("d7", 40.7581, -73.9855)  # a location update of the busy driver
    assert dispatcher.request("rider-2", 40.7585, -73.9855) is None
    dispatcher.release("d7")
    assert list(dispatcher.assignments) == []
    again = dispatcher.request("rider-1", 40.7585, -73.9855)
    assert again is not None and again.driver_id == "d7"


def test_a_driver_freed_by_an_index_write_stays_with_its_rider(make: Factory) -> None:
    """Even an explicit available=True from another writer does not give the driver away: the
    dispatcher passes it over, marks it busy again and takes the next one."""
    index = make(ManualClock())
    index.upsert("d7", 40.7580, -73.9855)
    index.upsert("d8", 40.7680, -73.9855)
    dispatcher = Dispatcher(index)
    first = dispatcher.request("rider-1", 40.7585, -73.9855)
    assert first is not None and first.driver_id == "d7"
    index.upsert("d7", 40.7581, -73.9855, available=True)
    second = dispatcher.request("rider-2", 40.7585, -73.9855)
    assert second is not None and second.driver_id == "d8"
    state = index.get("d7")
    assert state is not None and not state.available
    assert dispatcher.assignments["rider-1"].driver_id == "d7"
    assert dispatcher.request("rider-3", 40.7585, -73.9855) is None
    dispatcher.release("d7")
    dispatcher.release("d8")
    assert list(dispatcher.assignments) == []


ENDINGS: dict[str, Callable[[DriverIndex, ManualClock], None]] = {
    "freed": lambda i, c: i.set_available("d7", True),
    "marked busy": lambda i, c: i.set_available("d7", False),
    "moved with a flag": lambda i, c: i.upsert("d7", 40.0, -74.0, available=False),
    "removed and back": lambda i, c: (i.remove("d7"), i.upsert("d7", 40.0, -74.0)),
    "stale and back": lambda i, c: (c.advance(61.0), i.upsert("d7", 40.0, -74.0)),
    "stale and back busy": lambda i, c: (
        c.advance(61.0),
        i.upsert("d7", 40.0, -74.0, available=False),
    ),
    "freed and claimed again": lambda i, c: (
        i.set_available("d7", True),
        i.claim("d7", "other"),
    ),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_an_unclaim_frees_a_driver_only_while_its_claim_holds(make: Factory, ending: str) -> None:
    clock = ManualClock()
    index = make(clock)
    index.upsert("d7", 40.0, -74.0)
    assert index.claim("d7", "mine") and not index.claim("d7", "other")  # a compare-and-set
    index.upsert("d7", 40.0001, -74.0)  # a location update keeps flag and claim
    ENDINGS[ending](index, clock)
    before = index.get("d7")
    assert not index.unclaim("d7", "mine")
    assert index.get("d7") == before


def test_an_unclaim_frees_a_driver_its_claim_still_holds(make: Factory) -> None:
    index = make(ManualClock())
    index.upsert("d7", 40.0, -74.0)
    assert index.claim("d7", "mine")
    index.upsert("d7", 40.0001, -74.0)
    assert not index.unclaim("d7", "other")
    assert index.unclaim("d7", "mine")
    assert index.get("d7").available  # type: ignore[union-attr]
    assert not index.unclaim("d7", "mine")  # once


@pytest.mark.parametrize("cls", [GeohashIndex, H3Index])
def test_a_bulk_load_ends_the_claims_of_its_drivers(cls: type[GeohashIndex]) -> None:
    index = cls(clock=ManualClock())
    index.upsert("d7", 40.0, -74.0)
    assert index.claim("d7", "mine")
    index.bulk_load([("d7", 40.0, -74.0)], available=False)
    assert not index.unclaim("d7", "mine")
    assert not index.get("d7").available  # type: ignore[union-attr]


def test_claim_refuses_an_unknown_driver_and_a_bad_token(make: Factory) -> None:
    index = make(ManualClock())
    with pytest.raises(DriverNotFound):
        index.claim("nobody", "mine")
    index.upsert("d7", 40.0, -74.0)
    for bad in ["", 7, None, "é"]:
        with pytest.raises(GeoError, match="token="):
            index.claim("d7", bad)  # type: ignore[arg-type]
        with pytest.raises(GeoError, match="token="):
            index.unclaim("d7", bad)  # type: ignore[arg-type]
    assert index.get("d7").available  # type: ignore[union-attr]
