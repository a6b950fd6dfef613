"""TripStateMachine refuses a clock reading that is not a finite number of seconds with
GeoError, before it moves: it used to change the state and then fail reading the clock (a
NaN or True was kept as a transition's time; a str or None left the state without its
transition in the history)."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import GeoError
from designpatterns_ref.geo.trip import TripState, TripStateError, TripStateMachine

BAD: list[Any] = [math.nan, math.inf, -math.inf, True, "1", None, 10**400]
IDS = ["nan", "inf", "-inf", "True", "str", "None", "10**400"]


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_a_trip_refuses_a_bad_clock_reading_and_does_not_move(bad: Any) -> None:
    now: list[Any] = [100.0]
    trip = TripStateMachine("t1", clock=lambda: now[0])
    trip.match("d1")
    before = (trip.state, trip.driver_id, list(trip.history))
    now[0] = bad
    for call in (
        trip.arrive,
        trip.cancel,
        trip.unmatch,
        lambda: trip.advance(TripState.DRIVER_ARRIVING),
        lambda: trip.time_in(TripState.MATCHED),
    ):
        with pytest.raises(GeoError, match=r"clock\(\) returned"):
            call()
        assert (trip.state, trip.driver_id, list(trip.history)) == before
    with pytest.raises(GeoError, match=r"clock\(\) returned"):
        TripStateMachine("t2", clock=lambda: now[0])


def test_a_clock_stepping_back_counts_as_no_time() -> None:
    clock = ManualClock()
    clock.set(100.0)
    trip = TripStateMachine("t1", clock=clock)
    trip.match("d1")
    clock.set(40.0, allow_backwards=True)  # an NTP step, or a clock injected from wall time
    trip.arrive()
    assert [t.at for t in trip.history] == [100.0, 100.0, 100.0]
    assert trip.time_in(TripState.MATCHED) == 0.0
    assert trip.time_in(TripState.DRIVER_ARRIVING) == 0.0
    clock.set(130.0)
    assert trip.time_in(TripState.DRIVER_ARRIVING) == 30.0


_moves = st.lists(
    st.tuples(st.floats(-1e6, 1e6), st.sampled_from(["match", "unmatch", "arrive", "read"])),
    max_size=30,
)


@given(st.floats(-1e6, 1e6), _moves)
def test_time_in_is_never_negative_and_adds_up(
    start: float, moves: list[tuple[float, str]]
) -> None:
    """Whatever the clock does, every state's time is zero or more, and the times of all states
    add up to the latest reading so far less the first."""
    clock = ManualClock()
    clock.set(start, allow_backwards=True)
    trip = TripStateMachine("t1", clock=clock)
    latest = start
    for at, move in moves:
        clock.set(at, allow_backwards=True)
        if move != "read":
            with contextlib.suppress(TripStateError):  # a move the state does not allow
                getattr(trip, move)(*(["d1"] if move == "match" else []))
                latest = max(latest, at)
        times = [trip.time_in(state) for state in TripState]
        assert all(t >= 0.0 for t in times)
        assert math.isclose(sum(times), max(latest, at) - start, rel_tol=1e-9, abs_tol=1e-6)
    stamps = [t.at for t in trip.history]
    assert stamps == sorted(stamps)
