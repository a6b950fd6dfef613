"""Resolutions that are not a power of ten (0.5, 2, 0.3, 0.25), against exact fractions.

A variant of NEWS2 reads temperature to 0.5 °C and another reads systolic BP to 2 mmHg, each
with its own band table written out below as plain integers. Random values (ints, floats as
typed, Decimals; usual, extreme and tie values) are scored through ``assess`` (compiled and
interpreted) and must land where rounding the exact fraction half-up to a multiple of the
resolution puts them. ``quantise`` and the grid arithmetic are checked against
:class:`fractions.Fraction` for any resolution.
"""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clinical import NEWS2, ClinicalError, RulesetError, assess, rules
from designpatterns_ref.clinical._grid import Grid
from designpatterns_ref.clinical.base import BandTable, Measure, NumericRule
from designpatterns_ref.clinical.compiled import float_steps, result_shape
from designpatterns_ref.clinical.engine import check_number, quantise

WELL = {"respiration_rate": 16, "spo2": 97, "systolic_bp": 120, "pulse": 70,
        "consciousness": "A", "temperature": 37.0}  # fmt: skip


def _variant(name: str, measure: Measure, table: BandTable) -> Any:
    rule = NumericRule(measure.name, measure.name, MappingProxyType({(): table}))
    return dataclasses.replace(
        NEWS2,
        name=name,
        inputs=tuple(measure if i.name == measure.name else i for i in NEWS2.inputs),
        rules=tuple(rule if r.parameter == measure.name else r for r in NEWS2.rules),
    )


HALF_DEGREE = dataclasses.replace(rules.TEMPERATURE, resolution=Decimal("0.5"))
TEMP_HALVES = _variant(
    "temperature-to-half-a-degree",
    HALF_DEGREE,
    BandTable.of(
        "0.5",
        [
            (None, "35.0", 3),
            ("35.5", "36.0", 1),
            ("36.5", "38.0", 0),
            ("38.5", "39.0", 1),
            ("39.5", None, 2),
        ],
    ),
)
#: The same chart in half degrees, by hand: (lowest, highest, points).
TEMP_HALVES_ORACLE = [(-(10**9), 70, 3), (71, 72, 1), (73, 76, 0), (77, 78, 1), (79, 10**9, 2)]

EVEN_MMHG = dataclasses.replace(rules.SYSTOLIC_BP, resolution=Decimal("2"))
BP_EVENS = _variant(
    "systolic-bp-to-2-mmhg",
    EVEN_MMHG,
    BandTable.of(
        "2",
        [(None, "90", 3), ("92", "100", 2), ("102", "110", 1), ("112", "218", 0), ("220", None, 3)],
    ),
)
#: The same chart in mmHg, by hand (whole even readings): (lowest, highest, points).
BP_EVENS_ORACLE = [(-(10**9), 90, 3), (92, 100, 2), (102, 110, 1), (112, 218, 0), (220, 10**9, 3)]


def exact(value: int | float | Decimal) -> Fraction:
    """The value as the caller typed it: a float read as the decimal it prints."""
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def half_up(x: Fraction, resolution: Fraction) -> int:
    """``x / resolution`` rounded to a whole number, ties away from zero."""
    n = math.floor(abs(x) / resolution + Fraction(1, 2))
    return -n if x < 0 else n


def row(table: list[tuple[int, int, int]], value: int) -> int:
    (points,) = [p for lo, hi, p in table if lo <= value <= hi]
    return points


