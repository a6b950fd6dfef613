"""Figures for the resilience case study: breaker states, backoff waits, contention, availability.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

Every function draws into ``ax`` when given one (else a new pyplot-free figure, see
:func:`designpatterns_ref.figures.new_figure`) and returns the matplotlib ``Figure``; matplotlib
is imported inside the functions only (the ``plot`` extra).

- :func:`plot_breaker_states`: the state of a breaker over time, from its state changes;
- :func:`plot_backoff`: drawn waits per retry for each policy, inside their formula bounds;
- :func:`plot_contention`: the AWS contention study, calls or completion time per client count;
- :func:`plot_availability`: what clients saw under chaos, for each set of guards.

Complexity: linear in the points drawn.

>>> callable(plot_backoff)
True
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from designpatterns_ref.figures import new_figure
from designpatterns_ref.resilience.backoff import Backoff
from designpatterns_ref.resilience.breaker import BreakerState, StateChange
from designpatterns_ref.resilience.chaos.contention import ContentionResult
from designpatterns_ref.resilience.chaos.monkey import ExperimentResult

__all__ = ["plot_availability", "plot_backoff", "plot_breaker_states", "plot_contention"]

_LEVEL = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


def plot_breaker_states(
    changes: Sequence[StateChange], *, end: float, start: float = 0.0, ax: Any = None
) -> Any:
    """A step line of the breaker's state from ``start`` to ``end`` (seconds)."""
    fig, ax = new_figure(ax)
    times, levels = [start], [0]
    for change in changes:
        times.append(change.at)
        levels.append(_LEVEL[change.new])
    times.append(end)
    levels.append(levels[-1])
    ax.step(times, levels, where="post", color="tab:red", label="breaker state")
    ax.set_yticks([0, 1, 2], ["closed", "half-open", "open"])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("state")
    ax.set_title("Circuit breaker state over time")
    ax.legend(loc="upper right")
    return fig


def plot_backoff(
    policies: Mapping[str, Backoff],
    *,
    retries: int = 8,
    samples: int = 200,
    seed: int = 0,
    ax: Any = None,
) -> Any:
    """Waits drawn for retries 0..``retries``-1 by each policy (log scale), with their means."""
    fig, ax = new_figure(ax)
    rng = random.Random(seed)
    for offset, (label, policy) in enumerate(policies.items()):
        xs, ys, means = [], [], []
        for attempt in range(retries):
            draws = []
            for _ in range(samples):
                previous = policy.first
                for a in range(attempt + 1):  # walk the chain (decorrelated needs it)
                    previous = policy.delay(a, previous, rng)
                draws.append(previous)
            xs += [attempt + 0.15 * (offset - 1.5)] * samples
            ys += draws
            means.append(sum(draws) / samples)
        ax.scatter(xs, ys, s=3, alpha=0.25)
        ax.plot(range(retries), means, marker="o", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("retry number")
    ax.set_ylabel("wait before the retry (s)")
    ax.set_title("Backoff policies: drawn waits and their means")
    ax.legend()
    return fig


def plot_contention(
    study: Mapping[str, Sequence[ContentionResult]],
    *,
    metric: Literal["calls", "completion"] = "calls",
    ax: Any = None,
) -> Any:
    """The AWS contention study: total calls (work) or completion time against clients."""
    fig, ax = new_figure(ax)
    for label, rows in study.items():
        xs = [r.clients for r in rows]
        ys = [r.calls if metric == "calls" else r.completion for r in rows]
        ax.plot(xs, ys, marker="o", label=label)
    ax.set_xlabel("contending clients")
    ax.set_ylabel("total calls" if metric == "calls" else "time until all succeed (s)")
    ax.set_title(
        "OCC contention: work done" if metric == "calls" else "OCC contention: completion time"
    )
    ax.legend()
    return fig


def plot_availability(results: Sequence[ExperimentResult], *, ax: Any = None) -> Any:
    """Stacked bars per guard set: answered, answered by the fallback, failed (percent)."""
    fig, ax = new_figure(ax)
    names = [r.guards for r in results]
    ok = [100 * r.experiment.ok / r.experiment.requests for r in results]
    degraded = [100 * r.experiment.degraded / r.experiment.requests for r in results]
    failed = [100 * r.experiment.failed / r.experiment.requests for r in results]
    xs = range(len(results))
    ax.bar(xs, ok, color="tab:green", label="answered")
    ax.bar(xs, degraded, bottom=ok, color="tab:orange", label="fallback")
    ax.bar(xs, failed, bottom=[a + b for a, b in zip(ok, degraded, strict=True)],
           color="tab:red", label="failed")  # fmt: skip
    ax.set_xticks(list(xs), [n.replace("+", "+\n") for n in names], fontsize=7)
    low = min(ok) if ok else 0.0
    ax.set_ylim(max(0.0, low - 5), 100.5)
    ax.set_ylabel("requests (%)")
    scenario = results[0].scenario if results else ""
    ax.set_title(f"What clients saw ({scenario})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig
