"""ManualClock against a model: a float that moves only by the calls that are allowed.

Random sequences of ``advance``, ``set`` (forward, backward with and without consent) and
readings, with every kind of argument: negatives, NaN, infinities, ints past a float's range,
bools, strings. Each call is accepted exactly when the model accepts it; a refused call raises
:class:`ClockError` and leaves the time unchanged; every reading equals the model's time.
"""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from designpatterns_ref.clock import ClockError, ManualClock

#: What must always be refused as seconds, drawn on its own so that every run meets each one.
HOSTILE: list[object] = [
    math.nan, math.inf, -math.inf, 10**400, -(10**400), 2**1024, True, False, None, "1",
    Fraction(1, 2), b"1",
]  # fmt: skip

#: Anything a caller might pass as seconds.
values = st.one_of(
    st.sampled_from(HOSTILE),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-10, max_value=10),
    st.integers(min_value=-(10**3), max_value=10**3),
    st.sampled_from([10**400, -(10**400), 2**1024, 1e308, 0.0, -0.0, 5e-324]),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.just(Fraction(1, 2)),
)


def as_seconds(value: object) -> float | None:
    """The model's reading of ``value``: finite float seconds, or None when it is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


class ClockModel(RuleBasedStateMachine):
    clock: ManualClock
    now: float

    @initialize(start=values)
    def start(self, start: object) -> None:
        seconds = as_seconds(start)
        try:
            self.clock = ManualClock(start)  # type: ignore[arg-type]
        except ClockError:
            assert seconds is None
            self.clock, self.now = ManualClock(), 0.0
        else:
            assert seconds is not None
            self.now = seconds

    @rule(value=values)
    def advance(self, value: object) -> None:
        step = as_seconds(value)
        allowed = step is not None and step >= 0 and math.isfinite(self.now + step)
        try:
            self.clock.advance(value)  # type: ignore[arg-type]
        except ClockError:
            assert not allowed, f"advance({value!r}) refused at {self.now!r}"
        else:
            assert allowed, f"advance({value!r}) accepted at {self.now!r}"
            assert step is not None
            self.now += step

    @rule(value=values, allow_backwards=st.booleans())
    def set(self, value: object, allow_backwards: bool) -> None:
        target = as_seconds(value)
        allowed = target is not None and (allow_backwards or target >= self.now)
        try:
            self.clock.set(value, allow_backwards=allow_backwards)  # type: ignore[arg-type]
        except ClockError:
            assert not allowed, f"set({value!r}, {allow_backwards}) refused at {self.now!r}"
        else:
            assert allowed, f"set({value!r}, {allow_backwards}) accepted at {self.now!r}"
            assert target is not None
            self.now = target

    @rule(value=st.sampled_from(HOSTILE), allow_backwards=st.booleans())
    def hostile(self, value: object, allow_backwards: bool) -> None:
        """Every hostile value, refused by every call, whatever the time."""
        self.advance(value)
        self.set(value, allow_backwards)

    @rule(value=st.sampled_from([-1.0, -5e-324, -1, 1e308]))
    def past_the_edges(self, value: float) -> None:
        """A negative step (refused), and one that would leave the floats (refused)."""
        self.advance(value)

    @rule(delta=st.floats(min_value=0, max_value=1e6))
    def set_forward_then_back_by(self, delta: float) -> None:
        """Boundaries: the current time itself, a step ahead, and one back (refused)."""
        self.clock.set(self.now)
        ahead = self.now + delta
        if math.isfinite(ahead):
            self.clock.set(ahead)
            self.now = ahead
        behind = math.nextafter(self.now, -math.inf)
        try:
            self.clock.set(behind)
        except ClockError:
            pass
        else:
            raise AssertionError(f"set({behind!r}) went back from {self.now!r} without consent")

    @invariant()
    def readings_agree(self) -> None:
        assert self.clock() == self.now
        assert self.clock.now == self.now
        assert type(self.clock()) is float
        assert repr(self.clock) == f"ManualClock(now={self.now!r})"


ClockModel.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
test_manual_clock_against_a_model = ClockModel.TestCase
