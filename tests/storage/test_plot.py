"""The storage figures: lines, bars and labelled axes from the experiments' rows."""

from __future__ import annotations

import matplotlib
import pytest
from matplotlib.figure import Figure

from designpatterns_ref.storage import StorageError, workload
from designpatterns_ref.storage.plot import (
    plot_long_reader,
    plot_replication,
    plot_secondary_reads,
    plot_write_amplification,
    tour_figures,
)


@pytest.fixture(autouse=True)
def _agg() -> None:
    matplotlib.use("Agg")


def test_write_amplification_draws_a_line_per_engine_and_wal_on_a_twin_axis() -> None:
    rows = workload.write_amplification(3, rows=30, updates=30)
    fig = plot_write_amplification(rows)
    ax, wal = fig.axes
    assert [line.get_label() for line in ax.lines] == [
        "heap, no HOT",
        "heap with HOT",
        "clustered + undo",
    ]
    assert list(ax.lines[0].get_ydata()) == [1.0, 2.0, 3.0, 4.0]
    assert list(ax.lines[1].get_ydata()) == [0.0] * 4
    assert len(wal.lines) == 3 and "WAL" in wal.get_ylabel()
    assert ax.get_xlabel() == "secondary indexes" and "index entries" in ax.get_ylabel()


def test_replication_bars_physical_against_logical() -> None:
    rows = workload.replication_volume(1, rows=30, updates=30)
    own = Figure().add_subplot()
    fig = plot_replication(rows, ax=own)
    assert fig is own.figure
    assert len(own.patches) == 2 * len(rows)
    heights = [p.get_height() for p in own.patches]
    assert heights[: len(rows)] == [r["physical"] for r in rows]
    assert own.get_ylabel() == "bytes shipped per update" and own.get_xlabel()


def test_long_reader_and_secondary_reads() -> None:
    fig = plot_long_reader(workload.long_reader(rows=20, rounds=2, updates=10))
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and ax.get_xlabel().startswith("round") and ax.get_ylabel()
    assert list(ax.lines[1].get_ydata()) == [10, 20, 0]
    fig = plot_secondary_reads(workload.secondary_reads(rows=100, lookups=20))
    ax = fig.axes[0]
    assert len(ax.patches) == 4 and ax.get_ylabel() == "pages read" and ax.get_xlabel() == "engine"


@pytest.mark.parametrize("bad", [None, [], "rows", [{"indexes": 1}], [{"x": float("nan")}], [1]])
def test_bad_rows_are_refused(bad: object) -> None:
    for fn in (plot_write_amplification, plot_replication, plot_long_reader, plot_secondary_reads):
        with pytest.raises(StorageError):
            fn(bad)  # type: ignore[arg-type]


def test_tour_figures() -> None:
    figures = tour_figures()
    assert sorted(figures) == ["long-reader", "write-amplification"]
    assert all(isinstance(f, Figure) and f.axes[0].get_xlabel() for f in figures.values())
