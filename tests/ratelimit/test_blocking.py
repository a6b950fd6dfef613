"""Blocking acquisition: ``acquire`` waits out ``retry_after``, exactly, on a ManualClock.

Oracle: the schedule an ideal limiter gives ``n`` back-to-back unit requests that each wait
for admission, written in closed form per family (a bucket of ``b`` refilling ``r`` per
second admits the k-th at ``max(0, k - b + 1) / r``; a window of ``n`` per ``p`` admits the
k-th at ``(k // n) * p``), against every algorithm, in memory, on SQLite and on Redis.
"""

from __future__ import annotations

import asyncio
import copy
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import RateLimitError
from designpatterns_ref.ratelimit.blocking import acquire, acquire_async

from .conftest import LIMIT

Make = Callable[[ManualClock], Any]

BUCKETS = {"TokenBucket": rl.TokenBucket, "GCRA": rl.GCRA, "LeakyBucket": rl.LeakyBucket}
WINDOWS = {"FixedWindow": rl.FixedWindow, "SlidingWindowLog": rl.SlidingWindowLog}


def bucket_schedule(n: int, rate: float, per: float, burst: int) -> list[float]:
    return [max(0, k - burst + 1) * per / rate for k in range(n)]


def window_schedule(n: int, rate: int, per: float) -> list[float]:
    return [(k // rate) * per for k in range(n)]


def times_of(limiter: Any, clock: ManualClock, n: int, **kwargs: Any) -> list[float]:
    out = []
    for _ in range(n):
        assert limiter.acquire("k", **kwargs)
        out.append(clock())
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(list(BUCKETS)),
    st.integers(1, 8),
    st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0]),
    st.integers(1, 5),
    st.integers(1, 25),
)
def test_buckets_admit_on_the_ideal_schedule(
    name: str, rate: int, per: float, burst: int, n: int
) -> None:
    clock = ManualClock()
    limiter = BUCKETS[name](rate, per, burst, clock=clock)
    expected = bucket_schedule(n, rate, per, burst)
    assert times_of(limiter, clock, n) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(list(WINDOWS)),
    st.integers(1, 6),
    st.sampled_from([0.5, 1.0, 3.0]),
    st.integers(1, 25),
)
def test_windows_admit_on_the_ideal_schedule(name: str, rate: int, per: float, n: int) -> None:
    clock = ManualClock()
    limiter = WINDOWS[name](rate, per, clock=clock)
    assert times_of(limiter, clock, n) == pytest.approx(window_schedule(n, rate, per), abs=1e-12)


def test_the_contract_limiters_wait_then_admit(make: Make) -> None:
    """Every algorithm and backend: a full key is admitted after exactly its retry_after."""
    clock = ManualClock(100.0)
    limiter = make(clock)
    assert limiter.allow("k", LIMIT)
    refusal = limiter.peek("k")
    assert not refusal
    decision = limiter.acquire("k", timeout=refusal.retry_after)
    assert decision and clock() == 100.0 + refusal.retry_after


def test_a_timeout_too_short_returns_the_refusal_at_once_and_changes_nothing(make: Make) -> None:
    clock = ManualClock(100.0)
    limiter = make(clock)
    limiter.allow("k", LIMIT - 1)
    limiter.allow("k")
    before = limiter.peek("k")
    if hasattr(limiter, "release"):  # a cap: a release may come any time, so it waits it out
        refused = limiter.acquire("k", 2, timeout=before.retry_after / 2)
        assert not refused and clock() == 100.0 + before.retry_after / 2
        assert limiter.peek("k").remaining == before.remaining
        return
    refused = limiter.acquire("k", 2, timeout=before.retry_after / 2)
    assert not refused and refused.retry_after > before.retry_after / 2
    assert clock() == 100.0  # no time spent waiting
    assert limiter.peek("k") == before


def test_a_composite_that_times_out_consumes_from_no_part() -> None:
    clock = ManualClock()
    fast, slow = rl.TokenBucket(10, 1.0, 10, clock=clock), rl.FixedWindow(1, 60.0, clock=clock)
    both = rl.all_of(fast, slow)
    assert both.acquire("k")
    snapshot = copy.deepcopy((fast._states, slow._states))
    assert not both.acquire("k", timeout=59.0)
    assert copy.deepcopy((fast._states, slow._states)) == snapshot and clock() == 0.0
    assert both.acquire("k", timeout=60.0) and clock() == 60.0


