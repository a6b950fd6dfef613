"""Pictures of a campaign: every message's fate, and deliveries by the recipient's local hour.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

:func:`plot_fates` draws one bar per receipt status (delivered, capped, deferred, retry, dead
letter, ...) so the cost of each rule is visible. :func:`plot_local_hours` draws deliveries by
the hour on the recipient's own clock, with the quiet window shaded: normal-lane messages pile
up at its end (07:00), none inside it. Both take a :class:`~.pipeline.Pipeline` that has run,
import matplotlib lazily (the ``plot`` extra), take an optional ``ax`` and return the Figure.

Complexity: O(receipts) to draw.

>>> callable(plot_fates), callable(plot_local_hours)
(True, True)
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.figures import new_figure
from designpatterns_ref.notifications.base import OUTCOMES, NotificationError
from designpatterns_ref.notifications.pipeline import Pipeline
from designpatterns_ref.notifications.quiet import zone

__all__ = ["plot_fates", "plot_local_hours", "tour_figures"]


def _check(where: str, p: object, ax: object) -> Pipeline:
    if not isinstance(p, Pipeline):
        raise NotificationError(f"{where}: pipeline={shown(p, 60)} must be a Pipeline")
    if ax is not None:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise NotificationError(
                f"{where}: ax={shown(ax, 60)} must be a matplotlib Axes or None"
            )
    return p


def plot_fates(pipeline: Pipeline, *, ax: Any = None) -> Any:
    """One bar per receipt status, in the pipeline's order of stages."""
    p = _check("plot_fates", pipeline, ax)
    fig, ax = new_figure(ax)
    names = [s for s in OUTCOMES if p.counts.get(s)]
    ax.bar(names, [p.counts[s] for s in names], color="tab:blue")
    ax.set_xlabel("receipt status")
    ax.set_ylabel("receipts")
    ax.set_title(f"fates of {sum(p.counts.values())} receipts")
    ax.tick_params(axis="x", labelrotation=45)
    return fig


def plot_local_hours(pipeline: Pipeline, *, ax: Any = None) -> Any:
    """Deliveries by hour of the recipient's local clock, quiet hours shaded."""
    p = _check("plot_local_hours", pipeline, ax)
    if not p.receipts:
        raise NotificationError("plot_local_hours: the pipeline kept no receipts")
    fig, ax = new_figure(ax)
    hours: dict[str, Counter[int]] = {"normal": Counter(), "high": Counter()}
    high = {r.key for r in p.receipts if r.key.startswith("alert")}
    for r in p.receipts:
        if r.status == "delivered":
            local = datetime.fromtimestamp(r.at, zone(p.users[r.user].tz))
            hours["high" if r.key in high else "normal"][local.hour] += 1
    xs = list(range(24))
    ax.bar(xs, [hours["normal"][h] for h in xs], color="tab:blue", label="normal lane")
    ax.bar(xs, [hours["high"][h] for h in xs], bottom=[hours["normal"][h] for h in xs],
           color="tab:red", label="high lane")  # fmt: skip
    if p.quiet is not None:
        s, e = (
            p.quiet.start.hour + p.quiet.start.minute / 60,
            p.quiet.end.hour + p.quiet.end.minute / 60,
        )
        spans = [(s, e)] if s < e else [(s, 24), (0, e)]
        for i, (a, b) in enumerate(spans):
            ax.axvspan(
                a - 0.5, b - 0.5, color="grey", alpha=0.2, label="quiet hours" if i == 0 else None
            )
    ax.set_xlabel("hour on the recipient's clock")
    ax.set_ylabel("deliveries")
    ax.legend(fontsize="small")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    from designpatterns_ref.notifications.simulate import campaign_pipeline, send_campaign

    p = send_campaign(campaign_pipeline(users=300, seed=2), campaigns=3)
    return {"fates": plot_fates(p), "local-hours": plot_local_hours(p)}
