"""plot_search returns a Figure: drivers, searched cells as patches, the rider, the matches."""

from __future__ import annotations

import random

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import GeohashIndex
from designpatterns_ref.geo.plot import plot_search, tour_figures


def test_plot_search_draws_the_cells_and_matches() -> None:
    matplotlib.use("Agg")
    rng = random.Random(3)
    index = GeohashIndex(clock=ManualClock())
    for i in range(100):
        index.upsert(f"d{i}", 40.75 + rng.uniform(-0.01, 0.01), -73.98 + rng.uniform(-0.01, 0.01))
    index.set_available("d0", False)
    fig = plot_search(index, 40.75, -73.98, k=3)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    trace = index.trace(40.75, -73.98, 3)
    cells = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(cells) == len(trace.cells)
    assert len(ax.lines) == 3  # one line from the rider to each match
    assert ax.get_xlabel() == "longitude" and ax.get_ylabel() == "latitude"
    assert f"{len(trace.cells)} cells" in ax.get_title()
    own = Figure().add_subplot()
    assert plot_search(index, 40.75, -73.98, ax=own) is own.figure


def test_tour_figures_are_figures() -> None:
    matplotlib.use("Agg")
    assert all(isinstance(f, Figure) for f in tour_figures().values())
