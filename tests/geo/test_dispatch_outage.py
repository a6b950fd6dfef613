"""A claim that fails after the store applied it does not lose the driver.

``Dispatcher.request`` marks the driver it found busy (the claim), then records the rider. When
the claim's reply is lost (Redis applied it, the answer never came), the request raises; the
driver used to stay busy with no rider, passed over by every search for good, since a location
update keeps a live driver's flag. The dispatcher now undoes such a claim, at once if the
store answers, else before the next request's search; the undo frees the driver only if that
claim still holds it, so it never frees a driver another dispatch server sharing the fleet (or
the driver itself) has taken since.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import Dispatcher, GeoUnavailable, RedisGeoIndex
from designpatterns_ref.geo.base import Match

pytestmark = pytest.mark.redis
_keys = itertools.count()


class LostReplies(RedisGeoIndex):
    """A Redis index whose next flag writes (``claim``, ``unclaim``, ``set_available``) fail:
    ``applied`` ones reach the server before the reply is lost, the others never reach it (the
    server down)."""

    failures: list[bool]

    def _write(self, call: Any) -> Any:
        if self.failures:
            if self.failures.pop(0):
                call()
            raise GeoUnavailable("the server did not answer in time")
        return call()

    def set_available(self, driver_id: str, available: bool) -> None:
        self._write(lambda: super(LostReplies, self).set_available(driver_id, available))

    def claim(self, driver_id: str, token: str) -> bool:
        return bool(self._write(lambda: super(LostReplies, self).claim(driver_id, token)))

    def unclaim(self, driver_id: str, token: str) -> bool:
        return bool(self._write(lambda: super(LostReplies, self).unclaim(driver_id, token)))


@pytest.fixture
def index(redis_url: str) -> Iterator[LostReplies]:
    import redis

    client = redis.Redis.from_url(redis_url)
    made = LostReplies(client, key=f"outage:{next(_keys)}", clock=ManualClock())
    made.failures = []
    yield made
    made.clear()
    client.close()


def test_a_claim_whose_reply_is_lost_frees_the_driver_again(index: Any) -> None:
    dispatcher = Dispatcher(index)
    dispatcher.update("d1", 40.0, -74.0)
    index.failures = [True]  # the claim is applied, its reply lost
    with pytest.raises(GeoUnavailable):
        dispatcher.request("r1", 40.0, -74.0)
    assert dispatcher.assignments == {}
    state = index.get("d1")
    assert state is not None and state.available  # not left busy with no rider
    dispatcher.update("d1", 40.0, -74.0)
    got = dispatcher.request("r2", 40.0, -74.0)
    assert got is not None and got.driver_id == "d1"


def test_a_driver_whose_claim_failed_is_freed_before_the_next_search(index: Any) -> None:
    dispatcher = Dispatcher(index)
    dispatcher.update("d1", 40.0, -74.0)
    dispatcher.update("d2", 40.0, -74.001)
    index.failures = [True, False]  # the claim applied, then the server down for the undo
    with pytest.raises(GeoUnavailable):
        dispatcher.request("r1", 40.0, -74.0)
    state = index.get("d1")
    assert state is not None and not state.available  # busy for now: nobody could free it
    dispatcher.update("d1", 40.0, -74.0)  # its phone reports: the flag is kept
    got = dispatcher.request("r2", 40.0, -74.0)  # the server is back
    assert got is not None and got.driver_id == "d1"  # freed first, so the nearest again
    assert dispatcher.request("r3", 40.0, -74.0).driver_id == "d2"  # type: ignore[union-attr]
    dispatcher.release("d1")
    assert index.get("d1").available  # type: ignore[union-attr]


def test_a_driver_with_a_rider_is_never_freed_by_a_failed_claim(index: Any) -> None:
    dispatcher = Dispatcher(index)
    dispatcher.update("d1", 40.0, -74.0)
    assert dispatcher.request("r1", 40.0, -74.0).driver_id == "d1"  # type: ignore[union-attr]
    index.upsert("d1", 40.0, -74.0, available=True)  # another writer frees it by mistake
    index.failures = [True]  # marking it busy again is applied, the reply lost
    with pytest.raises(GeoUnavailable):
        dispatcher.request("r2", 40.0, -74.0)
    assert not index.get("d1").available  # type: ignore[union-attr]
    assert dispatcher.assignments["r1"].driver_id == "d1"


@pytest.fixture
def second(index: Any) -> Iterator[RedisGeoIndex]:
    """Another dispatch server's view of the same fleet (same keys, same clock)."""
    made = RedisGeoIndex(index._client, key=index.key, clock=index._live.clock)
    yield made


