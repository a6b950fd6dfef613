"""Surge pricing and the trip state machine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import (
    GeoError,
    SurgePricer,
    TripState,
    TripStateError,
    TripStateMachine,
)
from designpatterns_ref.geo.trip import TRANSITIONS


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


@given(st.lists(st.sampled_from(list(TripState)), max_size=12))
def test_only_allowed_transitions_happen(moves: list[TripState]) -> None:
    trip = TripStateMachine("t", clock=ManualClock())
    for to in moves:
        before = (trip.state, len(trip.history))
        if to in TRANSITIONS[trip.state]:
            trip.advance(to)
            assert trip.state is to and trip.history[-1].frm is before[0]
        else:
            with pytest.raises(TripStateError):
                trip.advance(to)
            assert (trip.state, len(trip.history)) == before