def test_an_infinite_wait_is_returned_refused_even_without_a_timeout() -> None:
    clock = ManualClock()
    cap = rl.ConcurrencyLimiter(1, lease=None, clock=clock)
    assert cap.acquire("k")
    refused = cap.acquire("k", timeout=None)
    assert not refused and refused.retry_after == math.inf and clock() == 0.0


def test_no_timeout_waits_as_long_as_needed() -> None:
    clock = ManualClock()
    hourly = rl.FixedWindow(1, 3600.0, clock=clock)
    assert hourly.acquire("k") and hourly.acquire("k")
    assert clock() == 3600.0


def test_the_function_form_takes_any_limiter() -> None:
    clock = ManualClock()
    bucket = rl.GCRA(1, 2.0, 1, clock=clock)
    assert acquire(bucket, "k") and acquire(bucket, "k", timeout=2.0) and clock() == 2.0


@pytest.mark.parametrize(
    "bad", [-1, -0.001, math.nan, math.inf, -math.inf, 10**400, "1", True, [1]]
)
def test_a_bad_timeout_is_refused_before_anything_happens(bad: object) -> None:
    clock = ManualClock()
    bucket = rl.TokenBucket(1, 1.0, 1, clock=clock)
    bucket.allow("k")
    before = copy.deepcopy(bucket._states)
    with pytest.raises(RateLimitError, match="timeout="):
        bucket.acquire("k", timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(RateLimitError, match="timeout="):
        asyncio.run(bucket.acquire_async("k", timeout=bad))  # type: ignore[arg-type]
    assert bucket._states == before and clock() == 0.0


@pytest.mark.parametrize("cost", [0, -1, 2, 1.5, None])
def test_a_bad_cost_is_refused_as_allow_refuses_it(cost: object) -> None:
    clock = ManualClock()
    bucket = rl.TokenBucket(1, 1.0, 1, clock=clock)
    with pytest.raises(RateLimitError, match="cost"):
        bucket.acquire("k", cost)  # type: ignore[arg-type]
    assert clock() == 0.0 and bucket.tracked_keys() == 0


def test_acquire_async_follows_the_same_schedule() -> None:
    clock = ManualClock()
    bucket = rl.TokenBucket(4, 1.0, 2, clock=clock)

    async def run() -> list[float]:
        out = []
        for _ in range(6):
            assert await bucket.acquire_async("k")
            out.append(clock())
        refused = await acquire_async(bucket, "k", timeout=0.1)
        assert not refused
        return out

    assert asyncio.run(run()) == pytest.approx(bucket_schedule(6, 4, 1.0, 2))


class _Counting:
    """A limiter seen through its ``allow``: how often it was asked, and each refusal's wait."""

    def __init__(self, limiter: Any) -> None:
        self.limiter, self.clock = limiter, limiter.clock
        self.calls, self.waits = 0, []

    def allow(self, key: str, cost: int = 1) -> Any:
        self.calls += 1
        decision = self.limiter.allow(key, cost)
        if not decision:
            self.waits.append(decision.retry_after)
        return decision


@pytest.mark.parametrize("asynchronous", [False, True])
def test_real_time_waits_are_slept(asynchronous: bool) -> None:
    """On the real clock each wait is slept: the time taken is at least the waits told (a
    lower bound only), and each acquire asks once, sleeps, and asks again (a loop that did not
    sleep would ask hundreds of times, and wait less than it was told)."""
    bucket = _Counting(rl.TokenBucket(200, 1.0, 1))
    start = time.monotonic()
    if asynchronous:

        async def run() -> list[bool]:
            return [bool(await acquire_async(bucket, "k", timeout=5.0)) for _ in range(3)]

        admitted = asyncio.run(run())
    else:
        admitted = [bool(acquire(bucket, "k", timeout=5.0)) for _ in range(3)]
    elapsed = time.monotonic() - start
    assert admitted == [True, True, True]
    assert len(bucket.waits) >= 2  # the second and third had to wait
    assert elapsed >= sum(bucket.waits)
    assert bucket.calls <= 9  # three acquires, each refused twice at most


def test_real_time_timeout_zero_never_sleeps() -> None:
    bucket = rl.FixedWindow(1, 3600.0)
    assert bucket.acquire("k", timeout=0)
    assert not bucket.acquire("k", timeout=0)


@pytest.mark.redis
def test_async_redis_limiters_acquire_async(redis_url: str) -> None:
    import redis.asyncio

    from designpatterns_ref.ratelimit import redis as rr

    clock = ManualClock(50.0)

    async def run() -> list[float]:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            bucket = rr.AsyncTokenBucket(
                client, 2, 1.0, 1, clock=clock, deadline=5.0, name="acq", ttl_slack=600.0
            )
            await bucket.reset("k")
            out = []
            for _ in range(4):
                assert await bucket.acquire_async("k")
                out.append(clock() - 50.0)
            return out
        finally:
            await client.aclose()

    assert asyncio.run(run()) == pytest.approx(bucket_schedule(4, 2, 1.0, 1))
    assert not hasattr(rr.AsyncTokenBucket, "acquire")  # it would block the loop


@pytest.mark.redis
def test_acquire_and_simulate_refuse_an_asyncio_limiter_and_spend_nothing(redis_url: str) -> None:
    import redis.asyncio

    from designpatterns_ref.ratelimit import redis as rr

    clock = ManualClock(50.0)

    async def run() -> list[int]:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            window = rr.AsyncFixedWindow(client, 5, 1.0, clock=clock, deadline=5.0, ttl_slack=600.0)
            bucket = rr.AsyncTokenBucket(
                client, 5, 1.0, 5, clock=clock, deadline=5.0, ttl_slack=600.0
            )
            both = rr.all_of(window, bucket)
            for limiter in (window, both):
                with pytest.raises(RateLimitError, match=r"asyncio limiter.*acquire_async"):
                    acquire(limiter, "k", timeout=0)
                with pytest.raises(RateLimitError, match=r"asyncio limiter.*synchronous"):
                    rl.simulate(limiter, [50.0] * 10, key="k")
            return [(await window.peek("k")).remaining, (await both.peek("k")).remaining]
        finally:
            await client.aclose()

    assert asyncio.run(run()) == [4, 4]  # a first request would leave 4: nothing was spent


class _Deferring:
    """A limiter whose plain ``allow`` hands back a coroutine: it can be told only by its answer."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.inner = rl.FixedWindow(1, 60.0, clock=self.clock)

    def allow(self, key: str, cost: int = 1) -> Any:
        async def later() -> rl.Decision:
            return self.inner.allow(key, cost)

        return later()


def test_an_awaitable_answer_is_refused_not_taken_for_an_admission() -> None:
    limiter = _Deferring()
    with pytest.raises(RateLimitError, match="awaitable"):
        acquire(limiter, "k", timeout=0)
    with pytest.raises(RateLimitError, match="awaitable"):
        rl.simulate(limiter, [0.0] * 3, key="k")
    assert limiter.inner.peek("k")  # the coroutines were closed unrun


@pytest.mark.parametrize("lease", [30.0, None])
def test_acquire_on_a_cap_is_admitted_soon_after_a_release(lease: float | None) -> None:
    """The cap's retry_after is when the lease would free the unit; a release frees it sooner,
    and acquire must see that (it used to give up at once, the lease ending after its timeout)."""
    cap = rl.ConcurrencyLimiter(1, lease=lease)
    entered, done = threading.Event(), threading.Event()

    def worker() -> None:
        with cap.hold("report"):
            entered.set()
            done.wait(5.0)

    thread = threading.Thread(target=worker)
    thread.start()
    entered.wait(5.0)
    threading.Timer(0.1, done.set).start()
    try:
        assert cap.acquire("report", timeout=20.0)
    finally:
        done.set()
        thread.join()


def test_acquire_async_on_a_cap_is_admitted_soon_after_a_release() -> None:
    async def run() -> bool:
        cap = rl.ConcurrencyLimiter(1, lease=30.0)

        async def worker() -> None:
            with cap.hold("report"):
                await asyncio.sleep(0.1)

        task = asyncio.create_task(worker())
        await asyncio.sleep(0)
        decision = await cap.acquire_async("report", timeout=20.0)
        await task
        return bool(decision)

    assert asyncio.run(run())
