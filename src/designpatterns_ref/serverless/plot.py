"""Pictures of the 9 am burst: queue age and depth over time, per scenario.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

:func:`plot_queue_age` draws the age of the oldest waiting call over simulated time, one line
per :class:`~designpatterns_ref.serverless.loadlevel.Report`, the promise (``queue_age_slo``)
as a dashed line and a marker where each design fails. :func:`plot_outcomes` draws, per report,
the calls booked, dead-lettered and lost. Both import matplotlib lazily (the ``plot`` extra),
take an optional ``ax`` and return the Figure. O(samples) to draw.

>>> from designpatterns_ref.serverless.plot import plot_queue_age
>>> callable(plot_queue_age)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.figures import new_figure
from designpatterns_ref.serverless.base import ServerlessTypeError
from designpatterns_ref.serverless.loadlevel import Report

__all__ = ["plot_outcomes", "plot_queue_age", "tour_figures"]


def _check(reports: Mapping[str, Report]) -> None:
    if not isinstance(reports, Mapping) or not reports:
        raise ServerlessTypeError("reports must be a non-empty {label: Report} mapping")
    for label, r in reports.items():
        if not isinstance(label, str) or not isinstance(r, Report):
            raise ServerlessTypeError(f"reports[{shown(label, 40)}] must map a str to a Report")


def plot_queue_age(reports: Mapping[str, Report], *, ax: Any = None) -> Any:
    """Age of the oldest waiting call over time, per labelled report, with the promise."""
    _check(reports)
    fig, ax = new_figure(ax)
    for label, r in reports.items():
        (line,) = ax.plot([x.t for x in r.samples], [x.oldest_age for x in r.samples], label=label)
        if r.fails_at is not None:
            age = next((x.oldest_age for x in r.samples if x.t >= r.fails_at), 0.0)
            ax.plot([r.fails_at], [age], "x", color=line.get_color(), markersize=10)
    slo = next(iter(reports.values())).scenario.queue_age_slo
    ax.axhline(slo, color="k", linestyle="--", label=f"promise: booked within {slo:.0f} s")
    ax.set_xlabel("seconds after 9:00")
    ax.set_ylabel("age of the oldest waiting call (s)")
    ax.set_title("The 9 am burst through the queue (x: where the design fails)")
    ax.legend(fontsize="small")
    return fig


def plot_outcomes(reports: Mapping[str, Report], *, ax: Any = None) -> Any:
    """Calls booked, dead-lettered and lost, stacked, per labelled report."""
    _check(reports)
    fig, ax = new_figure(ax)
    labels = list(reports)
    booked = [reports[k].booked for k in labels]
    dead = [reports[k].dead_lettered for k in labels]
    lost = [reports[k].lost for k in labels]
    ax.bar(labels, booked, color="tab:green", label="booked")
    ax.bar(labels, dead, bottom=booked, color="tab:orange", label="dead-lettered")
    ax.bar(labels, lost, bottom=[b + d for b, d in zip(booked, dead, strict=True)],
           color="tab:red", label="lost")  # fmt: skip
    ax.set_ylabel("calls")
    ax.set_xlabel("design")
    ax.tick_params(axis="x", labelsize="small")
    ax.legend(fontsize="small")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    from designpatterns_ref.serverless._tour import scenarios

    return {"burst": plot_queue_age(scenarios(calls=2000))}
