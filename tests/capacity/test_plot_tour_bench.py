"""The family's figures, tour, bench steps and example run, deterministically."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

from designpatterns_ref.capacity import CapacityError, CapacityProjection, SQLiteEventLog
from designpatterns_ref.capacity._bench import (
    append_rate,
    bench_steps,
    rebuild_seconds,
    topology,
    workload,
)
from designpatterns_ref.capacity._tour import demo_service, tour
from designpatterns_ref.capacity.plot import plot_capacity, plot_occupancy, tour_figures
from tests.notebooks import run_example


def test_plot_capacity_draws_one_bar_per_home_and_status() -> None:
    matplotlib.use("Agg")
    table = {"elm": {"free": 2, "occupied": 3, "cleaning": 1, "reserved": 0},
             "oak": {"free": 0, "occupied": 4, "cleaning": 0, "reserved": 1}}  # fmt: skip
    fig = plot_capacity(table, stale=["oak"])
    ax = fig.axes[0]
    assert len(ax.patches) == 8 and ax.get_xlabel() == "beds" and ax.get_ylabel() == "home"
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 4  # oak's four status segments
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "free", "occupied", "cleaning", "reserved"]  # fmt: skip
    with pytest.raises(CapacityError):
        plot_capacity({"elm": {"free": -1}})


def test_plot_occupancy_and_tour_figures() -> None:
    matplotlib.use("Agg")
    fig = plot_occupancy([(0, 1, 4), (1, 3, 4)])
    assert fig.axes[0].get_ylabel() == "occupied (%)"
    assert list(fig.axes[0].lines[0].get_ydata()) == [25.0, 75.0]
    figures = tour_figures()
    assert sorted(figures) == ["capacity-homes", "capacity-occupancy"]


def test_tour_is_deterministic_and_tells_the_story() -> None:
    first: list[str] = []
    second: list[str] = []
    tour(first.append)
    tour(second.append)
    assert first == second
    text = "\n".join(first)
    assert "is full" in text and "duplicates ignored" in text and "conflict surfaced" in text
    assert "live projection: True" in text and "stale homes an hour later: ['elm']" in text


def test_demo_day_is_consistent() -> None:
    svc, samples = demo_service(hours=4)
    assert svc.rebuild().state() == svc.projection.state()
    assert all(0 <= occ <= total for _, occ, total in samples)


def test_bench_helpers_measure_a_consistent_log(tmp_path: Path) -> None:
    topo = topology(homes=5, units=1, beds=4)
    events = workload(topo, 300)
    log = SQLiteEventLog(str(tmp_path / "b.db"))
    assert append_rate(log, topo, events, 50) > 0
    assert len(log) == 300
    assert rebuild_seconds(log, topo) > 0
    flat = [e for v in events.values() for e in v]
    assert CapacityProjection.rebuild(topo, log.read()).state() == (
        CapacityProjection.rebuild(topo, flat).state()
    )
    assert [name for name, _ in bench_steps(True)] == [
        "append, project and rebuild on SQLite and PostgreSQL"
    ]


def test_example_runs(tmp_path: Path) -> None:
    run = run_example("bed_logistics", tmp_path)
    out = run.text
    assert "incremental == recount == rebuild" in out
    assert "refused: unit 'elm/b' is full" in out
    assert "conflict on care_level" in out
    assert run.files == ["bed-logistics-homes.png", "bed-logistics-occupancy.png"]
