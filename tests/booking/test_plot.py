"""The booking figures: one bar per race, the inventory line, labelled axes; bad input refused."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.booking import BookingError
from designpatterns_ref.booking.race import RaceResult

NAIVE = RaceResult("naive", "sqlite", 7, 3, 6, 4, 7, 0.5)
SAFE = RaceResult("pessimistic", "postgres", 4, 6, 4, 4, 4, 2.0)


def _agg() -> None:
    import matplotlib

    matplotlib.use("Agg")


def test_plot_race_draws_a_bar_per_race_and_the_inventory() -> None:
    _agg()
    from matplotlib.figure import Figure

    from designpatterns_ref.booking.plot import plot_race

    fig = plot_race([NAIVE, SAFE])
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert [p.get_height() for p in ax.patches] == [6, 4]
    assert ax.patches[0].get_facecolor() != ax.patches[1].get_facecolor()  # oversold
    (inventory,) = ax.lines
    assert list(inventory.get_ydata()) == [4, 4] and "inventory: 4" in inventory.get_label()
    assert ax.get_ylabel() == "rooms sold on the busiest night" and ax.get_xlabel() == "strategy"
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "naive\nsqlite",
        "pessimistic\npostgres",
    ]
    assert ax.get_title() == "10 bookers at once"


def test_plot_throughput_draws_answers_per_second_on_the_given_axes() -> None:
    _agg()
    from matplotlib.figure import Figure

    from designpatterns_ref.booking.plot import plot_throughput

    own = Figure().add_subplot()
    fig = plot_throughput((NAIVE, SAFE), ax=own)
    assert fig is own.figure
    assert [p.get_height() for p in own.patches] == [20.0, 5.0]  # (accepted + refused) / seconds
    assert own.get_ylabel() == "requests answered per second" and own.get_xlabel() == "strategy"


def test_tour_figures() -> None:
    _agg()
    from matplotlib.figure import Figure

    from designpatterns_ref.booking.plot import tour_figures

    figures = tour_figures()
    assert list(figures) == ["race"]
    (ax,) = figures["race"].axes
    assert isinstance(figures["race"], Figure) and len(ax.patches) == 4 and ax.get_ylabel()


def _result(seconds: Any) -> RaceResult:
    return RaceResult("naive", "sqlite", 3, 0, 3, 1, 3, seconds)


@settings(max_examples=40, deadline=None)
@given(
    results=st.one_of(
        st.sampled_from([None, 5, 2.5, "results", b"x", object(), [], (), [None], [1, 2], {}]),
        st.floats(max_value=0.0).map(lambda s: [_result(s)]),
        st.sampled_from([math.nan, math.inf, -math.inf, 1j, None, "2"]).map(lambda s: [_result(s)]),
        st.integers(-(2**70), 0).map(lambda s: [_result(s)]),
        st.lists(st.just(NAIVE), max_size=2).map(lambda rs: [*rs, "not a result"]),
    )
)
@example(results=5)
@example(results=[_result(0.0)])
@example(results=[_result(-1.0)])
@example(results=[_result(math.nan)])
@example(results=[_result(math.inf)])
@example(results=[_result(True)])
@example(results=[_result("1")])
@example(results=[_result(None)])
@example(results=None)
@example(results="abc")
def test_plot_functions_refuse_anything_but_races_with_positive_time(results: Any) -> None:
    _agg()
    from designpatterns_ref.booking.plot import plot_race, plot_throughput

    for fn in (plot_race, plot_throughput):
        with pytest.raises(BookingError, match="results"):
            fn(results)


@pytest.mark.parametrize("ax", [5, "ax", object()])
def test_an_axes_that_is_not_one_is_refused(ax: Any) -> None:
    _agg()
    from designpatterns_ref.booking.plot import plot_race, plot_throughput

    for fn in (plot_race, plot_throughput):
        with pytest.raises(BookingError, match="ax="):
            fn([NAIVE], ax=ax)
