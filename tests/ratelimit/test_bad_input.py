"""Bad input at the rate limiters: RateLimitError naming the argument, and nothing changed.

The broad sweep (every entry point against the shared hostile values) is the fuzz suite's
(``tests/fuzz/families/ratelimit.py``); here are the cases the issue found, each on every
limiter and in every state a key can be in: a clock gone wrong (NaN, infinities, a bool, a
str, None, an int past a float's range), unhashable keys, and integers too large for a double.
"""

from __future__ import annotations

import contextlib
import copy
import math
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import RateLimitError
from designpatterns_ref.ratelimit.backend import BackendUnavailable
from designpatterns_ref.ratelimit.base import MAX_LOG_COST
from designpatterns_ref.ratelimit.notation import LimitSyntaxError

from .test_properties import ALL, build

HUGE = 10**400
BAD_TIMES: list[object] = [math.nan, math.inf, -math.inf, True, "1", None, HUGE]


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
@pytest.mark.parametrize(
    "bad", BAD_TIMES, ids=["nan", "inf", "-inf", "True", "str", "None", "10**400"]
)
def test_a_clock_gone_wrong_is_refused_and_changes_nothing(
    name: str, how: str, bad: object
) -> None:
    limiter, clock = _prepared(name, how)
    before = _states(limiter)
    clock.now = bad  # type: ignore[assignment]
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


# --------------------------------------------------------------------------- text, acquire, SQLite

HOSTILE: list[object] = [None, True, False, math.nan, math.inf, -math.inf, HUGE, -HUGE, -1, 0,
                         "", "x" * 100_000, "\ud800", "1/second\ud800", b"1/second", 1.5,
                         [1], {"a": 1}, object()]  # fmt: skip


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
def test_written_limits_refuse_hostile_text(value: object) -> None:
    for call in (rl.parse_limits, rl.parse_limit, lambda t: rl.limiter_from_text(t, "gcra")):
        with pytest.raises(RateLimitError, match="text="):
            call(value)  # type: ignore[operator]


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
def test_limiter_from_text_refuses_a_hostile_algorithm_or_clock(value: object) -> None:
    with pytest.raises(RateLimitError, match="algorithm="):
        rl.limiter_from_text("1/second", value)  # type: ignore[arg-type]
    if value is not None:
        with pytest.raises(RateLimitError, match="clock="):
            rl.limiter_from_text("1/second", "gcra", clock=value)  # type: ignore[arg-type]


def _fine_timeout(value: object) -> bool:
    """None, or a finite number of seconds from 0 (not a bool): what ``timeout=`` accepts."""
    if value is None:
        return True
    if type(value) is int:
        return 0 <= value < 2**1000
    return type(value) is float and math.isfinite(value) and value >= 0


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
def test_acquire_refuses_a_hostile_timeout_or_cost_and_changes_nothing(
    name: str, value: object
) -> None:
    import asyncio

    limiter, clock = _prepared(name, "full")
    before, now = _states(limiter), clock.now
    if not _fine_timeout(value):
        with pytest.raises(RateLimitError, match="timeout="):
            limiter.acquire("k", timeout=value)
        with pytest.raises(RateLimitError, match="timeout="):
            asyncio.run(limiter.acquire_async("k", timeout=value))
    with pytest.raises(RateLimitError, match="cost="):
        limiter.acquire("k", value, timeout=0.0)
    assert _states(limiter) == before and clock.now == now


