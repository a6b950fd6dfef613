"""The plots draw labelled axes; the example tells the story end to end as a notebook."""

from __future__ import annotations

from pathlib import Path

import pytest

from designpatterns_ref.serverless import ServerlessError
from designpatterns_ref.serverless._tour import scenarios
from tests.notebooks import run_example


def test_plots_have_lines_bars_and_labels() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from designpatterns_ref.serverless.plot import plot_outcomes, plot_queue_age

    reports = scenarios(calls=600)
    fig = plot_queue_age(reports)
    ax = fig.axes[0]
    assert len(ax.get_lines()) >= len(reports) + 1  # one per report, plus the promise
    assert ax.get_xlabel() and ax.get_ylabel()
    fig = plot_outcomes(reports)
    assert len(fig.axes[0].patches) == 3 * len(reports)
    with pytest.raises(ServerlessError):
        plot_queue_age({})


def test_example_runs(tmp_path: Path) -> None:
    run = run_example("healthcare_serverless", tmp_path)
    out = run.text
    assert "EHR calls: 1" in out
    assert "caller: ['Ada', 'Leo']" in out
    assert "USING INDEX gsi2" in out
    assert "queue               booked 10000 dead    0 lost     0" in out
    assert run.files == [
        "healthcare-serverless-outcomes.png",
        "healthcare-serverless-queue-age.png",
    ]


def test_tour_runs() -> None:
    from designpatterns_ref.serverless._tour import tour

    lines: list[str] = []
    tour(lines.append)
    assert any("bookings made in the EHR: 1" in line for line in lines)
    assert any("hot clinic partition" in line and "hot partition" in line for line in lines)
