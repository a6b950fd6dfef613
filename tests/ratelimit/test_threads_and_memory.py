"""Sharing between threads, bounded per-key state, and what a tracked key costs in memory."""

from __future__ import annotations

import math
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit._bench import bytes_per_key
from designpatterns_ref.ratelimit.memory import MIN_SWEEP

from .conftest import ALGORITHMS

MEMORY = list(ALGORITHMS)


@pytest.mark.parametrize("name", MEMORY)
def test_eight_threads_on_one_limiter_never_exceed_the_budget(name: str) -> None:
    limiter = ALGORITHMS[name][0](ManualClock(5.0))  # 4 at once; time stands still
    admitted = [0] * 8
    start = threading.Barrier(8)

    def work(i: int) -> None:
        start.wait()
        for _ in range(500):
            if limiter.allow("shared"):
                admitted[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == 4


def test_threads_through_all_of_and_hold() -> None:
    clock = ManualClock()
    inflight = rl.ConcurrencyLimiter(3, clock=clock)
    both = rl.all_of(
        rl.TokenBucket(1, 3600, 100, clock=clock), rl.FixedWindow(100, 3600, clock=clock)
    )
    peak, now_in, lock = [0], [0], threading.Lock()
    admitted = [0]

    def work() -> None:
        for _ in range(200):
            if both.allow("k"):
                with lock:
                    admitted[0] += 1
            try:
                with inflight.hold("k"):
                    with lock:
                        now_in[0] += 1
                        peak[0] = max(peak[0], now_in[0])
                    with lock:
                        now_in[0] -= 1
            except rl.RateLimitExceeded:
                pass

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted[0] == 100
    assert peak[0] <= 3
    assert inflight.tracked_keys() == 0


@pytest.mark.parametrize("name", MEMORY)
def test_idle_keys_are_forgotten_lazily(name: str) -> None:
    clock = ManualClock()
    limiter = ALGORITHMS[name][0](clock)
    for i in range(3 * MIN_SWEEP):
        limiter.allow(("burst", i))
        if name == "concurrency":
            limiter.release(("burst", i))
    clock.advance(10.0)  # every key is idle now
    for i in range(5 * MIN_SWEEP):
        limiter.allow(("later", i))
        clock.advance(0.01)
        if name == "concurrency":
            limiter.release(("later", i))
    assert limiter.tracked_keys() <= 2 * MIN_SWEEP
    clock.advance(10.0)
    limiter.forget_idle()
    assert limiter.tracked_keys() == 0


def test_forgetting_never_changes_a_decision() -> None:
    clock = ManualClock()
    limiter = rl.TokenBucket(2, 1.0, 4, clock=clock)
    limiter.allow("busy", 4)
    clock.advance(0.25)
    assert limiter.forget_idle() == 0
    assert not limiter.allow("busy", 2)


@settings(max_examples=300)
@given(
    name=st.sampled_from(MEMORY),
    steps=st.lists(
        st.tuples(
            st.sampled_from([0.0, 0.1, 0.3, 1.1, 3.0, -0.2, -0.7, -2.0]),
            st.integers(1, 4),
            st.booleans(),
        ),
        max_size=40,
    ),
)
def test_forgetting_never_changes_a_decision_while_time_stays_past_the_sweep(
    name: str, steps: list[tuple[float, int, bool]]
) -> None:
    """Twin limiters, one of them sweeping now and then: the same decisions, the clock
    stepping back now and then, but never to before the last sweep (what the promise covers:
    a sweep reads the clock, and a key it found idle then is met as new, see below)."""
    clock, twin = ManualClock(100.0), ManualClock(100.0)
    kept, swept = ALGORITHMS[name][0](clock), ALGORITHMS[name][0](twin)
    floor = -math.inf
    for gap, cost, sweep in steps:
        now = max(clock.now + gap, floor)
        clock.set(now, allow_backwards=True)
        twin.set(now, allow_backwards=True)
        if sweep:
            swept.forget_idle()
            floor = now
        for key in ("a", "b"):
            assert kept.allow(key, cost) == swept.allow(key, cost), (now, key, cost)


def test_a_clock_stepped_back_past_a_sweep_meets_the_forgotten_keys_as_new() -> None:
    """The documented limit of the promise: the sweep at 110 found the key idle, so at 99 it
    is a key never seen, where the kept one stands still at its last decision (100)."""
    clock = ManualClock(100.0)
    limiter = rl.TokenBucket(1, 1.0, 2, clock=clock)
    assert limiter.allow("k", 2)
    clock.set(110.0)
    assert limiter.forget_idle() == 1
    clock.set(99.0, allow_backwards=True)
    assert limiter.allow("k", 2)


@pytest.mark.parametrize(
    "name",
    ["token_bucket", "gcra", "leaky_bucket", "leaky_queue", "fixed_window", "sliding_counter"],
)
def test_constant_state_algorithms_hold_under_200_bytes_per_key(name: str) -> None:
    keys = [f"user:{i}" for i in range(5_000)]  # the caller's strings, made beforehand
    limiter = ALGORITHMS[name][0](ManualClock())
    assert bytes_per_key(limiter, keys) < 200
