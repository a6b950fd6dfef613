"""The messaging figures: one line per layout on a log axis; arrivals against what is shown."""

from __future__ import annotations

import matplotlib
import pytest
from matplotlib.figure import Figure

from designpatterns_ref.messaging.gclab import measure
from designpatterns_ref.messaging.hashring import HashRing
from designpatterns_ref.messaging.plot import (
    plot_delivery,
    plot_fanout,
    plot_gc_latency,
    plot_ring_shares,
)


@pytest.fixture(autouse=True)
def _agg() -> None:
    matplotlib.use("Agg")


def test_gc_latency_draws_a_line_per_layout() -> None:
    runs = [measure(layout, entries=500, ops=300) for layout in ("naive", "gc_aware")]
    fig = plot_gc_latency(runs)
    (ax,) = fig.axes
    assert len(ax.lines) == 2 and len(ax.lines[0].get_ydata()) == 300
    assert ax.get_yscale() == "log" and "latency" in ax.get_ylabel() and ax.get_xlabel()


def test_delivery_on_a_given_axis() -> None:
    own = Figure().add_subplot()
    fig = plot_delivery([2, 1, 1, 3], [0, 2, 2, 3], ax=own)
    assert fig is own.figure and len(own.lines) == 2
    assert list(own.lines[0].get_ydata()) == [2, 1, 1, 3] and own.get_ylabel()


def test_fanout_draws_one_curve_per_server_and_the_target() -> None:
    fig = plot_fanout({"gateway": [3.0, 1.0, 2.0, 4.0], "naive": [5.0, 9.0]})
    (ax,) = fig.axes
    gateway, naive, target, _ = ax.lines
    assert list(gateway.get_xdata()) == [1.0, 2.0, 3.0, 4.0]
    assert list(gateway.get_ydata()) == [25.0, 50.0, 75.0, 100.0]
    assert list(naive.get_ydata()) == [50.0, 100.0] and list(target.get_xdata()) == [20.0, 20.0]
    assert ax.get_xlabel() and ax.get_ylabel()
    # p99 as loadgen.measure_scale takes it: sorted[int(0.99 * (n - 1))]
    assert "p99 3.0 ms" in gateway.get_label()
    hundred = plot_fanout({"x": [float(v) for v in range(100, 0, -1)]}).axes[0].lines[0]
    assert "p99 99.0 ms" in hundred.get_label()


def test_ring_shares_draws_a_bar_per_node_and_ring() -> None:
    nodes = ["cs-a", "cs-b", "cs-c"]
    fig = plot_ring_shares({"1 point": HashRing(nodes, vnodes=1), "64": HashRing(nodes)})
    (ax,) = fig.axes
    assert len(ax.patches) == 6 and len(ax.lines) == 1  # two groups of 3 bars, the fair line
    heights = [p.get_height() for p in ax.patches]
    assert abs(sum(heights[:3]) - 100) < 1e-6 and abs(sum(heights[3:]) - 100) < 1e-6
    assert "share" in ax.get_ylabel() and ax.get_xlabel()


def test_tour_figures_are_figures_with_labelled_axes() -> None:
    from designpatterns_ref.messaging.plot import tour_figures

    figures = tour_figures()
    assert sorted(figures) == ["delivery", "gc-latency", "ring-shares"]
    for fig in figures.values():
        (ax,) = fig.axes
        assert ax.get_xlabel() and ax.get_ylabel() and (ax.lines or ax.patches)
