"""The engagement figures have their lines and labelled axes."""

from __future__ import annotations

import matplotlib
import pytest

from designpatterns_ref.membership import MembershipError
from designpatterns_ref.membership.engagement import RandomPolicy, ThompsonSampling, simulate
from designpatterns_ref.membership.plot import plot_daily, plot_engagement, tour_figures


def test_engagement_and_daily_figures() -> None:
    matplotlib.use("Agg")
    a = simulate(RandomPolicy(1), members=50, days=8, cap=None, seed=1)
    b = simulate(ThompsonSampling(1), members=50, days=8, cap=2, seed=1)
    fig = plot_engagement([a, b])
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 2 and ax.get_xlabel() and ax.get_ylabel()
    assert "no cap" in ax.get_legend().get_texts()[0].get_text()
    fig = plot_daily(b)
    assert len(fig.axes[0].get_lines()) == 2 and fig.axes[0].get_xlabel() == "day"
    assert set(tour_figures()) == {"engagement"}


@pytest.mark.parametrize("bad", [[], None, [1], "report"])
def test_plots_refuse_what_is_not_a_report(bad: object) -> None:
    with pytest.raises(MembershipError):
        plot_engagement(bad)  # type: ignore[arg-type]
    with pytest.raises(MembershipError):
        plot_daily(bad)  # type: ignore[arg-type]
