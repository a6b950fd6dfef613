"""Sharing between threads, bounded per-key state, and what a tracked key costs in memory."""

from __future__ import annotations

import threading

import pytest

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit._bench import bytes_per_key
from designpatterns_ref.ratelimit.base import MIN_SWEEP

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


@pytest.mark.parametrize(
    "name",
    ["token_bucket", "gcra", "leaky_bucket", "leaky_queue", "fixed_window", "sliding_counter"],
)
def test_constant_state_algorithms_hold_under_200_bytes_per_key(name: str) -> None:
    keys = [f"user:{i}" for i in range(5_000)]  # the caller's strings, made beforehand
    limiter = ALGORITHMS[name][0](ManualClock())
    assert bytes_per_key(limiter, keys) < 200
