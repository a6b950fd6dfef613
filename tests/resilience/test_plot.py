"""The plot functions return Figures with the expected artists and labelled axes."""

from __future__ import annotations

import matplotlib
import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import CircuitBreaker, StateChange
from designpatterns_ref.resilience.chaos import availability_table, contention_study, policies
from designpatterns_ref.resilience.plot import (
    plot_availability,
    plot_backoff,
    plot_breaker_states,
    plot_contention,
)


@pytest.fixture(autouse=True)
def agg() -> None:
    matplotlib.use("Agg")


def test_breaker_states() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(window_size=2, minimum_calls=2, wait_in_open=1, clock=clock)
    changes: list[StateChange] = []
    breaker.add_listener(changes.append)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            breaker.call(lambda: (_ for _ in ()).throw(ConnectionError()))
    fig = plot_breaker_states(changes, end=5.0)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "state"
    assert len(ax.lines) == 1


def test_backoff_contention_availability() -> None:
    fig = plot_backoff(policies(), retries=3, samples=10)
    ax = fig.axes[0]
    assert len(ax.lines) == 4 and len(ax.collections) == 4
    assert ax.get_yscale() == "log" and ax.get_ylabel()
    study = contention_study((5, 10), seeds=1)
    for metric in ("calls", "completion"):
        ax = plot_contention(study, metric=metric).axes[0]  # type: ignore[arg-type]
        assert len(ax.lines) == 4 and ax.get_xlabel() == "contending clients"
    rows = availability_table("outage", requests=200)
    ax = plot_availability(rows).axes[0]
    assert len(ax.patches) == 3 * len(rows)
    assert ax.get_ylabel() == "requests (%)"


def test_draws_into_a_given_axes() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert plot_backoff(policies(), retries=2, samples=5, ax=ax) is fig
