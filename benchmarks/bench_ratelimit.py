"""ratelimit benchmarks: every algorithm's decision cost, in memory, on SQLite and on Redis,
reading written limits and blocking acquisition, beside peers.

Run ``pytest benchmarks/bench_ratelimit.py --benchmark-only`` for figures (each in-memory
benchmark times one pass of 1,000 decisions, so divide by 1,000 for µs per decision), or
``--benchmark-disable`` for the quick correctness pass CI makes. ``dpref bench ratelimit``
prints the summary tables (10,000 keys, memory per key, accuracy, Redis from 1 and 4
processes) from the same module, :mod:`designpatterns_ref.ratelimit._bench`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.ratelimit._bench import (
    ALGORITHMS,
    CLOCKS,
    bench_accuracy,
    bench_memory,
    bench_refusal,
    bench_speed,
    bench_steps,
    pyrate_per_key,
)
from designpatterns_ref.testing import RedisServer

N = 1_000
ONE_KEY = ["user:1"] * N
MANY_KEYS = [f"user:{i}" for i in range(N)]
BIG = 10**9


def each(fn: Callable[[Any], object], keys: list[str]) -> Callable[[], None]:
    def run() -> None:
        for key in keys:
            fn(key)

    return run


def build(name: str, *, spread: bool = False) -> Any:
    """A limiter that refuses nothing (10^9 units per 10^9 s) and keeps every key's state live
    between passes; the log and the concurrency cap, whose state grows with every admitted
    unit, forget theirs after 0.1 ms on one key and after a second when spread over keys."""
    grows = name in ("SlidingWindowLog", "ConcurrencyLimiter")
    return ALGORITHMS[name](BIG, (1.0 if spread else 1e-4) if grows else 1e9, None)


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_memory_one_key(benchmark: BenchmarkFixture, name: str) -> None:
    limiter = build(name)
    benchmark(each(limiter.allow, ONE_KEY))
    assert limiter.allow("user:1")


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_memory_many_keys(benchmark: BenchmarkFixture, name: str) -> None:
    limiter = build(name, spread=True)
    benchmark(each(limiter.allow, MANY_KEYS))
    assert limiter.tracked_keys() == N  # every key still live: none was forgotten and re-met


@pytest.mark.parametrize("clock", list(CLOCKS))
@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_memory_refused_one_key(benchmark: BenchmarkFixture, name: str, clock: str) -> None:
    """A key hammered past its limit (5 per second): nearly every decision is a refusal with
    its retry_after; compare with test_memory_admitted_one_key on the same clock."""
    limiter = ALGORITHMS[name](5, 1.0, CLOCKS[clock]())
    for _ in range(5):
        limiter.allow("user:1")
    benchmark(each(limiter.allow, ONE_KEY))
    assert not limiter.peek("user:1", 5)


@pytest.mark.parametrize("clock", list(CLOCKS))
@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_memory_admitted_one_key(benchmark: BenchmarkFixture, name: str, clock: str) -> None:
    """Admissions on one key on each of the refusal bench's clocks (10^9 per 10^9 s)."""
    grows = name in ("SlidingWindowLog", "ConcurrencyLimiter")
    manual = clock.startswith("Manual")
    limiter = ALGORITHMS[name](BIG, 1e-4 if grows and not manual else 1e9, CLOCKS[clock]())
    benchmark(each(limiter.allow, ONE_KEY))
    assert limiter.allow("user:1")


@pytest.mark.skipif(importlib.util.find_spec("limits") is None, reason="limits not installed")
@pytest.mark.parametrize("strategy", ["FixedWindowRateLimiter", "MovingWindowRateLimiter"])
def test_peer_limits_refused_one_key(benchmark: BenchmarkFixture, strategy: str) -> None:
    from limits import RateLimitItemPerSecond, storage, strategies

    limiter = getattr(strategies, strategy)(storage.MemoryStorage())
    item = RateLimitItemPerSecond(5)
    benchmark(each(lambda key: limiter.hit(item, key), ONE_KEY))


@pytest.mark.skipif(importlib.util.find_spec("limits") is None, reason="limits not installed")
@pytest.mark.parametrize("strategy", ["FixedWindowRateLimiter", "MovingWindowRateLimiter"])
def test_peer_limits_one_key(benchmark: BenchmarkFixture, strategy: str) -> None:
    from limits import RateLimitItemPerSecond, storage, strategies

    limiter = getattr(strategies, strategy)(storage.MemoryStorage())
    item = RateLimitItemPerSecond(10**9)
    benchmark(each(lambda key: limiter.hit(item, key), ONE_KEY))


