"""The bench kit: percentiles by nearest rank, tables that render, a quiet progress bar, and
the interpreter line every bench prints first."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.benchkit import (
    Progress,
    Table,
    installed,
    interpreter,
    interpreter_probe,
    latencies,
    percentile,
    time_per_call,
    time_per_item,
)
from designpatterns_ref.errors import InvalidArgument

values = st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1)


@given(values, st.floats(min_value=0, max_value=100))
def test_percentile_is_a_sample_with_the_right_rank(samples: list[float], q: float) -> None:
    p = percentile(samples, q)
    assert p in samples
    below_or_equal = sum(1 for s in samples if s <= p)
    assert below_or_equal >= math.ceil(q / 100 * len(samples))


def test_percentile_edges() -> None:
    assert percentile([3, 1, 2], 0) == 1
    assert percentile([3, 1, 2], 100) == 3
    assert percentile(list(range(1, 101)), 99) == 99
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)
    with pytest.raises(ValueError, match="q=101"):
        percentile([1], 101)


@given(
    st.lists(st.floats(min_value=-1e9, max_value=1e9), min_size=1, max_size=8),
    st.integers(min_value=0, max_value=7),
    st.floats(min_value=0, max_value=100),
    st.randoms(use_true_random=False),
)
def test_a_nan_sample_is_refused_wherever_it_is(
    samples: list[float], where: int, q: float, rng: Any
) -> None:
    """NaN has no rank (every comparison with it is false), so a sorted list holding one is in
    no order and the percentile would depend on where it stood: it is refused, wherever."""
    samples.insert(where % (len(samples) + 1), math.nan)
    rng.shuffle(samples)
    with pytest.raises(InvalidArgument, match=r"samples\[\d+\]=nan"):
        percentile(samples, q)


@given(values, st.floats(min_value=0, max_value=100), st.randoms(use_true_random=False))
def test_percentile_depends_on_the_samples_not_their_order(
    samples: list[float], q: float, rng: Any
) -> None:
    shuffled = samples[:]
    rng.shuffle(shuffled)
    assert (
        percentile(shuffled, q)
        == percentile(samples, q)
        == sorted(samples)[max(1, math.ceil(q / 100 * len(samples))) - 1]
    )


def test_table_renders_and_checks_width() -> None:
    table = Table("t", ["name", "value"])
    table.add("a", 1234567)
    table.add("bb", 0.5)
    text = table.render()
    assert "1,234,567" in text and "0.50" in text
    assert table.markdown().splitlines()[2] == "| name | value |"
    with pytest.raises(ValueError, match="2 columns"):
        table.add("only one")


def test_progress_counts_and_is_silent_off_a_terminal() -> None:
    stream = io.StringIO()
    bar = Progress(total=3, label="x", stream=stream)
    assert list(bar.wrap("abc")) == ["a", "b", "c"]
    assert bar.done == 3 and stream.getvalue() == ""


def test_timers_return_positive_figures() -> None:
    assert time_per_call(lambda: None, number=10, repeat=3) >= 0
    samples = latencies(lambda x: x * 2, range(5))
    assert len(samples) == 5 and all(s >= 0 for s in samples)
    seen: list[int] = []
    assert time_per_item(seen.append, [1, 2, 3], repeat=2) >= 0
    assert seen == [1, 2, 3, 1, 2, 3]  # every item, once per pass


def test_installed_finds_a_package_without_importing_it() -> None:
    assert installed("json") and not installed("no_such_package_here")


def test_interpreter_names_the_build_and_its_probe() -> None:
    import platform
    import sys

    probe = interpreter_probe(repeat=1)
    assert math.isfinite(probe) and probe > 0
    line = interpreter()
    assert platform.python_version() in line and sys.executable in line
    assert line.endswith(" µs") and "interpreter probe " in line


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: percentile([], 50), "samples"),
        (lambda: percentile([1.0], 101), "q=101"),
        (lambda: percentile([1.0], math.nan), "q=nan"),
        (lambda: time_per_call(lambda: None, number=0), "number=0"),
        (lambda: time_per_call(lambda: None, number=-3), "number=-3"),
        (lambda: time_per_call(lambda: None, number=1, repeat=0), "repeat=0"),
        (lambda: time_per_item(lambda x: None, [], 3), "items"),
        (lambda: time_per_item(lambda x: None, [1], 0), "repeat=0"),
        (lambda: Table("t", ["a"]).add(1, 2), "values"),
    ],
    ids=[
        "percentile-empty", "percentile-q", "percentile-nan", "call-zero", "call-negative",
        "call-repeat", "item-empty", "item-repeat", "table-width",
    ],
)  # fmt: skip
def test_bad_arguments_raise_invalid_argument_naming_them(
    call: Callable[[], object], named: str
) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(named)):
        call()


def test_a_refused_row_leaves_the_table_as_it_was() -> None:
    table = Table("t", ["a"])
    table.add(1)
    with pytest.raises(InvalidArgument):
        table.add(1, 2)
    assert table.rows == [["1"]]


@pytest.mark.parametrize(
    "samples",
    ["321", b"\x03\x01", bytearray(b"\x01"), {3: "a", 1: "b"}, {1, 2}, 5, None, iter([1, 2]),
     [1, None], [1, "2"], [True, False], [1, 2.0, 3j], [[1], [2]]],
)  # fmt: skip
def test_percentile_refuses_what_is_not_a_sequence_of_real_numbers(samples: Any) -> None:
    # a string would be ranked by its characters, a dict by its keys, None raise a bare TypeError
    with pytest.raises(InvalidArgument, match=r"percentile: samples.*need (a sequence of )?real"):
        percentile(samples, 50)


def test_percentile_takes_any_sequence_of_reals() -> None:
    from collections import deque
    from fractions import Fraction

    assert percentile((3, 1, 2), 50) == 2
    assert percentile(deque([2.5, 1.5]), 100) == 2.5
    assert percentile(range(1, 5), 50) == 2
    assert percentile([Fraction(1, 3), 0.5], 0) == Fraction(1, 3)


exact_reals = st.one_of(
    st.integers(-(10**6), 10**6),
    st.fractions(max_denominator=1000),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)


@given(st.lists(exact_reals, min_size=1, max_size=20), st.floats(min_value=0, max_value=100))
def test_fractions_and_decimals_are_ranked_as_the_numbers_they_are(
    samples: list[Any], q: float
) -> None:
    """The oracle ranks each sample's exact value as a Fraction (exact for every type here)."""
    from fractions import Fraction

    rank = max(1, math.ceil(q / 100 * len(samples)))
    expected = sorted(Fraction(s) for s in samples)[rank - 1]
    assert Fraction(percentile(samples, q)) == expected


def test_memoryviews_and_decimal_nans_are_refused() -> None:
    from decimal import Decimal

    with pytest.raises(InvalidArgument, match=r"samples=.* is a memoryview"):
        percentile(memoryview(b"\x03\x01\x02"), 50)
    for nan in (Decimal("NaN"), Decimal("sNaN"), Decimal("-NaN")):
        with pytest.raises(InvalidArgument, match=r"samples\[1\]=.* is not a number"):
            percentile([Decimal(1), nan, Decimal(2)], 50)
    with pytest.raises(InvalidArgument, match=r"samples\[0\]=True is a bool"):
        percentile([True, Decimal(1)], 50)