def number(lo: int, hi: int, scale: int) -> st.SearchStrategy[Any]:
    """Values from lo/scale to hi/scale as an int, a float as typed or a Decimal."""
    ticks = st.integers(lo, hi)
    return st.one_of(
        ticks.filter(lambda n: n % scale == 0).map(lambda n: n // scale),
        ticks.map(lambda n: float(Fraction(n, scale))).map(lambda f: float(repr(f))),
        ticks.map(lambda n: Decimal(n) / Decimal(scale)),
    )


@settings(max_examples=300, deadline=None)
@given(t=number(1000, 4700, 100) | number(200, 940, 20), fast=st.booleans())
def test_temperature_read_to_half_a_degree_scores_as_the_chart_says(t: Any, fast: bool) -> None:
    halves = half_up(exact(t), Fraction(1, 2))  # 38.3 -> 77 half degrees (38.5)
    r = assess(TEMP_HALVES, {**WELL, "temperature": t}, use_fast_path=fast)
    assert r.subscores["temperature"] == row(TEMP_HALVES_ORACLE, halves)
    assert r.values["temperature"] == halves / 2
    assert bool(r.cautions) == (not 64 <= halves <= 84)  # usual range 32.0 to 42.0
    assert check_number(HALF_DEGREE, t) == (Decimal(halves) / 2, None)


@settings(max_examples=300, deadline=None)
@given(bp=number(20, 350, 1) | number(40, 700, 2) | number(200, 3500, 10), fast=st.booleans())
def test_systolic_bp_read_to_2_mmhg_scores_as_the_chart_says(bp: Any, fast: bool) -> None:
    evens = 2 * half_up(exact(bp), Fraction(2))  # 95 -> 96, 96.9 -> 96, 97 -> 98
    r = assess(BP_EVENS, {**WELL, "systolic_bp": bp}, use_fast_path=fast)
    assert r.subscores["systolic_bp"] == row(BP_EVENS_ORACLE, evens)
    assert r.values["systolic_bp"] == evens and type(r.values["systolic_bp"]) is int
    assert bool(r.cautions) == (not 60 <= evens <= 260)


@pytest.mark.parametrize(
    ("ruleset", "field", "sent", "read_as", "points"),
    [
        (TEMP_HALVES, "temperature", 38.3, 38.5, 1),
        (TEMP_HALVES, "temperature", Decimal("38.3"), 38.5, 1),  # quantize() read it as 38.0
        (TEMP_HALVES, "temperature", Decimal("38.24"), 38.0, 0),
        (TEMP_HALVES, "temperature", 38.25, 38.5, 1),  # a tie, half-up
        (TEMP_HALVES, "temperature", 35.24, 35.0, 3),
        (BP_EVENS, "systolic_bp", 91, 92, 2),  # a tie, half-up
        (BP_EVENS, "systolic_bp", 90.9, 90, 3),
        (BP_EVENS, "systolic_bp", 219, 220, 3),
    ],
)
def test_ties_and_near_ties_at_a_coarse_resolution(
    ruleset: Any, field: str, sent: Any, read_as: Any, points: int
) -> None:
    for fast in (True, False):
        r = assess(ruleset, {**WELL, field: sent}, use_fast_path=fast)
        assert (r.values[field], r.subscores[field]) == (read_as, points)


RESOLUTIONS = [Decimal(s) for s in ("1", "0.1", "0.5", "0.25", "2", "0.3", "5", "0.05", "2.0",
                                    "1E+1", "0.125", "3")]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    value=st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**6), max_value=10**6)
    | st.floats(-1e6, 1e6).map(lambda f: float(repr(f)))
    | st.integers(-(10**6), 10**6),
    resolution=st.sampled_from(RESOLUTIONS),
)
def test_quantise_rounds_to_the_nearest_multiple_half_up(value: Any, resolution: Decimal) -> None:
    r = Fraction(resolution)
    n = half_up(exact(value), r)
    got = quantise(value, resolution)
    assert Fraction(got) == n * r
    grid = Grid.of(resolution)
    x = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    assert grid.steps(x) == n
    assert grid.floor_steps(x) == math.floor(exact(value) / r)
    assert grid.ceil_steps(x) == math.ceil(exact(value) / r)
    assert Fraction(grid.value(n)) == n * r and grid.echo(n) == float(n * r)


@settings(max_examples=500, deadline=None)
@given(
    x=st.floats(-1e5, 1e5) | st.integers(-(10**5), 10**5).map(lambda n: n / 4),
    resolution=st.sampled_from(RESOLUTIONS),
)
def test_the_float_shortcut_agrees_with_exact_rounding_or_declines(
    x: float, resolution: Decimal
) -> None:
    steps = float_steps(x, Grid.of(resolution).per_unit)
    assert steps is None or steps == half_up(exact(x), Fraction(resolution))