@pytest.mark.skipif(
    importlib.util.find_spec("pyrate_limiter") is None, reason="pyrate-limiter not installed"
)
def test_peer_pyrate_one_key(benchmark: BenchmarkFixture) -> None:
    import pyrate_limiter as pl

    limiter = pl.Limiter(pl.Rate(10**6, pl.Duration.SECOND))  # one key: one bucket is enough
    benchmark(each(lambda key: limiter.try_acquire(key, blocking=False), ONE_KEY))
    assert limiter.try_acquire("user:1", blocking=False)


@pytest.mark.skipif(
    importlib.util.find_spec("pyrate_limiter") is None, reason="pyrate-limiter not installed"
)
def test_peer_pyrate_many_keys(benchmark: BenchmarkFixture) -> None:
    """One bucket per key (a BucketFactory), so each key is limited on its own like ours."""
    limiter = pyrate_per_key(10**6)
    benchmark(each(lambda key: limiter.try_acquire(key, blocking=False), MANY_KEYS))
    assert len(limiter.bucket_factory.buckets) == N


@pytest.mark.redis
@pytest.mark.parametrize(
    "name",
    ["INCR", "TokenBucket", "GCRA", "FixedWindow", "SlidingWindowLog", "SlidingWindowCounter"],
)
def test_redis_one_key(
    benchmark: BenchmarkFixture, redis_srv: RedisServer, quick: bool, name: str
) -> None:
    redis = pytest.importorskip("redis")
    from designpatterns_ref.ratelimit import redis as rr

    client = redis.Redis.from_url(redis_srv.url)
    if name == "INCR":
        call: Callable[[str], object] = lambda key: client.incr(key)  # noqa: E731
    elif name in ("TokenBucket", "GCRA"):  # on_error="raise": an outage fails, not denies
        call = getattr(rr, name)(client, BIG, 3600.0, BIG, deadline=5.0, on_error="raise").allow
    else:
        call = getattr(rr, name)(client, BIG, 3600.0, deadline=5.0, on_error="raise").allow
    benchmark(each(call, ONE_KEY[: 20 if quick else 200]))
    assert call("user:1")  # admitted: a decision Redis made, not a fallback
    client.close()


@pytest.mark.skipif(
    importlib.util.find_spec("pyrate_limiter") is None, reason="pyrate-limiter not installed"
)
def test_pyrate_per_key_limits_each_key_apart() -> None:
    limiter = pyrate_per_key(2)
    assert [limiter.try_acquire("a", blocking=False) for _ in range(3)] == [True, True, False]
    assert limiter.try_acquire("b", blocking=False)  # b has its own bucket


def test_redis_workloads_raise_when_redis_is_away() -> None:
    """With Redis unreachable, a bench limiter raises: it never times fallback denials."""
    redis = pytest.importorskip("redis")
    from designpatterns_ref.ratelimit._bench import _redis_workloads
    from designpatterns_ref.testing import free_port

    url = f"redis://127.0.0.1:{free_port()}"  # nothing listens here
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    ours = {n: b for n, b in _redis_workloads(url).items() if not n.startswith(("INCR", "lim"))}
    for name, build in ours.items():
        if name.startswith("pyrate"):
            continue
        call = build(client)
        with pytest.raises(Exception) as caught:
            call("bench")
        assert not isinstance(caught.value, AssertionError), name


def test_summary_tables(quick: bool) -> None:
    """The tables ``dpref bench ratelimit`` prints (the Redis step runs in test_bench_steps)."""
    if not quick:
        pytest.skip("summary tables run in quick mode; use dpref bench ratelimit for figures")
    assert "TokenBucket" in bench_speed(True)[0].render()
    assert all(float(row[1]) < 1_000 for row in bench_memory(True)[0].rows)
    refusals = bench_refusal(True)[0]
    assert {row[1] for row in refusals.rows} >= set(CLOCKS)
    accuracy = bench_accuracy(True)[0]
    exact = next(row for row in accuracy.rows if row[0] == "SlidingWindowLog")
    assert exact[3] == "10"


