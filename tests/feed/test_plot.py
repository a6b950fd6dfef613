"""plot_fanout: the counted costs match the textbook formulas, drawn on two labelled axes."""

from __future__ import annotations

import matplotlib
import pytest
from matplotlib.figure import Figure

from designpatterns_ref.feed import FeedError, power_law
from designpatterns_ref.feed.plot import fanout_costs, plot_fanout, tour_figures


def test_costs_follow_the_formulas() -> None:
    graph = power_law(300, seed=2)
    costs = fanout_costs(graph, threshold=20, authors=10, readers=10)
    assert all(writes == size for size, writes in costs["writes"]["push"])
    assert all(writes == 0 for _, writes in costs["writes"]["pull"])
    assert all((writes == min(size, writes) and writes < 20) or size >= 20
               for size, writes in costs["writes"]["hybrid"])  # fmt: skip
    assert all(reads == size for size, reads in costs["reads"]["pull"])
    assert all(reads == 1 for _, reads in costs["reads"]["push"])


def test_plot_fanout_two_axes_three_strategies() -> None:
    matplotlib.use("Agg")
    fig = plot_fanout(power_law(200, seed=1), threshold=20, authors=10, readers=10)
    assert isinstance(fig, Figure)
    writes, reads = fig.axes
    labels = [line.get_label() for line in writes.lines]
    assert labels[:3] == ["push", "hybrid", "pull"] and "hybrid threshold 20" in labels
    assert [line.get_label() for line in reads.lines] == ["push", "hybrid", "pull"]
    assert writes.get_xlabel() == "author's followers"
    assert reads.get_ylabel() == "timelines read for one load"
    own = Figure().subplots(1, 2)
    assert plot_fanout(power_law(50, seed=1), ax=own) is own[0].figure
    with pytest.raises(FeedError, match="two Axes"):
        plot_fanout(power_law(50, seed=1), ax=[own[0]])
    with pytest.raises(FeedError):
        plot_fanout(power_law(50, seed=1), threshold=0)


def test_tour_figures_are_figures() -> None:
    matplotlib.use("Agg")
    assert all(isinstance(f, Figure) for f in tour_figures().values())
