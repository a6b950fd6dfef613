"""The shortcode figures: the measured birthday curve and Snowflake IDs sorting by time."""

from __future__ import annotations

import matplotlib
import pytest
from matplotlib.figure import Figure

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.shortcode import (
    INSTAGRAM,
    INSTAGRAM_EPOCH_MS,
    ShortCodeError,
    Snowflake,
    codes_until_collision,
    expected_collisions,
)
from designpatterns_ref.shortcode.plot import plot_birthday, plot_snowflake_ids, tour_figures


@pytest.fixture(autouse=True)
def _agg() -> None:
    matplotlib.use("Agg")


def test_birthday_draws_the_bound_the_measurements_and_even_odds() -> None:
    fig = plot_birthday(2, ns=[20, 80, 160], trials=4)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    bound, measured, even = ax.lines
    assert list(measured.get_xdata()) == [20, 80, 160]
    assert bound.get_ydata()[-1] == pytest.approx(expected_collisions(160, 62**2))
    assert list(even.get_xdata()) == [codes_until_collision(0.5, 62**2)] * 2
    assert all(0 <= y < n for n, y in zip([20, 80, 160], measured.get_ydata(), strict=True))
    assert ax.get_xlabel().startswith("URLs hashed") and ax.get_ylabel() == "colliding URLs"
    assert ax.get_legend() is not None


def test_snowflake_ids_one_series_per_worker_and_ax() -> None:
    clock = ManualClock(start=1_700_000_000.0)
    gens = [Snowflake(worker=w, layout=INSTAGRAM, epoch_ms=INSTAGRAM_EPOCH_MS, clock=clock)
            for w in (1, 2)]  # fmt: skip
    ids = []
    for _ in range(5):
        ids += [g.next_id() for g in gens]
        clock.advance(0.002)
    own = Figure().add_subplot()
    fig = plot_snowflake_ids(ids, ax=own)
    assert fig is own.figure
    assert [line.get_label() for line in own.lines] == ["worker 1", "worker 2"]
    assert sorted(x for line in own.lines for x in line.get_xdata()) == sorted(
        [0, 0, 2, 2, 4, 4, 6, 6, 8, 8]
    )
    assert own.get_xlabel() and own.get_ylabel()


@pytest.mark.parametrize(
    "call",
    [
        lambda: plot_birthday(0),
        lambda: plot_birthday(True),
        lambda: plot_birthday(2, ns=[]),
        lambda: plot_birthday(2, ns=[-1]),
        lambda: plot_birthday(2, trials=10**400),
        lambda: plot_snowflake_ids([]),
        lambda: plot_snowflake_ids([1, None]),
    ],
)
def test_bad_arguments_raise_the_family_error(call: object) -> None:
    with pytest.raises(ShortCodeError):
        call()  # type: ignore[operator]


def test_tour_figures_are_figures() -> None:
    assert all(isinstance(f, Figure) for f in tour_figures().values())
