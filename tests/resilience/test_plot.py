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


@pytest.mark.parametrize(
    ("draw", "named"),
    [
        (lambda ax: plot_backoff(policies(), samples=0, ax=ax), "samples=0"),
        (lambda ax: plot_backoff(policies(), retries=-1, ax=ax), "retries=-1"),
        (lambda ax: plot_backoff(policies(), seed=1.5, ax=ax), "seed=1.5"),
        (lambda ax: plot_backoff({"x": 3}, ax=ax), "policies['x']=3"),
        (lambda ax: plot_backoff([1], ax=ax), "policies=[1]"),
        (lambda ax: plot_breaker_states([None], end=5, ax=ax), "changes holds None"),
        (lambda ax: plot_breaker_states("abc", end=5, ax=ax), "changes='abc'"),
        (lambda ax: plot_breaker_states([], end=float("nan"), ax=ax), "end=nan"),
        (lambda ax: plot_breaker_states([], start=3, end=1, ax=ax), "end=1 must be >= start=3"),
        (lambda ax: plot_contention({}, metric="bogus", ax=ax), "metric='bogus'"),
        (lambda ax: plot_contention({"x": [1]}, ax=ax), "study['x'] holds 1"),
        (lambda ax: plot_contention(None, ax=ax), "study=None"),
        (lambda ax: plot_availability([1], ax=ax), "results holds 1"),
        (lambda ax: plot_availability(None, ax=ax), "results=None"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_drawn(draw: object, named: str) -> None:
    from matplotlib.figure import Figure

    from designpatterns_ref.resilience import ResilienceError, ResilienceTypeError

    ax = Figure().add_subplot()
    with pytest.raises((ResilienceError, ResilienceTypeError)) as info:
        draw(ax)  # type: ignore[operator]
    assert named in str(info.value)
    assert not ax.lines and not ax.collections and not ax.patches and not ax.get_title()
