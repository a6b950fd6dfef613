"""ManualClock: moves only when told, refuses to go back unless asked, checks its input."""

from __future__ import annotations

import math
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.clock import ClockError, ManualClock, system_clock

steps = st.floats(min_value=0, max_value=1e6, allow_nan=False)


def test_starts_where_told_and_reads_by_calling() -> None:
    assert ManualClock()() == 0.0
    assert ManualClock(start=5)() == 5.0
    assert ManualClock(start=5).now == 5.0


@given(st.lists(steps, max_size=20))
def test_advance_accumulates_and_never_decreases(increments: list[float]) -> None:
    clock = ManualClock()
    previous = clock()
    for step in increments:
        clock.advance(step)
        assert clock() >= previous
        previous = clock()
    assert clock() == pytest.approx(math.fsum(increments), rel=1e-9, abs=1e-9)


def test_set_backwards_is_refused_and_changes_nothing() -> None:
    clock = ManualClock(start=10)
    with pytest.raises(ClockError, match="allow_backwards"):
        clock.set(9.5)
    assert clock() == 10.0
    clock.set(9.5, allow_backwards=True)
    assert clock() == 9.5


def test_set_forward_and_same_time() -> None:
    clock = ManualClock(start=1)
    clock.set(1)
    clock.set(3.25)
    assert clock() == 3.25


@pytest.mark.parametrize("bad", [-0.001, -5])
def test_negative_advance_refused(bad: float) -> None:
    clock = ManualClock(start=2)
    with pytest.raises(ClockError, match="negative"):
        clock.advance(bad)
    assert clock() == 2.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "1", True, None])
def test_non_numbers_refused_everywhere(bad: object) -> None:
    clock = ManualClock(start=2)
    with pytest.raises(ClockError):
        clock.advance(bad)  # type: ignore[arg-type]
    with pytest.raises(ClockError):
        clock.set(bad, allow_backwards=True)  # type: ignore[arg-type]
    with pytest.raises(ClockError):
        ManualClock(start=bad)  # type: ignore[arg-type]
    assert clock() == 2.0


# Ints past a float's range, some with too many digits to print (4,300 at most).
HUGE = {
    "2**1024": 2**1024,
    "10**5000": 10**5000,
    "-(10**5000)": -(10**5000),
    "[10**5000]": [10**5000],
}


@pytest.mark.parametrize("bad", list(HUGE.values()), ids=list(HUGE))
def test_ints_past_a_float_are_refused_everywhere(bad: object) -> None:
    clock = ManualClock(start=2)
    with pytest.raises(ClockError, match="seconds="):
        clock.advance(bad)  # type: ignore[arg-type]
    with pytest.raises(ClockError, match="t="):
        clock.set(bad, allow_backwards=True)  # type: ignore[arg-type]
    with pytest.raises(ClockError, match="start="):
        ManualClock(start=bad)  # type: ignore[arg-type]
    assert clock() == 2.0


def test_clock_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        ManualClock().advance(-1)


def test_threads_advancing_lose_no_step() -> None:
    clock = ManualClock()

    def work() -> None:
        for _ in range(2_000):
            clock.advance(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock() == 16_000.0


def test_system_clock_is_monotonic_seconds() -> None:
    a = system_clock()
    b = system_clock()
    assert b >= a
    assert abs(a - time.monotonic()) < 60


def test_repr_shows_time() -> None:
    assert repr(ManualClock(start=1.5)) == "ManualClock(now=1.5)"


@pytest.mark.parametrize("huge", [10**400, -(10**400), 10**5000], ids=["1e400", "-1e400", "1e5000"])
def test_ints_past_the_largest_float_refused_everywhere(huge: int) -> None:
    clock = ManualClock(start=2)
    with pytest.raises(ClockError, match="too large for seconds"):
        clock.advance(huge)
    with pytest.raises(ClockError, match="too large for seconds"):
        clock.set(huge, allow_backwards=True)
    with pytest.raises(ClockError, match="too large for seconds"):
        ManualClock(start=huge)
    assert clock() == 2.0


@given(
    st.floats(min_value=0, max_value=1.7976931348623157e308),
    st.floats(min_value=0, max_value=1.7976931348623157e308),
)
def test_advance_refuses_to_leave_the_floats_and_changes_nothing(start: float, step: float) -> None:
    """Oracle: the exact sum (fractions) against the largest float; past it, a refusal."""
    from fractions import Fraction

    clock = ManualClock(start)
    overflows = start + step == math.inf
    if overflows:
        with pytest.raises(ClockError, match="past the largest float"):
            clock.advance(step)
        assert clock() == start
        assert Fraction(start) + Fraction(step) > Fraction(1.7976931348623157e308)
    else:
        clock.advance(step)
        assert clock() == start + step and math.isfinite(clock())