@pytest.mark.parametrize("applied", [False, True])
def test_an_undo_never_frees_a_driver_another_dispatcher_took(
    index: Any, second: RedisGeoIndex, applied: bool
) -> None:
    a, b = Dispatcher(index), Dispatcher(second)
    b.update("d1", 40.0, -74.0)
    index.failures = [applied, False]  # the claim (applied or not), then its undo, both fail
    with pytest.raises(GeoUnavailable):
        a.request("r1", 40.0, -74.0)
    got = b.request("r2", 40.0, -74.0)
    if applied:  # A's claim holds d1 until A undoes it
        assert got is None
        got = a.request("r3", 40.0, -74.0)  # the undo, then the search: A gets it back
        assert got is not None and got.driver_id == "d1"
        assert b.request("r4", 40.0, -74.0) is None
    else:  # A's claim never reached the server: d1 was free for B
        assert got is not None and got.driver_id == "d1"
        assert a.request("r3", 40.0, -74.0) is None  # not d1 again: it is B's
    state = index.get("d1")
    assert state is not None and not state.available
    owners = [d.assignments for d in (a, b)]
    assert sum(1 for o in owners for x in o.values() if x.driver_id == "d1") == 1


@pytest.mark.parametrize("applied", [False, True])
def test_an_undo_never_frees_a_driver_that_marked_itself_busy(
    index: Any, second: RedisGeoIndex, applied: bool
) -> None:
    a = Dispatcher(index)
    a.update("d1", 40.0, -74.0)
    index.failures = [applied, False]
    with pytest.raises(GeoUnavailable):
        a.request("r1", 40.0, -74.0)
    second.set_available("d1", False)  # the driver goes off duty through the shared index
    assert a.request("r2", 40.0, -74.0) is None
    assert not index.get("d1").available  # type: ignore[union-attr]


def test_a_location_update_keeps_the_claim_an_undo_settles(index: Any) -> None:
    a = Dispatcher(index)
    a.update("d1", 40.0, -74.0)
    index.failures = [True, False]  # the claim applied, the undo down
    with pytest.raises(GeoUnavailable):
        a.request("r1", 40.0, -74.0)
    index.upsert("d1", 40.0, -74.0001)  # its phone reports straight to the index
    got = a.request("r2", 40.0, -74.0)
    assert got is not None and got.driver_id == "d1"


class Racing(RedisGeoIndex):
    """An index whose next search lets another dispatcher run before the claim."""

    meanwhile: Any = None

    def nearest(self, *args: Any, **kwargs: Any) -> list[Match]:
        found = super().nearest(*args, **kwargs)
        if self.meanwhile is not None:
            run, self.meanwhile = self.meanwhile, None
            run()
        return found


def test_two_dispatchers_never_claim_one_driver(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    key, clock = f"race:{next(_keys)}", ManualClock()
    racing = Racing(client, key=key, clock=clock)
    other = RedisGeoIndex(client, key=key, clock=clock)
    try:
        a, b = Dispatcher(racing), Dispatcher(other)
        b.update("d1", 40.0, -74.0)
        b.update("d2", 40.0, -74.01)
        taken: list[Any] = []
        racing.meanwhile = lambda: taken.append(b.request("r2", 40.0, -74.0))
        got = a.request("r1", 40.0, -74.0)  # found d1; B took it before A's claim
        assert taken[0] is not None and taken[0].driver_id == "d1"
        assert got is not None and got.driver_id == "d2"
    finally:
        racing.clear()
        client.close()
