"""plot_decisions returns a Figure with one labelled row per limiter, and refuses bad axes."""

from __future__ import annotations

import matplotlib
import pytest
from matplotlib.figure import Figure

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit.plot import tour_figures


@pytest.fixture(autouse=True)
def _agg() -> None:
    matplotlib.use("Agg")


def limiters() -> dict[str, rl.RateLimiter]:
    return {
        "fixed window": rl.FixedWindow(5, 1.0, clock=ManualClock()),
        "token bucket": rl.TokenBucket(5, 1.0, 5, clock=ManualClock()),
    }


def test_plot_decisions_draws_one_row_per_limiter() -> None:
    arrivals = rl.boundary_burst(5, 1.0) + rl.steady(8, 2.0, start=1.5)
    fig = rl.plot_decisions(limiters(), arrivals, limit=5, title="demo")
    assert isinstance(fig, Figure)
    rows = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert len(rows) == 2
    expected = rl.simulate(rl.FixedWindow(5, 1.0, clock=ManualClock()), arrivals)
    assert rows[0].get_title(loc="left") == (
        f"fixed window: {len(expected.admitted)}/{expected.total} admitted"
    )
    for ax in rows:
        assert ax.get_ylabel() == "decision"
        admitted, denied = ax.lines[:2]
        assert len(admitted.get_xdata()) + len(denied.get_xdata()) == len(arrivals)
    assert rows[-1].get_xlabel() == "time (s)"
    twins = [ax for ax in fig.axes if ax not in rows]
    assert all(t.get_ylabel() == "admitted in last 1 s" and t.lines for t in twins)
    assert fig.get_suptitle() == "demo"


def test_plot_decisions_draws_into_given_axes_and_refuses_a_mismatch() -> None:
    fig = Figure()
    axes = fig.subplots(2, 1)
    assert rl.plot_decisions(limiters(), [0.0, 0.1], ax=axes) is fig
    one = Figure().add_subplot()
    with pytest.raises(rl.RateLimitError, match="1 Axes for 2 limiters"):
        rl.plot_decisions(limiters(), [0.0], ax=one)
    with pytest.raises(rl.RateLimitError, match="empty"):
        rl.plot_decisions({}, [0.0])


def test_tour_figures_are_figures() -> None:
    assert all(isinstance(f, Figure) for f in tour_figures().values())
