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


def test_lookup_cost_and_schema_figures() -> None:
    matplotlib.use("Agg")
    from designpatterns_ref.sharding import ShardingError
    from designpatterns_ref.sharding.plot import DEFAULT_SCHEMES, plot_lookup_cost, plot_schema
    from designpatterns_ref.sharding.schema import generate_blocks, run_schema_lesson

    fig = plot_lookup_cost((2, 8), keys=50)
    ax = fig.axes[0]
    assert len(ax.lines) == len(DEFAULT_SCHEMES)
    assert "µs" in ax.get_ylabel()
    results = run_schema_lesson(generate_blocks(500), repeat=1)
    fig = plot_schema(results)
    assert len(fig.axes[0].patches) == 3 * len(results)  # a bar per query per layout
    assert fig.axes[0].get_xlabel()
    for bad in ([], [1], "ab", None, results[0], [results[0], "x"]):
        with pytest.raises(ShardingError, match="results"):
            plot_schema(bad)  # type: ignore[arg-type]
