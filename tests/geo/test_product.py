"""Surge pricing and the trip state machine."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import (
    GeoError,
    SurgePricer,
    TripState,
    TripStateError,
    TripStateMachine,
)


@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500), st.floats(0, 600)), max_size=30)
)
def test_surge_is_capped_at_least_one_and_on_steps(periods: list[tuple[int, int, float]]) -> None:
    clock = ManualClock()
    pricer = SurgePricer(half_life=60.0, cap=2.5, step=0.1, clock=clock)
    for demand, supply, wait in periods:
        clock.advance(wait)
        m = pricer.update("cell", demand=demand, supply=supply)
        assert 1.0 <= m <= 2.5
        assert abs(m * 10 - round(m * 10)) < 1e-9
        assert m == pricer.multiplier("cell")


def replayed_pressure(
    readings: list[tuple[str, float, int, int]], half_life: float
) -> dict[str, float]:
    """Each cell's pressure by the formula, on the running maximum of its clock readings (a
    step back counts as no time, and the return to where the clock was counts as none either)."""
    state: dict[str, tuple[float, float]] = {}
    for cell, now, demand, supply in readings:
        raw = demand / max(supply, 1)
        if cell not in state:
            state[cell] = (1.0, now)
            continue
        old, latest = state[cell]
        if now > latest:
            weight = 1.0 - math.pow(0.5, (now - latest) / half_life)
            state[cell] = (old + weight * (raw - old), now)
        # else: no time passed, the weight of the new reading is zero: nothing moves
    return {cell: pressure for cell, (pressure, _) in state.items()}


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.one_of(st.integers(-100, 300).map(float), st.floats(-1e3, 1e3)),
            st.integers(0, 50),
            st.integers(0, 50),
        ),
        min_size=1,
        max_size=25,
    )
)
@example([("c", 100.0, 10, 1), ("c", 40.0, 10, 1), ("c", 100.0, 10, 1)])  # back and return
@example([("c", 100.0, 10, 1), ("c", 40.0, 10, 1), ("c", 160.0, 10, 1)])  # 60 s, not 120 s
@example([("c", 0.0, 4, 1), ("c", -1e3, 0, 1), ("c", 0.0, 4, 1), ("c", 60.0, 4, 1)])
def test_a_clock_stepping_back_counts_as_no_time(
    readings: list[tuple[str, float, int, int]],
) -> None:
    clock = ManualClock(readings[0][1])
    pricer = SurgePricer(half_life=60.0, cap=10.0, clock=clock)
    for cell, now, demand, supply in readings:
        clock.set(now, allow_backwards=True)
        pricer.update(cell, demand=demand, supply=supply)
    expected = replayed_pressure(readings, 60.0)
    assert {cell: pricer.pressure(cell) for cell in expected} == expected


def test_surge_refuses_a_clock_reading_that_is_not_a_finite_number() -> None:
    readings = iter([100.0, math.nan, math.inf, "soon", 10**400, -(2**1024), 160.0])
    pricer = SurgePricer(half_life=60.0, cap=10.0, clock=lambda: next(readings))
    pricer.update("c", demand=10, supply=1)
    for shown in ("nan", "inf", "'soon'", "1000000", "-1797693"):
        with pytest.raises(GeoError, match=rf"clock\(\) returned {shown}"):
            pricer.update("c", demand=10, supply=1)
        assert pricer.pressure("c") == 1.0
    pricer.update("c", demand=10, supply=1)  # 60 s after the last good reading: half way
    assert pricer.pressure("c") == 5.5


def test_surge_smooths_and_falls_back() -> None:
    clock = ManualClock()
    pricer = SurgePricer(half_life=60.0, cap=3.0, clock=clock)
    pricer.update("c", demand=40, supply=10)
    clock.advance(60.0)
    assert pricer.update("c", demand=40, supply=10) == 2.5  # half way from 1 to 4
    clock.advance(600.0)
    assert pricer.update("c", demand=5, supply=10) == 1.0  # supply caught up
    assert pricer.multiplier("never") == 1.0
    with pytest.raises(GeoError):
        pricer.update("c", demand=-1, supply=1)
    with pytest.raises(GeoError):
        SurgePricer(cap=0.5)


def test_trip_happy_path_and_history() -> None:
    clock = ManualClock()
    trip = TripStateMachine("t", clock=clock)
    trip.match("d1")
    clock.advance(10)
    trip.arrive()
    clock.advance(120)
    trip.start()
    clock.advance(900)
    trip.complete()
    assert trip.state is TripState.COMPLETED and trip.state.terminal
    assert [t.at for t in trip.history] == [0.0, 0.0, 10.0, 130.0, 1030.0]
    assert trip.time_in(TripState.IN_PROGRESS) == 900.0


def test_cancel_no_show_and_rematch() -> None:
    trip = TripStateMachine("t", clock=ManualClock())
    trip.match("d1")
    trip.unmatch()
    assert trip.state is TripState.REQUESTED and trip.driver_id is None
    trip.match("d2")
    trip.arrive()
    trip.no_show()
    with pytest.raises(TripStateError, match="the trip is over"):
        trip.start()
    assert trip.state is TripState.NO_SHOW


# -- the driver rule: a driver exactly in the states that have one ---------------------------

#: The reference: every allowed move as written in the module's diagram, and who makes it.
_ADVANCE_MOVES = {
    ("matched", "driver_arriving"),
    ("driver_arriving", "in_progress"),
    ("in_progress", "completed"),
    ("requested", "cancelled"),
    ("matched", "cancelled"),
    ("driver_arriving", "cancelled"),
    ("driver_arriving", "no_show"),
}
_MATCH_FROM = {"requested"}  # match(driver): -> matched, with that driver
_UNMATCH_FROM = {"matched", "driver_arriving"}  # unmatch(): -> requested, no driver
#: States that always have a driver; "requested" never has one; "cancelled" keeps what it had.
_WITH_DRIVER = {"matched", "driver_arriving", "in_progress", "completed", "no_show"}

_STEP = st.one_of(
    st.tuples(st.just("advance"), st.sampled_from(list(TripState))),
    st.tuples(st.just("match"), st.sampled_from(["d1", "d2"])),
    st.tuples(st.just("unmatch"), st.just("")),
)


def _reference(state: str, driver: str | None, op: str, arg: object) -> tuple[str, str | None]:
    """The next (state, driver), or raise KeyError for a move the trip must refuse."""
    if op == "match" and state in _MATCH_FROM:
        return "matched", str(arg)
    if op == "unmatch" and state in _UNMATCH_FROM:
        return "requested", None
    if op == "advance" and isinstance(arg, TripState) and (state, arg.value) in _ADVANCE_MOVES:
        return arg.value, driver
    raise KeyError((state, op, arg))


@given(st.lists(_STEP, max_size=14))
@example([("advance", TripState.MATCHED), ("advance", TripState.DRIVER_ARRIVING)])
@example([("match", "d1"), ("advance", TripState.REQUESTED), ("match", "d2")])
@example([("match", "d1"), ("unmatch", ""), ("advance", TripState.CANCELLED)])
@example([("match", "d1"), ("advance", TripState.CANCELLED)])
def test_trip_moves_and_driver_follow_the_reference(steps: list[tuple[str, object]]) -> None:
    trip = TripStateMachine("t", clock=ManualClock())
    state, driver = "requested", None
    for op, arg in steps:
        before = (trip.state, trip.driver_id, len(trip.history))
        try:
            state, driver = _reference(state, driver, op, arg)
        except KeyError:
            with pytest.raises(TripStateError):
                _apply(trip, op, arg)
            assert (trip.state, trip.driver_id, len(trip.history)) == before
        else:
            _apply(trip, op, arg)
            assert trip.history[-1].frm is before[0] and len(trip.history) == before[2] + 1
        assert (trip.state.value, trip.driver_id) == (state, driver)
        if state != "cancelled":
            assert (trip.driver_id is not None) == (state in _WITH_DRIVER)


def _apply(trip: TripStateMachine, op: str, arg: object) -> None:
    if op == "advance":
        trip.advance(arg)  # type: ignore[arg-type]
    elif op == "match":
        trip.match(str(arg))
    else:
        trip.unmatch()


@pytest.mark.parametrize("to", [TripState.MATCHED, TripState.REQUESTED])
def test_advance_points_to_match_and_unmatch(to: TripState) -> None:
    trip = TripStateMachine("t", clock=ManualClock())
    if to is TripState.REQUESTED:
        trip.match("d1")
    with pytest.raises(TripStateError, match="match"):
        trip.advance(to)


# -- surge prices: on the step below the multiplier, never above the cap ---------------------


@given(
    cap=st.floats(1.0, 1e6),
    step_share=st.floats(0.0, 1.0),
    sensitivity=st.floats(1e-3, 1e3),
    pressure=st.floats(0.0, 1e9),
)
@example(cap=4.2617899, step_share=0.0018643 / 4.2617899, sensitivity=1.0, pressure=100.0)
@example(cap=1.0089298, step_share=2.38e-05 / 1.0089298, sensitivity=1.0, pressure=9.0)
@example(cap=3.0, step_share=0.4 / 3.0, sensitivity=1.0, pressure=9.0)
@example(cap=1e6, step_share=0.0, sensitivity=1e3, pressure=1e9)
@example(cap=1001.0, step_share=0.0, sensitivity=0.001, pressure=999998.9999999999)
def test_surge_price_is_the_step_below_and_never_above_the_cap(
    cap: float, step_share: float, sensitivity: float, pressure: float
) -> None:
    step = max(1e-6, cap * step_share)
    price = SurgePricer(cap=cap, step=step, sensitivity=sensitivity).price(pressure)
    assert 1.0 <= price <= cap
    # the reference: the published formula, then the largest whole number of steps below it,
    # in exact fractions. A quotient that close to a whole number may land on either side in
    # floats: within 1e-8, or within the division's own rounding (a few parts in 1e16 of a
    # quotient that reaches 1e12 for a cap of 1e6 in steps of 1e-6)
    multiplier = min(cap, max(1.0, 1.0 + sensitivity * (pressure - 1.0)))
    quotient = Fraction(multiplier) / Fraction(step)
    slack = Fraction(1, 10**8) + quotient / 10**15
    candidates = {math.floor(quotient - slack), math.floor(quotient + slack)}
    assert any(abs(price - max(1.0, float(k * Fraction(step)))) <= 1e-6 for k in candidates)