def _sqlite_rows(path: Any) -> list[Any]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT * FROM ratelimit ORDER BY name, key").fetchall()


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
def test_sqlite_limiters_refuse_hostile_values_and_change_nothing(
    tmp_path: Any, value: object
) -> None:
    from designpatterns_ref.clock import ManualClock
    from designpatterns_ref.ratelimit import sqlite as sq

    path = tmp_path / "bad.db"
    clock = ManualClock(5.0)
    bucket = sq.TokenBucket(path, 4, 1.0, 4, clock=clock)
    cap = sq.ConcurrencyLimiter(path, 4, lease=1.0, clock=clock)
    bucket.allow("k")
    cap.allow("k")
    before = _sqlite_rows(path)
    calls: list[Callable[[], object]] = [
        lambda: bucket.allow("k", value),  # type: ignore[arg-type]
        lambda: bucket.peek("k", value),  # type: ignore[arg-type]
        lambda: bucket.acquire("k", value),  # type: ignore[arg-type]
        lambda: bucket.acquire("k", timeout=-1 if _fine_timeout(value) else value),  # type: ignore[arg-type]
        lambda: cap.release("k", value),  # type: ignore[arg-type]
        lambda: sq.all_of(bucket, value),  # type: ignore[arg-type]
        lambda: sq.limiter_from_text(path, value, "gcra"),  # type: ignore[arg-type]
        lambda: sq.limiter_from_text(path, "1/second", value),  # type: ignore[arg-type]
        lambda: sq.FixedWindow(path, value),
        lambda: sq.TokenBucket(path, 4, 1.0, 4, name=value or ""),
        lambda: sq.TokenBucket(path, 4, 1.0, 4, on_error=value),
    ]
    fine_key = (isinstance(value, str) and value.isprintable()) or (
        type(value) is int and -(2**63) <= value < 2**63  # type: ignore[operator]
    )
    if value != 1.5:  # the one fine window length and busy_timeout here
        calls.append(lambda: sq.FixedWindow(path, 4, value))  # type: ignore[arg-type]
        calls.append(lambda: sq.TokenBucket(path, 4, 1.0, 4, busy_timeout=value))  # type: ignore[arg-type]
    if not fine_key:
        calls += [
            lambda: bucket.allow(value),  # type: ignore[arg-type]
            lambda: bucket.peek(value),  # type: ignore[arg-type]
            lambda: bucket.reset(value),  # type: ignore[arg-type]
            lambda: cap.release(value),  # type: ignore[arg-type]
        ]
    if value is not None and not (isinstance(value, str) and value.isprintable()):
        calls.append(lambda: sq.TokenBucket(value, 4))  # type: ignore[arg-type]
    for number, call in enumerate(calls):
        with pytest.raises(RateLimitError):
            call()
            pytest.fail(f"call {number} accepted {value!r:.40}")
        assert _sqlite_rows(path) == before


@pytest.mark.parametrize("path", [":memory:", "", "file:x.db?mode=memory", "a\x00b", "\ud800"])
def test_sqlite_refuses_a_path_no_other_process_could_open(path: str) -> None:
    from designpatterns_ref.ratelimit import sqlite as sq

    with pytest.raises(RateLimitError, match="path="):
        sq.GCRA(path, 5)


@pytest.mark.parametrize(
    "error",
    [
        rl.RateLimitExceeded(rl.Decision(False, 1, 0, 2.0, 2.0)),
        rl.RateLimitError("TokenBucket: rate=0 must be a positive number"),
        BackendUnavailable("Redis unreachable: down"),
        LimitSyntaxError("parse_limits", "10/fortnight", 3, "a unit"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_error_survives_a_pickle_round_trip(error: Exception) -> None:
    """A ProcessPoolExecutor sends a worker's exception back pickled."""
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert getattr(back, "decision", None) == getattr(error, "decision", None)


def test_a_sliding_log_refuses_a_cost_past_its_per_call_cap_on_every_backend(
    tmp_path: Any,
) -> None:
    """One entry per unit: a cost of millions would push millions of entries in one call."""
    from designpatterns_ref.ratelimit import sqlite

    clock = ManualClock(1000.0)
    limiters = [
        rl.SlidingWindowLog(5_000_000, 3600.0, clock=clock),
        sqlite.SlidingWindowLog(tmp_path / "x.db", 5_000_000, 3600.0, clock=clock),
        rl.all_of(rl.TokenBucket(10**7, 1.0, clock=clock), rl.SlidingWindowLog(10**7, 1.0)),
    ]
    for limiter in limiters:
        for cost in (MAX_LOG_COST + 1, 5_000_000):
            with pytest.raises(RateLimitError, match=rf"cost={cost} .* at most 10000 a call"):
                limiter.allow("k", cost)
        fresh = limiter.peek("k")  # nothing was taken
        assert fresh.remaining == fresh.limit - 1
        assert limiter.allow("k", MAX_LOG_COST)


def test_the_unit_and_notation_helpers_refuse_what_they_cannot_use() -> None:
    from designpatterns_ref.ratelimit.notation import distinct_limits
    from designpatterns_ref.ratelimit.units import quantum, since

    for call in (
        lambda: quantum("x"),  # type: ignore[arg-type]
        lambda: quantum(0.0),
        lambda: quantum(float("nan")),
        lambda: quantum(10**400),
        lambda: since(1.0, 0.0, 1.0, 0.0),
        lambda: since(None, 0.0, 1.0, 2.0**-40),  # type: ignore[arg-type]
        lambda: since(math.inf, 0.0, 1.0, 2.0**-40),
        lambda: quantum(1e308),
        lambda: since(1e308, -1e308, 1.0, 2.0**-40),
        lambda: since(10.0, 0.0, 1e308, 1e-300),
        lambda: distinct_limits(5),  # type: ignore[arg-type]
        lambda: distinct_limits(["60/minute"]),  # type: ignore[list-item]
    ):
        with pytest.raises(RateLimitError):
            call()
    assert quantum(1000) == 2.0**-42
