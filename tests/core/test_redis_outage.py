"""A Redis outage costs each call a bounded time and raises the family's own error.

Each test runs its own server (the session's must survive): one killed, as a crash would, and
one frozen with SIGSTOP (it still accepts connections, never answers). The bound asserted is
generous (2 s, against a 0.25 s deadline): it catches redis-py's retries with backoff, which took
4 to 10 s per call, without timing anything tightly.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from designpatterns_ref.errors import DesignPatternsError
from designpatterns_ref.feed import FanoutOnWrite, FeedError, FeedUnavailable, RedisStore
from designpatterns_ref.geo import GeoError, GeoUnavailable, RedisGeoIndex
from designpatterns_ref.redisclient import DEFAULT_DEADLINE_S, bounded_client, check_deadline
from designpatterns_ref.shortcode import (
    RangeAllocator,
    RedisCounter,
    ShortCodeError,
    ShortCodeUnavailable,
)
from designpatterns_ref.testing import RedisServer, ServerUnavailable, redis_server

redis = pytest.importorskip("redis")

BOUND_S = 2.0  # generous: the deadline is 0.25 s; redis-py's retries took 4 to 10 s


@dataclass
class Backend:
    name: str
    make: Callable[[str], Any]  # url -> backend object
    call: Callable[[Any], object]  # one public call that needs the server
    error: type[DesignPatternsError]


def _feed(url: str) -> FanoutOnWrite:
    feed = FanoutOnWrite(RedisStore.from_url(url))
    feed.add_users(["ann", "bob"])
    feed.follow("ann", "bob")
    return feed


BACKENDS = [
    Backend("feed", _feed, lambda f: f.timeline("ann"), FeedUnavailable),
    Backend("feed-post", _feed, lambda f: f.post("bob", body="hi"), FeedUnavailable),
    Backend(
        "geo",
        lambda url: RedisGeoIndex(url, key="outage", ttl=None),
        lambda g: g.nearest(51.5, -0.12, k=3),
        GeoUnavailable,
    ),
    Backend(
        "geo-upsert",
        lambda url: RedisGeoIndex(url, key="outage", ttl=None),
        lambda g: g.upsert("d1", 51.5, -0.12),
        GeoUnavailable,
    ),
    Backend(
        "shortcode",
        lambda url: RedisCounter(url, key="outage"),
        lambda c: c.reserve(10),
        ShortCodeUnavailable,
    ),
    Backend(
        "shortcode-range",
        lambda url: RangeAllocator(RedisCounter(url, key="outage"), block=1),
        lambda a: (a.next_number(), a.next_number()),
        ShortCodeUnavailable,
    ),
]
IDS = [b.name for b in BACKENDS]


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    try:
        with redis_server() as server:
            yield server
    except ServerUnavailable as exc:
        pytest.skip(f"needs a real Redis: {exc}")


def _time_to_error(backend: Backend, obj: Any) -> float:
    start = time.monotonic()
    with pytest.raises(backend.error) as info:
        backend.call(obj)
    elapsed = time.monotonic() - start
    assert "did not answer" in str(info.value)
    return elapsed


@pytest.mark.parametrize("backend", BACKENDS, ids=IDS)
def test_a_killed_server_fails_fast_with_the_family_error(
    own_server: RedisServer, backend: Backend
) -> None:
    obj = backend.make(own_server.url)
    backend.call(obj)  # works while the server is up
    own_server.kill()
    for _ in range(3):  # every call, not only the first, fails within the bound
        assert _time_to_error(backend, obj) < BOUND_S


@pytest.mark.parametrize("backend", BACKENDS, ids=IDS)
def test_a_frozen_server_fails_fast_and_recovers(own_server: RedisServer, backend: Backend) -> None:
    obj = backend.make(own_server.url)
    backend.call(obj)
    os.kill(own_server.process.pid, signal.SIGSTOP)
    try:
        for _ in range(2):
            assert _time_to_error(backend, obj) < BOUND_S
    finally:
        os.kill(own_server.process.pid, signal.SIGCONT)
    backend.call(obj)  # the same object works again once the server answers


def test_the_bounded_client_keeps_the_settings_but_not_the_retries(redis_url: str) -> None:
    mine = redis.Redis.from_url(redis_url, decode_responses=True, db=0)
    bounded = bounded_client(mine, 0.1)
    kwargs = bounded.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 0.1 and kwargs["socket_connect_timeout"] == 0.1
    assert kwargs["retry"].get_retries() == 0
    assert kwargs["decode_responses"] is True
    assert kwargs["port"] == mine.connection_pool.connection_kwargs["port"]
    assert mine.connection_pool.connection_kwargs.get("socket_timeout") is None  # untouched
    assert bounded.set("k", "v") and bounded.get("k") == "v"
    bounded.close()
    mine.close()


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda url, d: RedisStore.from_url(url, deadline=d), FeedError),
        (lambda url, d: RedisGeoIndex(url, deadline=d), GeoError),
        (lambda url, d: RedisCounter(url, deadline=d), ShortCodeError),
    ],
)
@pytest.mark.parametrize("deadline", [0, -1, float("nan"), float("inf"), 10**400, "1", None, True])
def test_a_bad_deadline_is_refused(
    redis_url: str, make: Callable[[str, object], object], error: type[Exception], deadline: object
) -> None:
    with pytest.raises(error, match="deadline"):
        make(redis_url, deadline)


def test_the_default_deadline_is_documented() -> None:
    assert check_deadline("x", DEFAULT_DEADLINE_S) == 0.25


def test_stores_sharing_a_client_each_keep_the_deadline(own_server: RedisServer) -> None:
    # Two stores on one client share its bounded twin; each call still fails within the bound.
    client = redis.Redis.from_url(own_server.url, decode_responses=True)
    stores = [RedisStore(client, prefix=f"s{i}:") for i in range(2)]
    assert stores[0].r is stores[1].r
    slower = RedisStore(client, prefix="slow:", deadline=0.5)
    for store in (*stores, slower):
        store.add_user("ann", 0.0)
    os.kill(own_server.process.pid, signal.SIGSTOP)
    try:
        for store in (*stores, slower):
            start = time.monotonic()
            with pytest.raises(FeedUnavailable, match=f"did not answer.*{store.deadline} s"):
                store.has_user("ann")
            assert time.monotonic() - start < BOUND_S
    finally:
        os.kill(own_server.process.pid, signal.SIGCONT)
    assert all(store.has_user("ann") for store in (*stores, slower))
    client.close()
