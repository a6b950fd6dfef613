"""read_seconds / check_reading: a clock's reading is accepted exactly when it is an int or a
float (not a bool) whose float is finite, and then returned as that float."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.clock import check_reading, read_seconds
from designpatterns_ref.errors import DesignPatternsError


class FamilyError(DesignPatternsError, ValueError):
    """Stands in for a family's own error class."""


readings = st.one_of(
    st.floats(),
    st.integers(),
    st.integers(min_value=2**1020, max_value=2**1030) | st.integers(max_value=-(2**1023)),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.just(10**400),
    st.builds(complex, st.floats(), st.floats()),
    st.decimals(allow_nan=True),
)


def _oracle(value: object) -> float | None:
    """The float a reading stands for, or None when it must be refused."""
    if type(value) not in (int, float):
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


@given(readings)
def test_a_reading_is_accepted_exactly_when_it_is_a_finite_number(value: object) -> None:
    expected = _oracle(value)
    for check in (lambda: read_seconds(lambda: value, FamilyError, "Thing.do"),
                  lambda: check_reading(value, FamilyError, "Thing.do")):  # fmt: skip
        if expected is None:
            with pytest.raises(FamilyError, match=r"^Thing\.do: clock\(\) returned "):
                check()
        else:
            got = check()
            assert type(got) is float and got == expected


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, True, "1", None, 10**400])
def test_the_hostile_readings_are_refused_with_the_callers_error(bad: object) -> None:
    with pytest.raises(FamilyError, match="it must return a finite number of seconds"):
        read_seconds(lambda: bad, FamilyError, "Thing.do")


def test_the_clock_is_read_once() -> None:
    calls: list[int] = []

    def clock() -> int:
        calls.append(1)
        return 5

    assert read_seconds(clock, FamilyError, "Thing.do") == 5.0 and len(calls) == 1
