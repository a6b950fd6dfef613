"""A claim that fails after the store applied it does not lose the driver.

``Dispatcher.request`` marks the driver it found busy (the claim), then records the rider. When
the claim's reply is lost (Redis applied it, the answer never came), the request raises; the
driver used to stay busy with no rider, passed over by every search for good, since a location
update keeps a live driver's flag. The dispatcher now frees such a driver again, at once if the
store answers, else before the next request's search.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import Dispatcher, GeoUnavailable, RedisGeoIndex

pytestmark = pytest.mark.redis
_keys = itertools.count()


class LostReplies(RedisGeoIndex):
    """A Redis index whose next ``set_available`` calls fail: ``applied`` ones reach the server
    before the reply is lost, the others never reach it (the server down)."""

    failures: list[bool]

    def set_available(self, driver_id: str, available: bool) -> None:
        if self.failures:
            if self.failures.pop(0):
                super().set_available(driver_id, available)
            raise GeoUnavailable("the server did not answer in time")
        super().set_available(driver_id, available)


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
