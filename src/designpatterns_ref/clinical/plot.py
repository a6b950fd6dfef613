"""Pictures of the NEWS2 score: a patient's observations over time, and a ward's totals.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

:func:`plot_observations` scores each set of a patient's observations and draws, against the
time it was taken, the sub-score of every parameter as a stacked bar (which observation is
driving the total), the total as a line, and the ruleset's risk bands shaded behind (low,
medium, high, from the ruleset's own trigger chart); every total with a single red score (a
parameter scoring 3) is ringed, whatever its band. :func:`plot_ward` draws how totals spread
over many observations, each bar coloured by the risk band of its total.

Both return the matplotlib ``Figure`` (inline in a notebook; ``dp.show(fig, name)`` saves it
from a script), take ``ax=`` to draw into your own figure and never touch pyplot or the backend.
Bad observations raise the engine's :class:`VitalsError`. matplotlib (the ``plot`` extra) is
imported only when called.

Complexity: one score per observation, O(observations x parameters) artists.

>>> import importlib.util
>>> obs = [dict(respiration_rate=r, spo2=96, systolic_bp=120, pulse=80, consciousness="A",
...             temperature=37.0) for r in (16, 22, 26)]
>>> fig = plot_observations([0, 4, 8], obs) if importlib.util.find_spec("matplotlib") else None
>>> fig is None or fig.axes[0].get_ylabel() == "NEWS2 score"
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from designpatterns_ref.clinical.base import ClinicalError, Risk, Ruleset
from designpatterns_ref.clinical.engine import assess
from designpatterns_ref.clinical.result import ScoreResult
from designpatterns_ref.clinical.rules import NEWS2
from designpatterns_ref.errors import shown

__all__ = ["RISK_COLOURS", "plot_observations", "plot_ward", "tour_figures"]

#: The colour of each risk band.
RISK_COLOURS = {
    Risk.LOW: "#c7e9c0",
    Risk.LOW_MEDIUM: "#fee391",
    Risk.MEDIUM: "#fdae6b",
    Risk.HIGH: "#fb6a4a",
}


def _bands(ruleset: Ruleset) -> list[tuple[int, int, Risk]]:
    """(from, to, risk) total bands of the ruleset's chart, ignoring red-score rows."""
    rows = sorted((t.min_total, t.risk) for t in ruleset.thresholds if not t.red_score)
    out: list[tuple[int, int, Risk]] = []
    for i, (low, risk) in enumerate(rows):
        high = rows[i + 1][0] if i + 1 < len(rows) else 21
        if out and out[-1][2] is risk:
            out[-1] = (out[-1][0], high, risk)
        elif high > low:
            out.append((low, high, risk))
    return out


def _score(ruleset: Ruleset, observation: object) -> ScoreResult:
    if not isinstance(observation, Mapping):
        raise ClinicalError(
            f"each observation must be a mapping of vitals, got {shown(observation)}"
        )
    return assess(ruleset, observation)


def plot_observations(
    times: Sequence[float],
    observations: Sequence[Mapping[str, object]],
    *,
    ruleset: Ruleset = NEWS2,
    time_label: str = "hours since admission",
    ax: Any = None,
) -> Any:
    """Score each observation; draw sub-scores, the total and the risk bands over time.

    ``times[i]`` is when ``observations[i]`` (keyword vitals, as ``news2.score`` takes them) was
    taken. Returns the Figure.
    """
    if not isinstance(ruleset, Ruleset):
        raise ClinicalError(f"ruleset must be a clinical Ruleset, got {shown(ruleset)}")
    times = list(times)
    observations = list(observations)
    if not observations or len(times) != len(observations):
        raise ClinicalError(
            f"give one time per observation: {len(times)} times, {len(observations)} observations"
        )
    for t in times:
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise ClinicalError(f"each time must be a finite number, got {shown(t)}")
    results = [_score(ruleset, o) for o in observations]
    from designpatterns_ref.figures import new_figure

    fig, ax = new_figure(ax, figsize=(8.0, 4.5))
    top = max(10, *(r.total for r in results)) + 1
    for low, high, risk in _bands(ruleset):
        ax.axhspan(
            low - 0.5,
            min(high, top) - 0.5,
            color=RISK_COLOURS[risk],
            alpha=0.5,
            zorder=0,
            label=f"{risk.value} risk ({low}+)",
        )
    gaps = [b - a for a, b in itertools.pairwise(times) if b > a]
    width = 0.6 * min(gaps) if gaps else 0.6
    params = list(dict.fromkeys(p for r in results for p in r.subscores))
    bottom = [0.0] * len(results)
    for i, param in enumerate(params):
        heights = [float(r.subscores.get(param, 0)) for r in results]
        if any(heights):
            ax.bar(
                times,
                heights,
                width=width,
                bottom=bottom,
                color=f"C{i}",
                alpha=0.85,
                label=param.replace("_", " "),
                zorder=2,
            )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.plot(times, [r.total for r in results], "-o", color="black", zorder=3, label="total")
    red = [(t, r.total) for t, r in zip(times, results, strict=True) if r.red_score]
    if red:
        ax.scatter(
            *zip(*red, strict=True),
            s=160,
            facecolors="none",
            edgecolors="tab:red",
            linewidths=2,
            zorder=4,
            label="a single 3 (red score)",
        )
    ax.set_ylim(-0.5, top - 0.5)
    ax.set_xlabel(time_label)
    ax.set_ylabel(f"{ruleset.name.upper()} score")
    ax.set_title(f"{ruleset.name.upper()} over time: what drives the total")
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def plot_ward(results: Sequence[ScoreResult], *, ruleset: Ruleset = NEWS2, ax: Any = None) -> Any:
    """A histogram of the totals of ``results``, each bar in its risk band's colour."""
    if not isinstance(ruleset, Ruleset):
        raise ClinicalError(f"ruleset must be a clinical Ruleset, got {shown(ruleset)}")
    if not results or not all(isinstance(r, ScoreResult) for r in results):
        raise ClinicalError("results must be a non-empty sequence of ScoreResult")
    counts: dict[int, int] = {}
    for r in results:
        counts[r.total] = counts.get(r.total, 0) + 1
    band_of = {t: risk for low, high, risk in _bands(ruleset) for t in range(low, high)}
    from designpatterns_ref.figures import new_figure

    fig, ax = new_figure(ax, figsize=(7.0, 3.5))
    totals = range(0, max(counts) + 1)
    ax.bar(
        totals,
        [counts.get(t, 0) for t in totals],
        edgecolor="0.3",
        color=[RISK_COLOURS[band_of.get(t, Risk.HIGH)] for t in totals],
    )
    ax.set_xlabel(f"{ruleset.name.upper()} total")
    ax.set_ylabel("observations")
    ax.set_title(f"{len(results):,} observations by total, coloured by risk band")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    course = [  # a patient developing sepsis over a night, then treated
        (0, 16, 97, 128, 78, "A", 37.1),
        (4, 18, 96, 122, 88, "A", 37.9),
        (8, 22, 95, 112, 98, "A", 38.4),
        (10, 24, 94, 104, 108, "A", 38.8),
        (12, 26, 93, 96, 118, "C", 39.1),
        (14, 22, 95, 108, 104, "A", 38.5),
        (18, 18, 96, 118, 90, "A", 37.6),
    ]
    keys = ("respiration_rate", "spo2", "systolic_bp", "pulse", "consciousness", "temperature")
    times = [row[0] for row in course]
    observations = [dict(zip(keys, row[1:], strict=True)) for row in course]
    return {"observations": plot_observations(times, observations)}