def test_bench_steps_quick(quick: bool) -> None:
    if not quick:
        pytest.skip("quick mode only")
    names = [name for name, _ in bench_steps(True)]
    assert names == [
        "in-memory speed",
        "refusals",
        "memory per key",
        "accuracy",
        "Redis",
        "written limits",
        "blocking acquisition",
        "SQLite",
    ]
    from designpatterns_ref.ratelimit._bench_local import bench_notation

    assert "10/second" in bench_notation(True)[0].render()


# --------------------------------------------------------------------------- written limits

TEXTS = ["10/second", "10/second; 1000/hour", "5 per minute, 100/5 minutes | 1000 per day"]


@pytest.mark.parametrize("text", TEXTS)
def test_parse_limits(benchmark: BenchmarkFixture, text: str) -> None:
    from designpatterns_ref.ratelimit import parse_limits

    specs = benchmark(parse_limits, text)
    assert len(specs) == text.count("/") + text.count("per")


@pytest.mark.skipif(importlib.util.find_spec("limits") is None, reason="limits not installed")
@pytest.mark.parametrize("text", TEXTS)
def test_peer_limits_parse_many(benchmark: BenchmarkFixture, text: str) -> None:
    from limits import parse_many

    assert len(benchmark(parse_many, text)) == text.count("/") + text.count("per")


# --------------------------------------------------------------------------- blocking


def test_acquire_simulated_wait(benchmark: BenchmarkFixture) -> None:
    """1,000 acquisitions that each wait 10 ms of simulated time (a ManualClock advances)."""
    from designpatterns_ref.clock import ManualClock
    from designpatterns_ref.ratelimit import TokenBucket

    clock = ManualClock()
    bucket = TokenBucket(1, 0.01, 1, clock=clock)
    benchmark(each(lambda key: bucket.acquire(key), ONE_KEY))
    assert clock() > 0


def _blocking_contender(name: str) -> Callable[[], object]:
    if name == "ours":
        from designpatterns_ref.ratelimit import TokenBucket

        bucket = TokenBucket(1, 0.005, 1)
        return lambda: bucket.acquire("k", timeout=1.0)
    import pyrate_limiter as pl

    limiter = pl.Limiter(pl.Rate(1, 5), buffer_ms=0)
    return lambda: limiter.try_acquire("k", blocking=True)


@pytest.mark.parametrize("name", ["ours", "pyrate-limiter"])
def test_blocking_real_clock(benchmark: BenchmarkFixture, quick: bool, name: str) -> None:
    """20 back-to-back blocking acquisitions of 1 per 5 ms on the real clock: ideal 95 ms a
    round (the first is immediate); the excess is how late the waits wake."""
    if name != "ours" and importlib.util.find_spec("pyrate_limiter") is None:
        pytest.skip("pyrate-limiter not installed")
    acquire = _blocking_contender(name)
    count = 3 if quick else 20

    def run() -> None:
        for _ in range(count):
            assert acquire()

    benchmark.pedantic(run, rounds=1 if quick else 5, iterations=1)


# --------------------------------------------------------------------------- SQLite

SQLITE = ["TokenBucket", "GCRA", "FixedWindow", "SlidingWindowCounter"]


@pytest.mark.parametrize("name", SQLITE)
def test_sqlite_one_key(benchmark: BenchmarkFixture, tmp_path: Any, quick: bool, name: str) -> None:
    from designpatterns_ref.ratelimit import sqlite as sq

    path = tmp_path / "limits.db"
    if name in ("TokenBucket", "GCRA"):
        limiter = getattr(sq, name)(path, BIG, 3600.0, BIG)
    else:
        limiter = getattr(sq, name)(path, BIG, 3600.0)
    benchmark(each(limiter.allow, ONE_KEY[: 20 if quick else 200]))
    assert limiter.allow("user:1")


@pytest.mark.skipif(
    importlib.util.find_spec("pyrate_limiter") is None
    or importlib.util.find_spec("filelock") is None,
    reason="pyrate-limiter (with filelock) not installed",
)
def test_peer_pyrate_sqlite_one_key(
    benchmark: BenchmarkFixture, tmp_path: Any, quick: bool
) -> None:
    import pyrate_limiter as pl

    bucket = pl.SQLiteBucket.init_from_file(
        [pl.Rate(BIG, pl.Duration.HOUR)], db_path=str(tmp_path / "p.db"), use_file_lock=True
    )
    limiter = pl.Limiter(bucket, buffer_ms=0)
    benchmark(
        each(lambda key: limiter.try_acquire(key, blocking=True), ONE_KEY[: 20 if quick else 200])
    )
