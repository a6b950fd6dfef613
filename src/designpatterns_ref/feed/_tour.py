"""``dpref tour``: the news feed in a few printed steps (fixed seeds, a ManualClock)."""

from __future__ import annotations

from collections.abc import Callable

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed.graphs import power_law
from designpatterns_ref.feed.hybrid import HybridFanout
from designpatterns_ref.feed.pull import FanoutOnRead
from designpatterns_ref.feed.push import FanoutOnWrite
from designpatterns_ref.feed.simulation import Workload, simulate
from designpatterns_ref.feed.strategy import Feed

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Print the news-feed story: one celebrity post, three strategies, then a whole mix."""
    out("News feed: fan-out on write, on read, and hybrid (docs/case-studies/news-feed.md)")
    feeds: list[Feed] = [
        FanoutOnWrite(clock=ManualClock()),
        FanoutOnRead(clock=ManualClock()),
        HybridFanout(threshold=100, inactive_after=None, clock=ManualClock()),
    ]
    fans = [f"fan{i}" for i in range(500)]
    for feed in feeds:
        feed.add_users(["star", "ann", *fans])
        for fan in fans:
            feed.follow(fan, "star")
        feed.follow("fan0", "ann")
        feed.post("ann", body="lunch?")
        before = feed.stats.post_writes
        feed.post("star", body="new album out")
        page = feed.timeline("fan0")
        out(
            f"  {type(feed).__name__:13}: star (500 followers) posts -> "
            f"{feed.stats.post_writes - before:3} timeline writes; fan0 reads "
            f"{[p.body for p in page]} from {feed.stats.load_reads} timeline(s)"
        )
    out("  push pays per follower on write, pull per followee on read; the hybrid pulls")
    out("  only authors above its threshold (100 followers), so no post costs more than 99.")

    hybrid = feeds[2]
    first = hybrid.timeline("fan0", limit=1)
    rest = hybrid.timeline("fan0", limit=1, before=first[0])
    out(f"  paging with before=: {[p.body for p in first]} then {[p.body for p in rest]}")
    hybrid.delete(first[0].id)
    out(f"  after deleting {first[0].body!r}: {[p.body for p in hybrid.timeline('fan0')]}")

    graph = power_law(1_000, seed=1)
    top = graph.follower_counts().most_common(1)[0]
    out(f"A power-law graph: 1,000 users, {len(graph.edges):,} follows, {top[0]} has {top[1]}")
    work = Workload(posts=100, reads_per_post=50, seed=1)
    for feed in (
        FanoutOnWrite(clock=ManualClock()),
        FanoutOnRead(clock=ManualClock()),
        HybridFanout(threshold=30, inactive_after=None, clock=ManualClock()),
    ):
        r = simulate(feed, graph, work)
        out(
            f"  {r.strategy:13}: {r.writes_per_post:6.1f} writes/post "
            f"(worst {r.max_post_writes:4}), {r.reads_per_load:5.1f} reads/load, "
            f"{r.entries_stored:6,} entries stored"
        )
    out("  formulas: push writes/post = the author's followers; pull reads/load = followees.")
