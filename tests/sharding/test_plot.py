"""The sharding figures: lines per scheme and bars of imbalance, with labelled axes."""

from __future__ import annotations

import pytest

matplotlib = pytest.importorskip("matplotlib")


def test_growth_and_load_figures() -> None:
    matplotlib.use("Agg")
    from designpatterns_ref.sharding.plot import DEFAULT_SCHEMES, plot_growth, plot_load

    fig = plot_growth((2, 4), keys=500)
    ax = fig.axes[0]
    assert len(ax.lines) == len(DEFAULT_SCHEMES) + 1  # one per scheme and the ideal
    assert ax.get_xlabel() and ax.get_ylabel()
    fig = plot_load(4, keys=500)
    assert len(fig.axes[0].patches) == len(DEFAULT_SCHEMES)
