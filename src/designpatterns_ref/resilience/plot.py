"""Figures for the resilience case study: breaker states, backoff waits, contention, availability.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

Every function draws into ``ax`` when given one (else a new pyplot-free figure, see
:func:`designpatterns_ref.figures.new_figure`) and returns the matplotlib ``Figure``; matplotlib
is imported inside the functions only (the ``plot`` extra).

- :func:`plot_breaker_states`: the state of a breaker over time, from its state changes;
- :func:`plot_backoff`: drawn waits per retry for each policy, inside their formula bounds;
- :func:`plot_contention`: the AWS contention study, calls or completion time per client count;
- :func:`plot_availability`: what clients saw under chaos, for each set of guards.

The arguments are checked before anything is drawn: a wrong one raises
:class:`~designpatterns_ref.resilience.base.ResilienceError` (or ``ResilienceTypeError``)
naming it, and a given ``ax`` is left untouched.

Complexity: linear in the points drawn.

>>> callable(plot_backoff)
True
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from designpatterns_ref.errors import shown
from designpatterns_ref.figures import new_figure
from designpatterns_ref.resilience.backoff import Backoff
from designpatterns_ref.resilience.base import (
    ResilienceError,
    ResilienceTypeError,
    check_int,
    check_int_seed,
)
from designpatterns_ref.resilience.breaker import BreakerState, StateChange
from designpatterns_ref.resilience.chaos.contention import ContentionResult
from designpatterns_ref.resilience.chaos.monkey import ExperimentResult

__all__ = ["plot_availability", "plot_backoff", "plot_breaker_states", "plot_contention"]

_LEVEL = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


def _items(owner: str, name: str, value: object, kind: type, what: str) -> list[Any]:
    """``value`` as a list, refused unless it is a sequence (not a string) of ``kind``."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ResilienceTypeError(f"{owner}: {name}={shown(value, 60)} must be a list of {what}")
    for item in value:
        if not isinstance(item, kind):
            raise ResilienceTypeError(
                f"{owner}: {name} holds {shown(item, 60)}, which is not of type {kind.__name__}"
            )
    return list(value)


def _labelled(owner: str, name: str, value: object, what: str) -> Mapping[str, Any]:
    """``value`` if it is a mapping whose keys are strings (the labels)."""
    if not isinstance(value, Mapping):
        raise ResilienceTypeError(
            f"{owner}: {name}={shown(value, 60)} must be a mapping label -> {what}"
        )
    for label in value:
        if not isinstance(label, str):
            raise ResilienceTypeError(f"{owner}: {name} label {shown(label, 60)} must be a str")
    return value


def plot_breaker_states(
    changes: Sequence[StateChange], *, end: float, start: float = 0.0, ax: Any = None
) -> Any:
    """A step line of the breaker's state from ``start`` to ``end`` (seconds)."""
    owner = "plot_breaker_states"
    changes = _items(owner, "changes", changes, StateChange, "StateChange")
    for name, value in (("start", start), ("end", end)):
        try:
            finite = not isinstance(value, bool) and math.isfinite(value)
        except (TypeError, OverflowError):
            finite = False
        if not finite:
            raise ResilienceError(
                f"{owner}: {name}={shown(value, 60)} must be a finite time in seconds"
            )
    if end < start:
        raise ResilienceError(f"{owner}: end={end!r} must be >= start={start!r}")
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
    owner = "plot_backoff"
    for label, policy in _labelled(owner, "policies", policies, "Backoff").items():
        if not isinstance(policy, Backoff):
            raise ResilienceTypeError(
                f"{owner}: policies[{label!r}]={shown(policy, 60)} must be a backoff policy"
            )
    check_int(owner, "retries", retries, minimum=1, maximum=1000)
    check_int(owner, "samples", samples, minimum=1, maximum=100_000)
    check_int_seed(owner, seed)
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
    owner = "plot_contention"
    for label, rows in _labelled(owner, "study", study, "ContentionResult rows").items():
        _items(owner, f"study[{label!r}]", rows, ContentionResult, "ContentionResult")
    if metric not in ("calls", "completion"):
        raise ResilienceError(
            f"{owner}: metric={shown(metric, 60)} must be 'calls' or 'completion'"
        )
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
    results = _items("plot_availability", "results", results, ExperimentResult, "ExperimentResult")
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
