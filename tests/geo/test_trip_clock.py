"""TripStateMachine refuses a clock reading that is not a finite number of seconds with
GeoError, before it moves: it used to change the state and then fail reading the clock (a
NaN or True was kept as a transition's time; a str or None left the state without its
transition in the history)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from designpatterns_ref.geo import GeoError
from designpatterns_ref.geo.trip import TripState, TripStateMachine

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
