"""News feed: fan-out on write, on read, and hybrid, behind one interface, in memory or on Redis.

Case study: Design a Social News Feed (Twitter / LinkedIn) (docs/case-studies/news-feed.md)

Three strategies answer ``follow / unfollow / post / delete / timeline`` identically and differ
only in where the work goes: :class:`FanoutOnWrite` pays per follower when posting,
:class:`FanoutOnRead` pays per followee when reading, :class:`HybridFanout` pushes for ordinary
authors and pulls celebrities. Each runs on a :class:`MemoryStore` (the default) or a
:class:`RedisStore`, and counts its work in :class:`FeedStats`. :func:`graphs.power_law` makes
a social graph with celebrities and :func:`simulate` runs a Twitter-like mix on it.

>>> from designpatterns_ref import feed
>>> f = feed.HybridFanout(threshold=1000)
>>> f.add_users(["ada", "bob"])
>>> f.follow("bob", "ada")
True
>>> f.post("ada", body="hello").body
'hello'
>>> list(p.body for p in f.timeline("bob"))
['hello']
"""

from __future__ import annotations

from designpatterns_ref.feed import graphs
from designpatterns_ref.feed.base import (
    FeedError,
    FeedStats,
    FeedStore,
    FeedTypeError,
    FeedUnavailable,
    Post,
    merge_newest,
)
from designpatterns_ref.feed.graphs import Graph, power_law
from designpatterns_ref.feed.hybrid import HybridFanout
from designpatterns_ref.feed.memory import MemoryStore
from designpatterns_ref.feed.pull import FanoutOnRead
from designpatterns_ref.feed.push import FanoutOnWrite
from designpatterns_ref.feed.redis import RedisStore
from designpatterns_ref.feed.simulation import SimulationReport, Workload, simulate
from designpatterns_ref.feed.strategy import Feed

__all__ = [
    "FanoutOnRead",
    "FanoutOnWrite",
    "Feed",
    "FeedError",
    "FeedStats",
    "FeedStore",
    "FeedTypeError",
    "FeedUnavailable",
    "Graph",
    "HybridFanout",
    "MemoryStore",
    "Post",
    "RedisStore",
    "SimulationReport",
    "Workload",
    "graphs",
    "merge_newest",
    "power_law",
    "simulate",
]
