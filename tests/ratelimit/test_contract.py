"""One contract, every algorithm, both backends: what a caller of any limiter may rely on."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import Decision, RateLimitError

from .conftest import LIMIT

Make = Callable[[ManualClock], Any]


def test_first_request_is_admitted_and_decision_is_well_formed(make: Make) -> None:
    limiter = make(ManualClock(100.0))
    decision = limiter.allow("alice")
    assert isinstance(decision, Decision)
    assert decision and decision.allowed is True
    assert decision.limit == LIMIT
    assert decision.remaining == LIMIT - 1
    assert decision.retry_after == 0.0
    assert decision.reset_after > 0
    assert decision.headers()["RateLimit-Remaining"] == str(LIMIT - 1)
    assert "Retry-After" not in decision.headers()


@pytest.mark.parametrize("now", [0.1, 0.7, 1234.567])
def test_a_fresh_key_admits_the_whole_limit_at_an_awkward_time(make: Make, now: float) -> None:
    # (0.1 + 1.0) - 1.0 is 0.10000000000000009: absolute-time arithmetic would refuse this
    limiter = make(ManualClock(now))
    assert limiter.allow("fresh", LIMIT)
    assert not limiter.peek("fresh")


def test_the_limit_holds_then_retry_after_is_honoured(make: Make) -> None:
    clock = ManualClock(100.0)
    limiter = make(clock)
    assert all(limiter.allow("alice") for _ in range(LIMIT))
    denied = limiter.allow("alice")
    assert not denied and denied.allowed is False
    assert denied.remaining == 0
    assert 0 < denied.retry_after < math.inf
    headers = denied.headers()
    assert int(headers["Retry-After"]) >= denied.retry_after
    clock.advance(denied.retry_after)
    assert limiter.allow("alice")


def test_keys_are_independent(make: Make) -> None:
    limiter = make(ManualClock(100.0))
    for _ in range(LIMIT):
        limiter.allow("alice")
    assert not limiter.allow("alice")
    assert limiter.allow("bob")


def test_peek_consumes_nothing(make: Make) -> None:
    limiter = make(ManualClock(100.0))
    for _ in range(3 * LIMIT):
        assert limiter.peek("alice")
    assert limiter.peek("alice") == limiter.allow("alice")
    assert sum(bool(limiter.allow("alice")) for _ in range(LIMIT)) == LIMIT - 1


def test_reset_forgets_the_key(make: Make) -> None:
    limiter = make(ManualClock(100.0))
    for _ in range(LIMIT):
        limiter.allow("alice")
    limiter.reset("alice")
    assert limiter.allow("alice").remaining == LIMIT - 1


def test_cost_spends_several_units(make: Make) -> None:
    limiter = make(ManualClock(100.0))
    assert limiter.allow("alice", cost=3).remaining == LIMIT - 3
    assert not limiter.allow("alice", cost=2)
    assert limiter.allow("alice", cost=1)


@pytest.mark.parametrize("cost", [0, -1, 1.0, 1.5, True, "1", None, LIMIT + 1])
def test_bad_cost_raises_and_changes_nothing(make: Make, cost: object) -> None:
    limiter = make(ManualClock(100.0))
    limiter.allow("alice")
    before = limiter.peek("alice")
    with pytest.raises(RateLimitError, match="cost"):
        limiter.allow("alice", cost)
    with pytest.raises(ValueError):
        limiter.peek("alice", cost)
    assert limiter.peek("alice") == before


def test_denied_requests_spend_nothing(make: Make) -> None:
    clock = ManualClock(100.0)
    limiter = make(clock)
    limiter.allow("alice", cost=LIMIT - 1)
    before = limiter.peek("alice")
    for _ in range(5):
        assert not limiter.allow("alice", cost=2)
    assert limiter.peek("alice") == before


class Plan(enum.StrEnum):
    FREE = "free"
    SEVEN = "7"


class Tier(str, enum.Enum):  # noqa: UP042 (the older mixin: str() of it is "Tier.FREE")
    FREE = "free"


class Seat(enum.IntEnum):
    SEVEN = 7


def test_an_enum_key_is_the_key_of_its_plain_value(make: Make) -> None:
    limiter = make(ManualClock(100.0))
    assert limiter.allow(Plan.FREE, LIMIT - 2)
    assert limiter.allow(Tier.FREE)
    assert limiter.allow("free")  # the last unit: the three are one key
    assert not limiter.peek(Plan.FREE) and not limiter.peek(Tier.FREE)
    assert limiter.allow(Seat.SEVEN, LIMIT)
    assert not limiter.peek(7)
    assert limiter.peek(Plan.SEVEN, LIMIT)  # "7" is another key than 7
    limiter.reset(Seat.SEVEN)
    assert limiter.peek(7, LIMIT)


def test_all_of_admits_only_when_every_part_admits(make: Make) -> None:
    clock = ManualClock(100.0)
    a, b = make(clock), make(clock)
    if hasattr(a, "client"):  # two Redis limiters of one kind need distinct names
        from designpatterns_ref.ratelimit import redis as rr

        b.name += ":second"
        both = rr.all_of(a, b)
    elif hasattr(a, "path"):
        from designpatterns_ref.ratelimit import sqlite

        both = sqlite.all_of(a, b)
    else:
        both = rl.all_of(a, b)
    b.allow("alice", cost=LIMIT)  # b is exhausted, a is full
    assert not both.allow("alice")
    assert a.peek("alice", cost=LIMIT)  # ... and a spent nothing
    b.reset("alice")
    assert both.allow("alice").remaining == LIMIT - 1


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (lambda: rl.TokenBucket(0), "rate"),
        (lambda: rl.TokenBucket(-1), "rate"),
        (lambda: rl.TokenBucket(math.nan), "rate"),
        (lambda: rl.TokenBucket(math.inf), "rate"),
        (lambda: rl.TokenBucket("5"), "rate"),
        (lambda: rl.TokenBucket(True), "rate"),
        (lambda: rl.TokenBucket(5, per=0), "per"),
        (lambda: rl.TokenBucket(5, burst=0), "burst"),
        (lambda: rl.TokenBucket(5, burst=2.5), "burst"),
        (lambda: rl.GCRA(5, per=-1), "per"),
        (lambda: rl.LeakyBucket(0), "rate"),
        (lambda: rl.LeakyBucketQueue(5, burst=-3), "burst"),
        (lambda: rl.FixedWindow(2.5), "rate"),
        (lambda: rl.FixedWindow(0), "rate"),
        (lambda: rl.SlidingWindowLog(-4), "rate"),
        (lambda: rl.SlidingWindowCounter(4, per=math.inf), "per"),
        (lambda: rl.ConcurrencyLimiter(0), "limit"),
        (lambda: rl.ConcurrencyLimiter(2, lease=0), "lease"),
        (lambda: rl.TokenBucket(5, clock=3), "clock"),
        (lambda: rl.all_of(), "at least one"),
        (lambda: rl.all_of(object()), "not an in-memory limiter"),
        (lambda: rl.all_of(*[rl.GCRA(5)] * 2), "twice"),
    ],
)
def test_bad_limits_raise_naming_the_field(factory: Callable[[], object], field: str) -> None:
    with pytest.raises(RateLimitError, match=field):
        factory()


def test_decision_headers() -> None:
    denied = Decision(False, 10, 0, 0.2, 3.5)
    assert denied.headers() == {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "4",
        "Retry-After": "1",
    }
    assert "Retry-After" not in Decision(False, 1, 0, math.inf, math.inf).headers()
    with pytest.raises(AttributeError):
        denied.allowed = True  # type: ignore[misc]


def test_default_clock_is_monotonic() -> None:
    import time

    assert rl.TokenBucket(5).clock is time.monotonic
