"""CircuitBreaker refuses a clock reading that is not a finite number of seconds with
ResilienceError, in every state, and records nothing: a NaN start made every call "slow"
(``nan - start < limit`` is false), a NaN open time kept the breaker open for ever, True
passed for second 1, and a str or None failed with a bare TypeError, a half-open permit
taken and never given back."""

from __future__ import annotations

import asyncio
import copy
import math
from typing import Any

import pytest

from designpatterns_ref.resilience import CircuitBreaker, ResilienceError
from designpatterns_ref.resilience.base import count_value

BAD: list[Any] = [math.nan, math.inf, -math.inf, True, "1", None, 10**400]
IDS = ["nan", "inf", "-inf", "True", "str", "None", "10**400"]
CLOCK = r"clock\(\) returned"


def _state(b: CircuitBreaker) -> Any:
    return (
        b._state, b._generation, b._opened_at, b._half_opened_at, b._permits, list(b._trial),
        list(b._counts), dict(b._transitions), count_value(b._fast_successes),
        copy.deepcopy(vars(b._window)) if hasattr(b._window, "__dict__") else
        [copy.deepcopy(getattr(b._window, s, None)) for s in type(b._window).__slots__],
    )  # fmt: skip


def _prepared(how: str, now: list[Any], window_type: str) -> CircuitBreaker:
    b = CircuitBreaker(window_type=window_type, window_size=4, minimum_calls=2,
                       wait_in_open=10.0, half_open_calls=2, record=ConnectionError,
                       clock=lambda: now[0])  # fmt: skip
    b.call(lambda: 1)
    if how in ("open", "half-open"):
        while b.state.value != "open":
            with pytest.raises(ConnectionError):
                b.call(_fail)
    if how == "half-open":
        now[0] += 11.0
        b.call(lambda: 1)  # half-open: one of two trial calls made
    return b


def _fail() -> None:
    raise ConnectionError


@pytest.mark.parametrize("window_type", ["count", "time"])
@pytest.mark.parametrize("how", ["closed", "open", "half-open"])
@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_a_bad_clock_reading_is_refused_and_records_nothing(
    bad: Any, how: str, window_type: str
) -> None:
    now: list[Any] = [100.0]
    b = _prepared(how, now, window_type)
    if how == "open":
        now[0] += 11.0  # the wait is over: the next call would go half-open
    before = _state(b)
    now[0] = bad
    ran: list[int] = []

    def with_block() -> None:
        with b:
            ran.append(1)

    for call in (
        lambda: b.call(lambda: ran.append(1)),
        lambda: asyncio.run(b.acall(_async(ran))),
        with_block,
        b.metrics,
        b.reset,
    ):
        with pytest.raises(ResilienceError, match=CLOCK):
            call()
        assert _state(b) == before and not ran


def _async(ran: list[int]) -> Any:
    async def body() -> None:
        ran.append(1)

    return body


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_a_bad_reading_after_the_call_gives_the_permit_back(bad: Any) -> None:
    now: list[Any] = [100.0]
    b = _prepared("half-open", now, "count")
    before = _state(b)
    readings = iter([now[0], bad])
    b._clock = lambda: next(readings)
    with pytest.raises(ResilienceError, match=CLOCK):
        b.call(lambda: 1)
    assert _state(b) == before


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_timeout_and_retry_refuse_a_bad_reading(bad: Any) -> None:
    """A NaN start made ``now > start + seconds`` false: a call past its limit passed; and a
    retry's deadline was never reached."""
    from designpatterns_ref.resilience import Retry, Timeout
    from designpatterns_ref.resilience.timeout import remaining

    ran: list[int] = []
    timeout = Timeout(1.0, clock=lambda: bad)
    with pytest.raises(ResilienceError, match=CLOCK):
        timeout.call(lambda: ran.append(1))
    now: list[Any] = [0.0]

    def inside() -> float:
        now[0] = bad
        return remaining()

    with pytest.raises(ResilienceError, match=CLOCK):
        Timeout(1.0, clock=lambda: now[0]).call(inside)
    retry = Retry(attempts=3, deadline=5.0, clock=lambda: bad, sleep=lambda _: None)
    with pytest.raises(ResilienceError, match=CLOCK):
        retry.call(lambda: ran.append(1))
    assert not ran and retry.stats().retries == 0


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_hedge_refuses_a_bad_reading_and_records_no_latency(bad: Any) -> None:
    """A NaN latency entered the percentile estimate: every later delay was NaN."""
    from designpatterns_ref.resilience import Hedge

    now: list[Any] = [0.0]
    hedge = Hedge(clock=lambda: now[0], min_samples=1)
    hedge.call(lambda: 1)
    before = (hedge.calls, hedge.hedged, hedge.current_delay())
    now[0] = bad
    ran: list[int] = []
    with pytest.raises(ResilienceError, match=CLOCK):
        hedge.call(lambda: ran.append(1))
    assert not ran and (hedge.calls, hedge.hedged, hedge.current_delay()) == before


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_fault_schedule_refuses_a_bad_reading_and_counts_nothing(bad: Any) -> None:
    """A NaN time is in no phase: the scheduled faults silently stopped."""
    from designpatterns_ref.resilience.chaos import FaultSchedule, Phase

    schedule = FaultSchedule([Phase(0, 1e9, error_rate=1.0)], clock=lambda: bad)
    ran: list[int] = []
    with pytest.raises(ResilienceError, match=CLOCK):
        schedule.inject(lambda: ran.append(1))()
    assert not ran and schedule.stats.calls == 0 and schedule.stats.errors == 0
