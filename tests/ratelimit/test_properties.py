"""Property tests: on any arrival sequence, each algorithm keeps its own promise.

Arrivals are generated on a ManualClock: gaps in milliseconds (often zero, so requests
collide), costs from 1 to the burst. For each algorithm the budget is checked over every
window of *its own* definition: an interval bound for the buckets, aligned windows for the
fixed window, every sliding window for the log.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock

EPS = 1e-9

gaps = st.one_of(st.just(0), st.integers(0, 50), st.integers(0, 3000))
steps = st.lists(st.tuples(gaps, st.integers(1, 4), st.booleans()), max_size=60)
params = st.tuples(st.integers(1, 8), st.sampled_from([0.25, 0.5, 1.0, 3.0]), st.integers(4, 8))

BUCKETS: dict[str, Callable[..., Any]] = {
    "token_bucket": rl.TokenBucket,
    "gcra": rl.GCRA,
    "leaky_bucket": rl.LeakyBucket,
    "leaky_queue": rl.LeakyBucketQueue,
}
WINDOWS: dict[str, Callable[..., Any]] = {
    "fixed_window": rl.FixedWindow,
    "sliding_log": rl.SlidingWindowLog,
    "sliding_counter": rl.SlidingWindowCounter,
}


def build(name: str, rate: int, per: float, burst: int, clock: ManualClock) -> Any:
    if name in BUCKETS:
        return BUCKETS[name](rate, per, burst, clock=clock)
    if name in WINDOWS:
        return WINDOWS[name](burst, per, clock=clock)
    return rl.ConcurrencyLimiter(burst, lease=per, clock=clock)


ALL = [*BUCKETS, *WINDOWS, "concurrency"]


def replay(
    name: str, p: tuple[int, float, int], seq: list[tuple[int, int, bool]]
) -> tuple[Any, list[tuple[float, int, rl.Decision]]]:
    """Run the allows of ``seq`` (peeks skipped); return (limiter, [(t, cost, decision)])."""
    clock = ManualClock()
    limiter = build(name, *p, clock)
    out = []
    for gap, cost, _ in seq:
        clock.advance(gap / 1000)
        out.append((clock.now, cost, limiter.allow("k", cost)))
    return limiter, out


def check_budget(name: str, p: tuple[int, float, int], log: list[Any]) -> None:
    rate, per, burst = p
    admitted = [(t, c, d) for t, c, d in log if d]
    if name in BUCKETS:  # over [t_i, t_j]: at most burst + rate * (t_j - t_i) / per
        for i, (ti, _, _) in enumerate(admitted):
            spent = 0
            for tj, cj, _ in admitted[i:]:
                spent += cj
                assert spent <= burst + rate * (tj - ti) / per + EPS, (ti, tj, spent)
    if name == "leaky_queue":  # starts are spaced by the service time of what went before
        starts = [(t + d.delay, c) for t, c, d in admitted]
        for (s0, c0), (s1, _) in itertools.pairwise(starts):
            assert s1 >= s0 + c0 * per / rate - EPS
    if name in ("fixed_window", "sliding_counter"):  # every aligned window
        counts: dict[int, int] = {}
        for t, c, _ in admitted:
            counts[math.floor(t / per)] = counts.get(math.floor(t / per), 0) + c
        assert max(counts.values(), default=0) <= burst
    if name in ("sliding_log", "sliding_counter", "concurrency"):  # every sliding window
        cap = 2 * burst if name == "sliding_counter" else burst
        for t, _, _ in admitted:
            if name == "concurrency":  # a hold is live until its own expiry, s + lease
                live = sum(c for s, c, _ in admitted if s <= t < s + per)
            else:
                live = sum(c for s, c, _ in admitted if t - per < s <= t)
            assert live <= cap, (t, live)


@given(p=params, seq=steps)
def test_no_algorithm_admits_more_than_its_budget(p: tuple[int, float, int], seq: Any) -> None:
    for name in ALL:
        _, log = replay(name, p, seq)
        check_budget(name, p, log)


@given(
    now=st.floats(0, 1e7, allow_nan=False),
    rate=st.floats(0.01, 1e4),
    per=st.floats(1e-3, 1e5),
    burst=st.integers(1, 50),
)
def test_a_key_never_seen_admits_its_whole_limit_at_any_time(
    now: float, rate: float, per: float, burst: int
) -> None:
    """Float rounding must never refuse a fresh key (``(now + x) - x`` need not be ``now``)."""
    clock = ManualClock(now)
    for name in ALL:
        limiter = build(name, rate, per, burst, clock)  # type: ignore[arg-type]
        decision = limiter.peek("fresh", limiter.limit)
        assert decision, (name, decision)
        assert limiter.allow("fresh", limiter.limit) == decision, name


@given(p=params, seq=steps)
def test_peek_never_changes_state(p: tuple[int, float, int], seq: Any) -> None:
    for name in ALL:
        _, plain = replay(name, p, seq)
        clock = ManualClock()
        limiter = build(name, *p, clock)
        for (gap, cost, peek_first), (_, _, expected) in zip(seq, plain, strict=True):
            clock.advance(gap / 1000)
            if peek_first:
                assert limiter.peek("k", cost) == expected
                limiter.peek("k", 1)
            assert limiter.allow("k", cost) == expected


@given(p=params, seq=steps)
def test_retry_after_is_honoured_and_tight(p: tuple[int, float, int], seq: Any) -> None:
    for name in ALL:
        clock = ManualClock()
        limiter = build(name, *p, clock)
        for gap, cost, _ in seq:
            clock.advance(gap / 1000)
            now = clock.now
            decision = limiter.allow("k", cost)
            if decision:
                continue
            assert decision.retry_after > 0
            clock.set(now + decision.retry_after)
            assert limiter.peek("k", cost), (name, now, decision)
            if decision.retry_after > 1e-5:
                clock.set(now + decision.retry_after - 1e-6, allow_backwards=True)
                assert not limiter.peek("k", cost), (name, now, decision)
            clock.set(now, allow_backwards=True)


@given(p=params, seq=steps)
def test_a_rejected_call_leaves_state_unchanged(p: tuple[int, float, int], seq: Any) -> None:
    for name in ALL:
        clock = ManualClock()
        limiter = build(name, *p, clock)
        for gap, cost, _ in seq:
            clock.advance(gap / 1000)
            before = copy.deepcopy(limiter._states)
            if not limiter.allow("k", cost):
                assert limiter._states == before


dyadic = st.tuples(
    st.sampled_from([1, 2, 4, 8]), st.sampled_from([0.5, 1.0, 2.0]), st.integers(1, 8)
)


@given(p=dyadic, seq=st.lists(st.tuples(st.integers(0, 64), st.integers(1, 8)), max_size=80))
def test_token_bucket_gcra_and_leaky_meter_are_one_policy(
    p: tuple[int, float, int], seq: list[tuple[int, int]]
) -> None:
    rate, per, burst = p
    clock = ManualClock()
    limiters = [cls(rate, per, burst, clock=clock) for cls in (rl.TokenBucket, rl.GCRA)]
    limiters.append(rl.LeakyBucket(rate, per, burst, clock=clock))
    for gap, cost in seq:
        clock.advance(gap / 64)  # dyadic times: every float operation is exact
        cost = min(cost, burst)
        answers = {bool(limiter.allow("k", cost)) for limiter in limiters}
        assert len(answers) == 1


@given(p=params, seq=steps)
def test_all_of_consumes_from_none_when_one_denies(p: tuple[int, float, int], seq: Any) -> None:
    rate, per, burst = p
    clock = ManualClock()
    fast = rl.TokenBucket(rate, per, burst, clock=clock)
    slow = rl.SlidingWindowLog(burst, per * 3, clock=clock)
    both = rl.all_of(fast, slow)
    for gap, cost, _ in seq:
        clock.advance(gap / 1000)
        states = copy.deepcopy((fast._states, slow._states))
        expected = bool(fast.peek("k", cost)) and bool(slow.peek("k", cost))
        decision = both.allow("k", cost)
        assert bool(decision) == expected
        if not decision:
            assert (fast._states, slow._states) == states
            assert decision.retry_after > 0


def test_a_clock_that_steps_back_earns_no_credit() -> None:
    for name in ALL:
        clock = ManualClock(10.0)
        limiter = build(name, 2, 1.0, 4, clock)
        limiter.allow("k", 4)
        clock.set(5.0, allow_backwards=True)
        assert not limiter.allow("k"), name
        clock.set(10.0)
        assert not limiter.allow("k"), name


@given(
    p=params,
    seq=st.lists(st.tuples(st.integers(-3000, 3000), st.integers(1, 8)), max_size=60),
)
def test_the_queue_starts_requests_in_order_and_spaced_when_the_clock_steps_back(
    p: tuple[int, float, int], seq: list[tuple[int, int]]
) -> None:
    """While the clock reads earlier than a key's stamp, time stands still for the key: what
    is queued does not drain, so a request admitted then starts after it, in the limiter's
    own clock (its delay counts the way back to the stamp), and ends when the queue drains."""
    rate, per, burst = p
    service = per / rate  # seconds one unit occupies
    clock = ManualClock(1_000.0)
    queue = rl.LeakyBucketQueue(rate, per, burst, clock=clock)
    starts = []
    for gap, cost in seq:
        clock.set(clock.now + gap / 1000, allow_backwards=True)
        cost = min(cost, burst)
        decision = queue.allow("k", cost)
        if decision:
            starts.append((clock.now + decision.delay, cost))
            # the request joins last: its service ends when the whole queue has drained
            assert math.isclose(
                decision.delay + cost * service, decision.reset_after, rel_tol=1e-9
            ), (clock.now, decision)
    for (s0, c0), (s1, _) in itertools.pairwise(starts):
        assert s1 >= s0 + c0 * service - EPS, (s0, c0, s1)


def test_honest_wait_gives_up_on_a_broken_clock() -> None:
    from designpatterns_ref.ratelimit.base import honest_wait

    assert honest_wait(lambda t: t >= 1.0, math.nan, 0.5) == math.inf
    assert honest_wait(lambda t: False, 0.0, 0.5) == math.inf
