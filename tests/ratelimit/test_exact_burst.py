"""The token-bucket family against an exact-rational token bucket, at rates that are not dyadic.

A rate like 100 per minute has an emission interval (0.6 s) that no double holds exactly, so a
limiter that adds that interval up in floating point can round past its burst and refuse the
last unit of it. The reference below is a plain token bucket in :class:`fractions.Fraction`:
every time the clock shows is a double, hence an exact rational, and the reference does no
rounding at all. At one instant the float limiters must agree with it exactly (whole units are
the only quantities involved); over time they must agree wherever the reference's margin is not
within rounding distance of a whole unit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock

MEMORY = (rl.TokenBucket, rl.GCRA, rl.LeakyBucketQueue, rl.LeakyBucket)

#: how close (in units) to a whole unit the exact margin may come before float rounding of
#: the clock itself (not the limiter) could decide the answer either way
TIE = Fraction(1, 10**5)


class Reference:
    """A token bucket in exact rationals: ``burst`` tokens, ``rate`` more every ``per`` s."""

    def __init__(self, rate: float, per: float, burst: int) -> None:
        self.fill = Fraction(rate) / Fraction(per)
        self.burst = Fraction(burst)
        self.tokens: Fraction | None = None
        self.stamp = Fraction(0)

    def margin(self, now: float, cost: int) -> Fraction:
        """Tokens left if ``cost`` were taken at ``now`` (negative: refused)."""
        t = Fraction(now)
        tokens = self.burst if self.tokens is None else self.tokens
        if self.tokens is not None and t > self.stamp:
            tokens = min(self.burst, tokens + (t - self.stamp) * self.fill)
        return tokens - cost

    def allow(self, now: float, cost: int) -> tuple[bool, int]:
        """(admitted, remaining) as the exact token bucket answers them."""
        left = self.margin(now, cost)
        t = Fraction(now)
        if self.tokens is None or t > self.stamp:
            self.stamp = t
        if left >= 0:
            self.tokens = left
            return True, math.floor(left)
        self.tokens = left + cost
        return False, math.floor(left + cost)


def close_to_whole(x: Fraction) -> bool:
    """Within rounding distance of a whole number without being one."""
    return x.denominator != 1 and abs(x - round(x)) < TIE


rationals = st.tuples(
    st.integers(1, 1000),
    st.sampled_from([1, 3, 7, 10, 60, 100]),
    st.integers(1, 3600),
    st.sampled_from([1, 3, 7, 10, 60]),
).map(lambda t: (t[0] / t[1], t[2] / t[3]))


#: rates whose units at ``time.time()`` (1.7e9 s) are past 2^53: counted from time zero, a
#: unit added there would add nothing
high_rates = st.tuples(
    st.sampled_from([1e7, 3e7, 1e8, 1e9, 1e7 / 3]), st.sampled_from([1.0, 0.7, 60.0])
).map(lambda t: (t[0] * t[1], t[1]))

settings_ = st.one_of(
    st.sampled_from([(100.0, 60.0), (3.0, 0.7), (10.0, 0.7), (1 / 3, 1.0), (600.0, 60.0)]),
    rationals,
    high_rates,
)
starts = st.one_of(st.sampled_from([0.0, 12345.678, 1.7e9]), st.floats(0, 1e9))


def at_one_instant(limiter: Any, reference: Reference, now: float, burst: int) -> None:
    for i in range(burst + 3):
        expected, remaining = reference.allow(now, 1)
        decision = limiter.allow("k")
        assert bool(decision) == expected, (type(limiter).__name__, i, decision)
        assert decision.remaining == remaining, (type(limiter).__name__, i, decision)


@given(setting=settings_, burst=st.integers(1, 120), start=starts)
@example(setting=(100.0, 60.0), burst=100, start=0.0)
@example(setting=(3.0, 0.7), burst=8, start=0.0)
@example(setting=(3.0, 0.7), burst=10, start=1.7e9)
@example(setting=(1e7, 1.0), burst=100, start=1.7e9)
@example(setting=(1e9, 1.0), burst=3, start=1e6)
def test_a_fresh_key_gets_its_whole_burst_at_one_instant(
    setting: tuple[float, float], burst: int, start: float
) -> None:
    rate, per = setting
    for cls in MEMORY:
        limiter = cls(rate, per, burst, clock=ManualClock(start))
        at_one_instant(limiter, Reference(rate, per, burst), start, burst)


def over_time(
    limiter: Any, clock: ManualClock, rate: float, per: float, burst: int, seq: Any
) -> None:
    reference = Reference(rate, per, burst)
    interval = per / rate
    for gap, cost in seq:
        clock.advance(gap * interval)
        cost = min(cost, burst)
        margin = reference.margin(clock.now, cost)
        if close_to_whole(margin) or close_to_whole(margin + cost):
            return  # the clock's own rounding decides this one: stop comparing
        expected, remaining = reference.allow(clock.now, cost)
        decision = limiter.allow("k", cost)
        name = type(limiter).__name__
        assert bool(decision) == expected, (name, clock.now, cost, decision, margin)
        assert decision.remaining == remaining, (name, clock.now, cost, decision, margin)
        if decision:  # remaining is a promise: that many more units pass right now
            for _ in range(remaining):
                assert limiter.peek("k", 1), (name, clock.now, decision)
            if remaining + 1 <= burst:
                assert not limiter.peek("k", remaining + 1), (name, clock.now, decision)


gaps = st.lists(
    st.tuples(st.one_of(st.just(0.0), st.floats(0.0, 3.0)), st.integers(1, 3)), max_size=60
)


@given(setting=settings_, burst=st.integers(1, 40), start=st.floats(0, 1e5), seq=gaps)
@example(setting=(100.0, 60.0), burst=100, start=0.0, seq=[(0.0, 1)] * 101)
def test_the_family_matches_an_exact_token_bucket_over_time(
    setting: tuple[float, float], burst: int, start: float, seq: Any
) -> None:
    rate, per = setting
    for cls in MEMORY:
        clock = ManualClock(start)
        over_time(cls(rate, per, burst, clock=clock), clock, rate, per, burst, seq)


@given(
    setting=high_rates,
    burst=st.integers(1, 40),
    start=st.one_of(st.just(1.7e9), st.floats(1e9, 2e9)),
    seq=gaps,
)
@example(setting=(1e7, 1.0), burst=10, start=1.7e9, seq=[(0.0, 1)] * 12 + [(1.0, 1)] * 5)
def test_the_family_matches_an_exact_token_bucket_at_a_high_rate_on_an_epoch_clock(
    setting: tuple[float, float], burst: int, start: float, seq: Any
) -> None:
    """At ``time.time()`` and millions of units a second the clock's own ulp is several units:
    the limiters must still count every unit the clock shows passing, and every unit taken."""
    rate, per = setting
    for cls in MEMORY:
        clock = ManualClock(start)
        over_time(cls(rate, per, burst, clock=clock), clock, rate, per, burst, seq)


_names = itertools.count()


@pytest.mark.redis
@settings(max_examples=25)
@given(setting=settings_, burst=st.integers(1, 60), start=starts, seq=gaps)
@example(setting=(3.0, 0.7), burst=8, start=0.0, seq=[])
@example(setting=(100.0, 60.0), burst=100, start=1.7e9, seq=[])
@example(setting=(1e7, 1.0), burst=60, start=1.7e9, seq=[(0.0, 1)] * 3 + [(2.0, 2)] * 5)
def test_the_redis_buckets_match_the_exact_token_bucket(
    live_redis_url: Callable[[], str],
    setting: tuple[float, float],
    burst: int,
    start: float,
    seq: Any,
) -> None:
    import redis

    from designpatterns_ref.ratelimit import redis as rr

    rate, per = setting
    client = redis.Redis.from_url(live_redis_url(), socket_timeout=5)
    try:
        for cls in (rr.TokenBucket, rr.GCRA, rr.LeakyBucket):
            prefix = f"exact{next(_names)}"
            clock = ManualClock(start)
            limiter = cls(client, rate, per, burst, clock=clock, prefix=prefix, deadline=None)
            at_one_instant(limiter, Reference(rate, per, burst), start, burst)
            if start <= 1e5 or rate / per >= 1e6:
                clock = ManualClock(start)
                prefix = f"exact{next(_names)}"
                limiter = cls(client, rate, per, burst, clock=clock, prefix=prefix, deadline=None)
                over_time(limiter, clock, rate, per, burst, seq)
    finally:
        client.close()
