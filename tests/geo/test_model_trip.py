"""Random sequences of trip moves against the diagram in the module's text, with a stepping clock.

The model is the diagram written out again (not read from ``TRANSITIONS``), a driver that only
``match`` sets and only ``unmatch`` clears, and a list of (state, time) where a clock that stepped
back counts as no time. ``time_in`` must equal the sum over that list.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import TripState, TripStateError, TripStateMachine

S = TripState
#: REQUESTED -> MATCHED -> DRIVER_ARRIVING -> IN_PROGRESS -> COMPLETED, cancelled before
#: pickup, no-show while arriving, and back to REQUESTED when the driver backs out.
DIAGRAM = {
    S.REQUESTED: {S.MATCHED, S.CANCELLED},
    S.MATCHED: {S.DRIVER_ARRIVING, S.CANCELLED, S.REQUESTED},
    S.DRIVER_ARRIVING: {S.IN_PROGRESS, S.CANCELLED, S.NO_SHOW, S.REQUESTED},
    S.IN_PROGRESS: {S.COMPLETED},
    S.COMPLETED: set(),
    S.CANCELLED: set(),
    S.NO_SHOW: set(),
}
CALLS = {
    "arrive": S.DRIVER_ARRIVING,
    "start": S.IN_PROGRESS,
    "complete": S.COMPLETED,
    "cancel": S.CANCELLED,
    "no_show": S.NO_SHOW,
}


class TripMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.clock = ManualClock(start=100.0)
        self.trip = TripStateMachine("t", clock=self.clock)
        self.state, self.driver = S.REQUESTED, None
        self.visits: list[tuple[TripState, float]] = [(S.REQUESTED, 100.0)]

    def move(self, to: TripState, call: object, *args: object) -> bool:
        if to not in DIAGRAM[self.state]:
            with pytest.raises(TripStateError):
                call(*args)  # type: ignore[operator]
            return False
        call(*args)  # type: ignore[operator]
        self.state = to
        self.visits.append((to, max(self.clock(), self.visits[-1][1])))
        return True

    @rule(name=st.sampled_from(sorted(CALLS)))
    def step(self, name: str) -> None:
        self.move(CALLS[name], getattr(self.trip, name))

    @rule(driver=st.sampled_from(["d1", "d2"]))
    def match(self, driver: str) -> None:
        if self.move(S.MATCHED, self.trip.match, driver):
            self.driver = driver

    @rule()
    def unmatch(self) -> None:
        if self.move(S.REQUESTED, self.trip.unmatch):
            self.driver = None

    @rule(to=st.sampled_from([S.MATCHED, S.REQUESTED]))
    def advance_to_a_driver_move(self, to: TripState) -> None:
        with pytest.raises(TripStateError):
            self.trip.advance(to)

    @rule(seconds=st.sampled_from([0.0, 1.5, 60.0]))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(seconds=st.sampled_from([1.0, 30.0]))
    def step_back(self, seconds: float) -> None:
        self.clock.set(self.clock() - seconds, allow_backwards=True)

    @invariant()
    def same_trip(self) -> None:
        if not hasattr(self, "trip"):
            return
        assert self.trip.state is self.state
        assert self.trip.driver_id == self.driver
        assert [(t.to, t.at) for t in self.trip.history] == self.visits
        now = max(self.clock(), self.visits[-1][1])
        ends = [at for _, at in self.visits[1:]] + [now]
        for state in S:
            expected = sum(
                e - at for (s, at), e in zip(self.visits, ends, strict=True) if s is state
            )
            assert self.trip.time_in(state) == pytest.approx(expected)
        assert self.state.terminal is (not DIAGRAM[self.state])


TripMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
test_trips_follow_the_diagram = TripMachine.TestCase
