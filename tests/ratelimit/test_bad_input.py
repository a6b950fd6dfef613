"""Bad input at the rate limiters: RateLimitError naming the argument, and nothing changed.

The broad sweep (every entry point against the shared hostile values) is the fuzz suite's
(``tests/fuzz/families/ratelimit.py``); here are the cases the issue found, each on every
limiter and in every state a key can be in: a clock gone wrong (NaN, infinities), unhashable
keys, and integers too large for a double.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.ratelimit import RateLimitError

from .test_properties import ALL, build

BAD_TIMES = [math.nan, math.inf, -math.inf]
HUGE = 10**400


class Clock:
    """A clock whose value the test sets, bad ones included."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _states(limiter: Any) -> Any:
    return copy.deepcopy(limiter._states)


def _prepared(name: str, how: str) -> tuple[Any, Clock]:
    """A limiter of 4 per second (burst 4) whose key "k" is fresh, in use, or refused."""
    clock = Clock()
    limiter = build(name, 4, 1.0, 4, clock)  # type: ignore[arg-type]
    if how in ("used", "full"):
        limiter.allow("k")
    if how == "full":
        while limiter.allow("k"):
            pass
    if how == "idle":
        limiter.allow("k")
        clock.now += 10.0  # every unit back, every hold expired
    return limiter, clock


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("how", ["fresh", "used", "full", "idle"])
@pytest.mark.parametrize("bad", BAD_TIMES, ids=["nan", "inf", "-inf"])
def test_a_clock_gone_wrong_is_refused_and_changes_nothing(name: str, how: str, bad: float) -> None:
    limiter, clock = _prepared(name, how)
    before = _states(limiter)
    clock.now = bad
    calls: list[Callable[[], object]] = [
        lambda: limiter.allow("k"),
        lambda: limiter.peek("k"),
        lambda: limiter.allow("other"),
        limiter.forget_idle,
        lambda: rl.all_of(limiter).allow("k"),
    ]
    if name == "concurrency":
        calls.append(lambda: limiter.release("k"))

        def hold() -> None:
            with limiter.hold("k"):
                pass

        calls.append(hold)
    for call in calls:
        with pytest.raises(RateLimitError, match="clock"):
            call()
        assert _states(limiter) == before
    clock.now = 100.0 + (10.0 if how == "idle" else 0.0)
    limiter.peek("k")  # still usable once the clock is sane


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("key", [[1, 2], {"a": 1}, {1}, bytearray(b"x")], ids=repr)
def test_an_unhashable_key_is_refused_naming_the_key(name: str, key: object) -> None:
    limiter, _ = _prepared(name, "used")
    before = _states(limiter)
    for call in (limiter.allow, limiter.peek, limiter.reset, rl.all_of(limiter).allow):
        with pytest.raises(RateLimitError, match="key="):
            call(key)  # type: ignore[operator]
    assert _states(limiter) == before


FACTORIES: dict[str, Callable[[object], object]] = {
    "rate": lambda v: rl.TokenBucket(v),  # type: ignore[arg-type]
    "per": lambda v: rl.GCRA(5, v),  # type: ignore[arg-type]
    "burst": lambda v: rl.LeakyBucket(5, 1.0, v),  # type: ignore[arg-type]
    "window rate": lambda v: rl.SlidingWindowCounter(v),  # type: ignore[arg-type]
    "lease": lambda v: rl.ConcurrencyLimiter(3, lease=v),  # type: ignore[arg-type]
    "limit": lambda v: rl.ConcurrencyLimiter(v),  # type: ignore[arg-type]
    "steady rate": lambda v: rl.steady(v, 1.0),  # type: ignore[arg-type]
    "bursts size": lambda v: rl.bursts(v, 1.0, 1.0),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("field", list(FACTORIES))
@pytest.mark.parametrize(
    "value", [HUGE, -HUGE, 2**53 + 1, 1e308 * 10], ids=["10**400", "-10**400", "2**53+1", "inf"]
)
def test_numbers_beyond_a_double_are_refused(field: str, value: object) -> None:
    if field in ("rate", "per", "lease") and value == 2**53 + 1:
        FACTORIES[field](value)  # a real number that a double holds: allowed
        return
    with pytest.raises(RateLimitError):
        FACTORIES[field](value)


@pytest.mark.parametrize("name", ALL)
def test_a_huge_cost_is_refused_naming_the_cost(name: str) -> None:
    limiter, _ = _prepared(name, "used")
    before = _states(limiter)
    for cost in (HUGE, 10**5000, -HUGE):
        with pytest.raises(RateLimitError, match="cost="):
            limiter.allow("k", cost)
    assert _states(limiter) == before


def test_rate_and_per_whose_interval_overflows_are_refused() -> None:
    with pytest.raises(RateLimitError, match="out of range"):
        rl.GCRA(5e-324, 1.0)
    with pytest.raises(RateLimitError, match="out of range"):
        rl.TokenBucket(1e300, 1e-300)


def test_traffic_generators_refuse_sizes_beyond_their_maximum() -> None:
    from designpatterns_ref.ratelimit.traffic import MAX_ARRIVALS

    with pytest.raises(RateLimitError, match="at most"):
        rl.steady(1e12, 1.0)
    with pytest.raises(RateLimitError, match="at most"):
        rl.poisson(MAX_ARRIVALS, 2.0)
    with pytest.raises(RateLimitError, match="at most"):
        rl.bursts(1000, 1e-9, 1.0)
    with pytest.raises(RateLimitError, match="seed"):
        rl.poisson(5.0, 1.0, seed=[1])  # type: ignore[arg-type]


def test_simulate_checks_every_arrival_before_replaying_any() -> None:
    from designpatterns_ref.clock import ManualClock

    clock = ManualClock()
    limiter = rl.TokenBucket(3, clock=clock)
    for arrivals in ([0.0, 0.5, math.nan], [0.0, 2.0, 1.0], None, b"ab", [0.0, "1"]):
        with pytest.raises(RateLimitError, match="arrival"):
            rl.simulate(limiter, arrivals)  # type: ignore[arg-type]
        assert clock.now == 0.0 and limiter.tracked_keys() == 0
