"""Factories for the contract tests: every algorithm, in memory and on Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock

LIMIT = 4

#: name -> (memory factory, Redis class name or None); each builds "4 per second, burst 4".
ALGORITHMS: dict[str, tuple[Callable[[ManualClock], Any], str | None]] = {
    "token_bucket": (lambda c: rl.TokenBucket(LIMIT, 1.0, LIMIT, clock=c), "TokenBucket"),
    "gcra": (lambda c: rl.GCRA(LIMIT, 1.0, LIMIT, clock=c), "GCRA"),
    "leaky_bucket": (lambda c: rl.LeakyBucket(LIMIT, 1.0, LIMIT, clock=c), "LeakyBucket"),
    "leaky_queue": (lambda c: rl.LeakyBucketQueue(LIMIT, 1.0, LIMIT, clock=c), None),
    "fixed_window": (lambda c: rl.FixedWindow(LIMIT, 1.0, clock=c), "FixedWindow"),
    "sliding_log": (lambda c: rl.SlidingWindowLog(LIMIT, 1.0, clock=c), "SlidingWindowLog"),
    "sliding_counter": (
        lambda c: rl.SlidingWindowCounter(LIMIT, 1.0, clock=c),
        "SlidingWindowCounter",
    ),
    "concurrency": (
        lambda c: rl.ConcurrencyLimiter(LIMIT, lease=1.0, clock=c),
        "ConcurrencyLimiter",
    ),
}


def redis_twin(algo: str, client: Any, clock: ManualClock, **options: Any) -> Any:
    """The Redis limiter matching ``ALGORITHMS[algo]``, on ``client`` with ``clock``."""
    from designpatterns_ref.ratelimit import redis as rr

    options.setdefault("ttl_slack", 600.0)
    # a generous deadline: these tests compare answers, on a machine that may be busy (a
    # cluster client is used as given, its own timeouts bound it)
    options.setdefault("deadline", None if type(client).__name__ == "RedisCluster" else 5.0)
    cls = getattr(rr, ALGORITHMS[algo][1] or "")
    if algo == "concurrency":
        return cls(client, LIMIT, lease=1.0, clock=clock, **options)
    if algo in ("token_bucket", "gcra", "leaky_bucket"):
        return cls(client, LIMIT, 1.0, LIMIT, clock=clock, **options)
    return cls(client, LIMIT, 1.0, clock=clock, **options)


def sqlite_twin(algo: str, path: Any, clock: ManualClock, **options: Any) -> Any:
    """The SQLite limiter matching ``ALGORITHMS[algo]``, on the file ``path`` with ``clock``."""
    from designpatterns_ref.ratelimit import sqlite

    cls = {"leaky_queue": "LeakyBucketQueue"}.get(algo) or ALGORITHMS[algo][1] or ""
    if algo == "concurrency":
        return sqlite.ConcurrencyLimiter(path, LIMIT, lease=1.0, clock=clock, **options)
    if algo in ("token_bucket", "gcra", "leaky_bucket", "leaky_queue"):
        return getattr(sqlite, cls)(path, LIMIT, 1.0, LIMIT, clock=clock, **options)
    return getattr(sqlite, cls)(path, LIMIT, 1.0, clock=clock, **options)


CASES = (
    [pytest.param((name, "memory"), id=f"{name}-memory") for name in ALGORITHMS]
    + [pytest.param((name, "sqlite"), id=f"{name}-sqlite") for name in ALGORITHMS]
    + [
        pytest.param((name, backend), marks=pytest.mark.redis, id=f"{name}-{backend}")
        for backend in ("redis", "cluster")
        for name, (_, twin) in ALGORITHMS.items()
        if twin
    ]
)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    yield client
    client.close()


@pytest.fixture(params=CASES)
def make(request: pytest.FixtureRequest) -> Callable[[ManualClock], Any]:
    """A factory: clock -> a limiter of 4 per second (burst 4), in memory, on a SQLite file, on
    Redis, or on a three-master Redis Cluster (the hash-tagged keys of one decision share a
    slot)."""
    name, backend = request.param
    if backend == "memory":
        return ALGORITHMS[name][0]
    if backend == "sqlite":
        path = request.getfixturevalue("tmp_path") / "limits.db"
        made = iter(range(1000))  # each limiter its own rows, as two distinct in-memory ones
        return lambda clock: sqlite_twin(name, path, clock, name=f"{name}-{next(made)}")
    fixture = "redis_client" if backend == "redis" else "redis_cluster_client"
    client = request.getfixturevalue(fixture)
    return lambda clock: redis_twin(name, client, clock)
