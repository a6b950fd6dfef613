"""Feeds under test: every strategy on every store, plus a brute-force oracle."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import (
    FanoutOnRead,
    FanoutOnWrite,
    Feed,
    FeedStore,
    HybridFanout,
    MemoryStore,
    RedisStore,
)

STRATEGIES = ["push", "pull", "hybrid"]
_prefixes = itertools.count()


def make_feed(kind: str, store: FeedStore, clock: ManualClock, *, max_len: int = 3) -> Feed:
    """A small feed that exercises trimming, celebrity crossings and inactivity quickly."""
    if kind == "push":
        return FanoutOnWrite(store, max_len=max_len, clock=clock)
    if kind == "pull":
        return FanoutOnRead(store, clock=clock)
    return HybridFanout(
        store, threshold=2, inactive_after=5.0, max_len=max_len, rebuild_len=2, clock=clock
    )


class Oracle:
    """The brute-force truth: a timeline is a sort of the followees' live posts."""

    def __init__(self) -> None:
        self.users: set[str] = set()
        self.followees: dict[str, set[str]] = {}
        self.posts: dict[int, str] = {}
        self.next_id = 1

    def add_user(self, user: str) -> None:
        self.users.add(user)
        self.followees[user] = set()

    def post(self, author: str) -> int:
        self.posts[self.next_id] = author
        self.next_id += 1
        return self.next_id - 1

    def timeline(self, user: str, limit: int = 10**9, before: int = 2**62) -> list[int]:
        mine = self.followees[user]
        ids = sorted((i for i, a in self.posts.items() if a in mine and i < before), reverse=True)
        return ids[:limit]


STORES = ["memory", "redis", "cluster"]


class StoreFactory:
    """Fresh stores of one kind; each Redis store gets its own key prefix on the session server,
    over one client the factory keeps. The stores on it share one bounded twin of it (see
    :mod:`designpatterns_ref.redisclient`), so a new store costs no connection and, on a
    cluster, no new slot map."""

    def __init__(self, kind: str, redis_url: str | None, cluster: Any = None) -> None:
        self.kind = kind
        self.redis_url = redis_url
        self.cluster = cluster
        self.made: list[RedisStore] = []
        self.client: Any = None

    def __call__(self) -> FeedStore:
        if self.kind == "memory":
            return MemoryStore()
        if self.client is None:
            if self.kind == "cluster":
                self.client = self.cluster.client(decode_responses=True, socket_timeout=5)
            else:
                import redis

                assert self.redis_url is not None
                self.client = redis.Redis.from_url(self.redis_url, decode_responses=True)
        store = RedisStore(self.client, prefix=f"t{next(_prefixes)}:")
        self.made.append(store)
        return store

    def cleanup(self) -> None:
        """Delete the keys of every store made so far (the client stays for the next ones)."""
        for store in self.made:
            store.clear()
        self.made.clear()

    def close(self) -> None:
        self.cleanup()
        if self.client is not None:
            self.client.close()
            self.client = None


@pytest.fixture(params=STORES)
def stores(request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    """A factory of fresh stores, once per store kind ("redis" runs on a real Redis server,
    "cluster" on a real three-master Redis Cluster)."""
    url = request.getfixturevalue("live_redis_url")() if request.param == "redis" else None
    cluster = request.getfixturevalue("redis_cluster_srv") if request.param == "cluster" else None
    factory = StoreFactory(request.param, url, cluster)
    yield factory
    factory.close()
