"""Figures for the membership family: engagement against sends, per policy and cap.

Case study: Design a Membership Benefits & Verification Platform (docs/case-studies/membership-benefits.md)

:func:`plot_engagement` draws cumulative engagements against cumulative sends, one line per
:class:`~designpatterns_ref.membership.engagement.SimulationReport`: a steeper line gets more
engagement per message (less spam). :func:`plot_daily` draws a report's sends and engagements
per day. matplotlib is imported inside :func:`~designpatterns_ref.figures.new_figure` (the
``plot`` extra); each function takes an optional ``ax`` and returns the Figure.

Complexity: O(days x reports).

>>> callable(plot_engagement) and callable(plot_daily)
True
"""  # noqa: E501

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.figures import new_figure
from designpatterns_ref.membership.base import MembershipError
from designpatterns_ref.membership.engagement import (
    RandomPolicy,
    SimulationReport,
    ThompsonSampling,
    simulate,
)

__all__ = ["plot_daily", "plot_engagement", "tour_figures"]


def _reports(reports: object) -> list[SimulationReport]:
    if isinstance(reports, SimulationReport):
        return [reports]
    if (
        not isinstance(reports, Sequence)
        or not reports
        or not all(isinstance(r, SimulationReport) for r in reports)
    ):
        raise MembershipError(f"reports={shown(reports, 80)} must be SimulationReports")
    return list(reports)


def _label(r: SimulationReport) -> str:
    cap = f"cap {r.cap}/{r.window} d" if r.cap else "no cap"
    return f"{r.policy}, {cap}: {r.rate:.1%} per send"


def plot_engagement(reports: Sequence[SimulationReport], *, ax: Any = None) -> Any:
    """Cumulative engagements against cumulative sends, one line per report."""
    found = _reports(reports)
    fig, ax = new_figure(ax)
    for r in found:
        sends = [0, *itertools.accumulate(r.sends_per_day)]
        hits = [0, *itertools.accumulate(r.engagements_per_day)]
        ax.plot(sends, hits, marker=".", markersize=3, label=_label(r))
    ax.set_xlabel("offers sent (cumulative)")
    ax.set_ylabel("engagements (cumulative)")
    ax.set_title("Engagement against sends: steeper is better, further right is more spam")
    ax.legend(fontsize="small")
    return fig


def plot_daily(report: SimulationReport, *, ax: Any = None) -> Any:
    """A report's sends and engagements per day."""
    (r,) = _reports([report])
    fig, ax = new_figure(ax)
    days = range(len(r.sends_per_day))
    ax.plot(days, r.sends_per_day, label="offers sent")
    ax.plot(days, r.engagements_per_day, label="engagements")
    ax.set_xlabel("day")
    ax.set_ylabel("count per day")
    ax.set_title(_label(r))
    ax.legend()
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    kw: dict[str, Any] = {"members": 400, "days": 30, "window": 7, "seed": 3}
    reports = [
        simulate(RandomPolicy(seed=1), cap=None, **kw),
        simulate(RandomPolicy(seed=1), cap=2, **kw),
        simulate(ThompsonSampling(seed=1), cap=2, **kw),
    ]
    return {"engagement": plot_engagement(reports)}
