"""A refused call changes nothing: not even the lazy expiry of stale drivers; and a clock
reading that is not a finite number of seconds is refused before anything changes."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

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

Factory = Callable[[Callable[[], float]], DriverIndex]

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
    yield lambda c: RedisGeoIndex(client, key="refused", clock=c)
    client.close()


@pytest.mark.parametrize(
    "call",
    [
        lambda ix: ix.set_available(7, True),
        lambda ix: ix.set_available("", True),
        lambda ix: ix.set_available("\ud800", True),
        lambda ix: ix.set_available("nobody", True),
        lambda ix: ix.set_available("old", True),  # stale: unknown, as get says
        lambda ix: ix.set_available("new", "yes"),
        lambda ix: ix.get(7),
        lambda ix: ix.get("\ud800"),
        lambda ix: ix.remove(7),
        lambda ix: ix.upsert("\ud800", 10.0, 10.0),
        lambda ix: ix.upsert("d\udfff", 10.0, 10.0, available=True, at=50.0),
    ],
)
def test_a_refused_call_expires_no_stale_driver(
    make: Factory, call: Callable[[DriverIndex], object]
) -> None:
    """Expiry is lazy: a stale driver leaves at the next read. A refused call is no read: a
    clock set back afterwards still finds the driver (as it would with no call at all)."""
    clock = ManualClock()
    index = make(clock)
    index.upsert("old", 10.0, 10.0)
    index.upsert("new", 10.0, 10.001, at=50.0)
    clock.advance(61.0)  # "old" is past its 60 s TTL, and nothing has read the index since
    with pytest.raises((GeoError, KeyError)):
        call(index)
    clock.set(30.0, allow_backwards=True)
    assert index.get("old") is not None and len(index) == 2


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(91.0, 0.0), (math.nan, 0.0), (0.0, math.inf), ("40", 0.0), (0.0, None), (True, 0.0)],
)
def test_a_refused_request_expires_no_stale_driver(make: Factory, lat: Any, lon: Any) -> None:
    clock = ManualClock()
    index = make(clock)
    index.upsert("old", 10.0, 10.0)
    index.upsert("new", 10.0, 10.001, at=50.0)
    clock.advance(61.0)  # "old" is past its 60 s TTL, and nothing has read the index since
    dispatcher = Dispatcher(index)
    with pytest.raises(GeoError, match=r"lat=|lon="):
        dispatcher.request("rider", lat, lon)
    clock.set(30.0, allow_backwards=True)
    assert index.get("old") is not None and len(index) == 2
    assert dispatcher.assignments == {}


class Flaky:
    """A clock that reads ``ManualClock`` until told to return ``bad``."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.bad: object = None

    def __call__(self) -> Any:
        return self.clock() if self.bad is None else self.bad


def snapshot(index: DriverIndex) -> tuple[object, ...]:
    return (
        len(index),
        [index.get(d) for d in ("a", "b", "c", "x")],
        index.nearest(10.0, 10.0, 5, available_only=False),
    )


CALLS: list[Callable[[Any], object]] = [
    lambda ix: ix.upsert("x", 10.0, 10.0),
    lambda ix: ix.upsert("a", 10.0, 10.002),
    lambda ix: ix.get("a"),
    lambda ix: len(ix),
    lambda ix: "a" in ix,
    lambda ix: ix.nearest(10.0, 10.0, 3),
    lambda ix: ix.within(10.0, 10.0, 5_000.0),
    lambda ix: ix.remove("a"),
    lambda ix: ix.set_available("c", False),
]


@pytest.mark.parametrize(
    "bad",
    [math.nan, math.inf, -math.inf, True, "soon", pytest.param(10**400, id="10**400"), None],
)
@pytest.mark.parametrize("call", CALLS)
def test_a_bad_clock_reading_is_refused_and_changes_nothing(
    make: Factory, call: Callable[[Any], object], bad: object
) -> None:
    clock = Flaky()
    index = make(clock)
    index.upsert("a", 10.0, 10.0)
    index.upsert("b", 10.0, 10.001, available=False)
    clock.clock.advance(30.0)
    index.upsert("c", 10.001, 10.0)
    clock.clock.advance(31.0)  # "a" and "b" are stale, not yet expired
    clock.clock.set(59.0, allow_backwards=True)
    before = snapshot(index)
    clock.clock.advance(2.0)
    clock.bad = bad
    if bad is None:  # a good reading: the call runs (the control case)
        call(index)
        return
    with pytest.raises(GeoError, match=r"clock\(\) returned"):
        call(index)
    clock.bad = None
    clock.clock.set(59.0, allow_backwards=True)
    assert snapshot(index) == before


@pytest.mark.parametrize("name", ["geohash", "h3"])
@pytest.mark.parametrize("bad", [math.nan, "soon", pytest.param(10**400, id="10**400")])
def test_bulk_load_refuses_a_bad_clock_reading(name: str, bad: object) -> None:
    clock = Flaky()
    index = MEMORY[name](clock)
    index.upsert("a", 10.0, 10.0)
    clock.bad = bad
    with pytest.raises(GeoError, match=r"clock\(\) returned"):
        index.bulk_load([("x", 1.0, 1.0)])  # type: ignore[attr-defined]
    clock.bad = None
    assert len(index) == 1 and index.get("x") is None
