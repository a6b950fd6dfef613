"""Where the work goes: writes per post and reads per timeline load, per fan-out strategy.

Case study: Design a Social News Feed (Twitter / LinkedIn) (docs/case-studies/news-feed.md)

:func:`plot_fanout` loads one social graph into each strategy (:class:`FanoutOnWrite`,
:class:`FanoutOnRead`, :class:`HybridFanout`), then, with the strategies' own counters
(:class:`FeedStats`), measures one post by authors of every size and one timeline load by
readers of every size. Left: timeline writes for one post against the author's followers
(push grows without bound, the hybrid stops at its threshold, pull writes nothing). Right:
timelines read for one load against the reader's followees (pull pays per followee, push reads
one, the hybrid one plus the celebrities followed).

It returns the matplotlib ``Figure`` (inline in a notebook; ``dp.show(fig, name)`` saves it from
a script), takes ``ax=`` (two Axes: writes, reads) to draw into your own figure and never
touches pyplot or the backend. matplotlib (the ``plot`` extra) is imported only when called.

Complexity: loads the graph three times (O(edges) each), then ``authors + readers`` posts and
loads per strategy.

>>> import importlib.util
>>> from designpatterns_ref.feed.graphs import power_law
>>> g = power_law(200, seed=1)
>>> fig = plot_fanout(g, threshold=20) if importlib.util.find_spec("matplotlib") else None
>>> fig is None or [a.get_ylabel() for a in fig.axes[:1]] == ["timeline writes for one post"]
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.errors import shown
from designpatterns_ref.feed.base import FeedError, FeedTypeError
from designpatterns_ref.feed.graphs import Graph
from designpatterns_ref.feed.hybrid import HybridFanout
from designpatterns_ref.feed.pull import FanoutOnRead
from designpatterns_ref.feed.push import FanoutOnWrite
from designpatterns_ref.feed.strategy import Feed

__all__ = ["fanout_costs", "plot_fanout", "tour_figures"]

_COLOURS = {"push": "tab:red", "hybrid": "tab:purple", "pull": "tab:blue"}


def _spread(ranked: list[tuple[str, int]], n: int) -> list[tuple[str, int]]:
    """About ``n`` entries evenly spaced over ``ranked`` (largest first), always the largest."""
    step = max(1, len(ranked) // n)
    return ranked[::step][:n]


def fanout_costs(
    graph: Graph, *, threshold: int = 50, authors: int = 40, readers: int = 40
) -> dict[str, dict[str, list[tuple[int, int]]]]:
    """Measured (size, cost) pairs per strategy: ``{"writes": {...}, "reads": {...}}``.

    ``writes[strategy]`` holds (author's followers, entries written by one post);
    ``reads[strategy]`` holds (reader's followees, timelines read by one load).
    """
    if not isinstance(graph, Graph):
        raise FeedTypeError(f"graph must be a feed.Graph, got {type(graph).__name__}")
    for name, value, high in (
        ("threshold", threshold, 10**9),
        ("authors", authors, 1000),
        ("readers", readers, 1000),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise FeedTypeError(f"{name} must be an int from 1 to {high}, got {shown(value)}")
        if not 1 <= value <= high:
            raise FeedError(f"{name} must be an int from 1 to {high}, got {shown(value)}")
    followers = graph.follower_counts()
    followees = graph.followee_counts()
    by_followers = _spread(sorted(followers.items(), key=lambda kv: (-kv[1], kv[0])), authors)
    by_followees = _spread(sorted(followees.items(), key=lambda kv: (-kv[1], kv[0])), readers)
    makers: dict[str, Callable[[], Feed]] = {
        "push": lambda: FanoutOnWrite(clock=ManualClock()),
        "hybrid": lambda: HybridFanout(
            threshold=threshold, inactive_after=None, clock=ManualClock()
        ),
        "pull": lambda: FanoutOnRead(clock=ManualClock()),
    }
    costs: dict[str, dict[str, list[tuple[int, int]]]] = {"writes": {}, "reads": {}}
    for kind, make in makers.items():
        feed = make()
        graph.load(feed)
        writes = costs["writes"][kind] = []
        for author, size in by_followers:
            before = feed.stats.post_writes
            feed.post(author)
            writes.append((size, feed.stats.post_writes - before))
        reads = costs["reads"][kind] = []
        for reader, size in by_followees:
            before = feed.stats.load_reads
            feed.timeline(reader)
            reads.append((size, feed.stats.load_reads - before))
    return costs


def plot_fanout(
    graph: Graph,
    *,
    threshold: int = 50,
    authors: int = 40,
    readers: int = 40,
    ax: Sequence[Any] | None = None,
) -> Any:
    """Writes per post and reads per load against follower counts, per strategy; the Figure.

    ``ax`` is None or two Axes (writes, reads). The numbers are :func:`fanout_costs`.
    """
    axes = getattr(ax, "flat", ax)
    if ax is not None and (
        isinstance(axes, str | bytes) or not isinstance(axes, Iterable) or len(list(axes)) != 2
    ):
        raise FeedTypeError(
            f"ax={shown(ax, 80)} must be two Axes: one for writes per post, one for reads per load"
        )
    costs = fanout_costs(graph, threshold=threshold, authors=authors, readers=readers)
    from designpatterns_ref.figures import new_figure

    fig, (left, right) = new_figure(ax, figsize=(10.0, 4.0), cols=2)
    for axis, what in ((left, "writes"), (right, "reads")):
        for kind, points in costs[what].items():
            axis.plot(
                [x for x, _ in points],
                [y for _, y in points],
                "o",
                ms=4,
                alpha=0.8,
                color=_COLOURS[kind],
                label=kind,
            )
        axis.set_xscale("symlog")
        axis.set_yscale("symlog")
    left.axhline(threshold, color="tab:gray", linestyle=":", label=f"hybrid threshold {threshold}")
    left.set_xlabel("author's followers")
    left.set_ylabel("timeline writes for one post")
    left.set_title("Posting: push pays per follower")
    right.set_xlabel("reader's followees")
    right.set_ylabel("timelines read for one load")
    right.set_title("Reading: pull pays per followee")
    left.legend(fontsize="small")
    right.legend(fontsize="small")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    from designpatterns_ref.feed.graphs import power_law

    return {"fanout": plot_fanout(power_law(1_000, seed=11), threshold=50)}