def test_a_resolution_too_fine_for_the_range_is_refused() -> None:
    with pytest.raises(RulesetError, match="at most 1,000,000"):
        dataclasses.replace(rules.TEMPERATURE, resolution=Decimal("0.00001"))
    for bad in ("1E-41", "1E+41", "1" * 41):
        with pytest.raises(RulesetError, match="resolution"):
            dataclasses.replace(rules.TEMPERATURE, resolution=Decimal(bad))


def _measure_takes(resolution: Decimal) -> bool:
    """The oracle: whether a Measure may be read to ``resolution`` (its range aside)."""
    try:
        dataclasses.replace(
            rules.TEMPERATURE, resolution=resolution, impossible_below=Decimal(0),
            impossible_above=Decimal(0), extreme_below=Decimal(0), extreme_above=Decimal(0),
        )  # fmt: skip
    except RulesetError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    digits=st.integers(1, 10**45),
    exponent=st.integers(-(10**12), 10**12) | st.integers(-45, 45),
    sign=st.sampled_from(["", "-"]),
)
def test_quantise_takes_exactly_the_resolutions_a_measure_takes(
    digits: int, exponent: int, sign: str
) -> None:
    """A resolution of a huge exponent (1E-999999999999) is refused at once, not computed
    with (``10**exponent``): quantise refuses what a Measure refuses, and only that."""
    resolution = Decimal(f"{sign}{digits}E{exponent}")
    if _measure_takes(resolution):
        assert isinstance(quantise(resolution, resolution), Decimal)
    else:
        with pytest.raises(ClinicalError, match="resolution="):
            quantise(resolution, resolution)


def test_result_shape_divisors_keeps_the_old_pairs_for_resolutions_of_one_over_n() -> None:
    """``divisors`` (kept for compatibility) gives ``(input, steps per unit)`` for each input
    read to 1/n, from the same ``scales`` the results are read back with."""
    for ruleset in (NEWS2, TEMP_HALVES, BP_EVENS):
        expected = tuple(
            (i.name, Fraction(i.resolution).denominator)
            for i in ruleset.inputs
            if isinstance(i, Measure) and Fraction(i.resolution).numerator == 1
            and i.resolution != 1
        )  # fmt: skip
        assert result_shape(ruleset).divisors == expected
    assert result_shape(NEWS2).divisors == (("temperature", 10),)
    assert result_shape(TEMP_HALVES).divisors == (("temperature", 2),)
    assert result_shape(BP_EVENS).divisors == (("temperature", 10),)  # 2 mmHg has no pair


@settings(max_examples=300, deadline=None)
@given(
    x=st.floats(allow_nan=True, allow_infinity=True),
    per_unit=st.integers(1, 10**500)
    | st.fractions(min_value=Fraction(1, 10**500), max_value=10**500).filter(lambda f: f > 0)
    | st.sampled_from([Fraction(10, 3), Fraction(1, 10**400), 10**400, Fraction(10**400, 3)]),
)
def test_the_float_shortcut_declines_what_a_float_cannot_hold(
    x: float, per_unit: int | Fraction
) -> None:
    """Never an exception: ``None`` (fall back to exact arithmetic) or, for a finite ``x``
    of a chart's size (at most a million steps), the exact answer."""
    steps = float_steps(x, per_unit)
    if steps is not None:
        assert math.isfinite(x)
        if abs(exact(x) * per_unit) <= 10**6:
            assert steps == half_up(exact(x), 1 / Fraction(per_unit))


@pytest.mark.parametrize(
    ("x", "per_unit"),
    [(1e308, Fraction(10, 3)), (math.nan, 10), (math.inf, 10), (-math.inf, Fraction(1, 2)),
     (1e300, Fraction(1, 10**400)), (1.0, 10**400), (1.0, Fraction(10**400, 3))],
)  # fmt: skip
def test_the_float_shortcut_declines_past_the_float_range(
    x: float, per_unit: int | Fraction
) -> None:
    assert float_steps(x, per_unit) is None
