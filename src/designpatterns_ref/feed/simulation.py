"""Run a Twitter-like mix of posts and timeline reads on a feed and report what it cost.

Case study: Design a Social News Feed (Twitter / LinkedIn) (docs/case-studies/news-feed.md)

:func:`simulate` loads a :class:`~designpatterns_ref.feed.graphs.Graph` into a fresh feed, then
plays a seeded :class:`Workload`: posts by authors picked in proportion to
``(followers + 1) ** author_bias`` (popular accounts post more), interleaved with timeline
reads by users picked uniformly among the active share (about 50 reads per post, as on
Twitter). It times every call and reports the work counters next to the textbook formulas:
push writes per post = the author's followers, pull reads per load = the reader's followees.

When the feed's clock is a :class:`~designpatterns_ref.clock.ManualClock`, the simulation moves
it by ``seconds_per_op`` per operation, so a hybrid's inactivity window means something.

Complexity: the workload costs what the strategy costs; the generator adds O(1) per operation.

>>> from designpatterns_ref.feed import FanoutOnWrite, power_law
>>> report = simulate(FanoutOnWrite(), power_law(200, seed=1), Workload(posts=20, seed=1))
>>> report.reads, round(report.writes_per_post, 1) == round(report.formula_writes_per_post, 1)
(1000, True)
"""

from __future__ import annotations

import random
import sys
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

from designpatterns_ref.benchkit import percentile
from designpatterns_ref.clock import ManualClock, check_reading
from designpatterns_ref.errors import shown
from designpatterns_ref.feed.base import FeedError, FeedStats, FeedTypeError
from designpatterns_ref.feed.graphs import Graph
from designpatterns_ref.feed.strategy import Feed

__all__ = ["SimulationReport", "Workload", "simulate"]


#: The most posts, or reads, one :class:`Workload` plays: larger runs are refused.
MAX_OPERATIONS = 10_000_000
#: The largest ``author_bias`` (either sign): an author's weight is ``(followers + 1) **
#: author_bias``, which must stay a finite, non-zero float for every graph :func:`power_law`
#: builds (at most ten million followers).
MAX_AUTHOR_BIAS = 10.0
#: The largest ``seconds_per_op``: a year. ``MAX_OPERATIONS`` posts and as many reads then
#: move a manual clock by about 6e14 seconds, far from a float's limit.
MAX_SECONDS_PER_OP = 365 * 86_400.0


def _count(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FeedTypeError(f"{name}={shown(value)} must be an int")
    if not low <= value <= high:
        raise FeedError(f"{name}={shown(value)} must be an int from {low} to {high}")


def _real(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FeedTypeError(f"{name}={shown(value)} must be a number")
    if not -sys.float_info.max <= value <= sys.float_info.max:
        raise FeedError(f"{name}={shown(value)} must be a finite number")


@dataclass(frozen=True)
class Workload:
    """How many posts and reads to play, and who does them.

    ``author_bias`` lies within [-MAX_AUTHOR_BIAS, MAX_AUTHOR_BIAS] (10) and ``seconds_per_op``
    from 0 to MAX_SECONDS_PER_OP (a year), so a run never meets a weight or a clock past a
    float's range half-way.
    """

    posts: int = 1_000
    reads_per_post: float = 50.0
    reads: int | None = None  # overrides reads_per_post when given
    limit: int = 50
    active_share: float = 1.0
    author_bias: float = 0.5
    seconds_per_op: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        _count("posts", self.posts, 0, MAX_OPERATIONS)
        if self.reads is not None:
            _count("reads", self.reads, 0, MAX_OPERATIONS)
        _count("limit", self.limit, 1, MAX_OPERATIONS)
        _count("seed", self.seed, -(2**63), 2**63 - 1)
        _real("reads_per_post", self.reads_per_post)
        _real("active_share", self.active_share)
        _real("author_bias", self.author_bias)
        _real("seconds_per_op", self.seconds_per_op)
        if not self.reads_per_post >= 0:
            raise FeedError(f"reads_per_post={shown(self.reads_per_post)} must be >= 0")
        if self.reads is None and self.posts * self.reads_per_post > MAX_OPERATIONS:
            raise FeedError(
                f"posts={shown(self.posts)} times reads_per_post={shown(self.reads_per_post)} is "
                f"over MAX_OPERATIONS={MAX_OPERATIONS} reads"
            )
        if not 0 < self.active_share <= 1:
            raise FeedError(f"active_share={shown(self.active_share)} must be within (0, 1]")
        if not 0 <= self.seconds_per_op <= MAX_SECONDS_PER_OP:
            raise FeedError(
                f"seconds_per_op={shown(self.seconds_per_op)} must be from 0 to "
                f"MAX_SECONDS_PER_OP={MAX_SECONDS_PER_OP}"
            )
        if not -MAX_AUTHOR_BIAS <= self.author_bias <= MAX_AUTHOR_BIAS:
            raise FeedError(
                f"author_bias={shown(self.author_bias)} must be within "
                f"[-{MAX_AUTHOR_BIAS}, {MAX_AUTHOR_BIAS}]"
            )

    @property
    def total_reads(self) -> int:
        """The number of timeline reads the workload plays."""
        return self.reads if self.reads is not None else round(self.posts * self.reads_per_post)


@dataclass
class SimulationReport:
    """What a run cost: counters, formulas, latency percentiles (seconds) and storage."""

    strategy: str
    store: str
    users: int
    follows: int
    posts: int
    reads: int
    stats: FeedStats
    formula_writes_per_post: float
    formula_reads_per_load: float
    entries_stored: int
    read_p50: float
    read_p99: float
    post_p50: float
    post_p99: float
    seconds: float

    @property
    def writes_per_post(self) -> float:
        """Home-timeline entries written per post, measured."""
        return self.stats.writes_per_post

    @property
    def reads_per_load(self) -> float:
        """Timelines read per load, measured."""
        return self.stats.reads_per_load

    @property
    def max_post_writes(self) -> int:
        """Entries written by the single most expensive post."""
        return self.stats.max_post_writes


def simulate(
    feed: Feed,
    graph: Graph,
    workload: Workload | None = None,
    *,
    timer: Callable[[], float] = time.perf_counter,
) -> SimulationReport:
    """Load ``graph`` into the empty ``feed`` and play ``workload`` on it.

    ``timer`` times each call: wall time by default; pass :func:`time.thread_time` to count
    only the CPU this thread spent, which other processes on a busy machine cannot inflate.
    """
    if not isinstance(feed, Feed):
        raise FeedTypeError(f"feed={shown(feed)} must be an empty Feed (FanoutOnWrite(), ...)")
    if not isinstance(graph, Graph):
        raise FeedTypeError(f"graph={shown(graph)} must be a Graph (see power_law)")
    if workload is not None and not isinstance(workload, Workload):
        raise FeedTypeError(f"workload={shown(workload)} must be a Workload or None")
    if not callable(timer):
        raise FeedTypeError(f"timer={shown(timer)} must be a callable returning seconds")
    try:
        reading = timer()
    except TypeError:
        raise FeedTypeError(f"timer={shown(timer)} must be callable with no arguments") from None
    check_reading(reading, FeedError, "simulate: timer")  # before the graph is loaded
    if feed.store.user_count():
        raise FeedError(f"feed={shown(feed)} must be empty: simulate loads the graph into it")
    work = workload or Workload()
    if not graph.users and (work.posts or work.total_reads):
        raise FeedError(
            f"graph has no users, so none can post or read: the workload's posts={work.posts} "
            f"and reads={work.total_reads} must both be 0 for it"
        )
    graph.load(feed)
    before = feed.stats.copy()
    rng = random.Random(work.seed)
    followers, followees = graph.follower_counts(), graph.followee_counts()
    authors = list(graph.users)
    cum = list(accumulate((followers[u] + 1) ** work.author_bias for u in authors))
    readers = list(graph.users)
    rng.shuffle(readers)
    readers = readers[: max(1, round(len(readers) * work.active_share))]
    n_reads = work.total_reads
    clock = feed.clock if isinstance(feed.clock, ManualClock) else None
    read_times: list[float] = []
    post_times: list[float] = []
    formula_writes = formula_reads = 0
    posts_left, reads_left = work.posts, n_reads
    start = time.perf_counter()
    while posts_left or reads_left:
        if clock is not None:
            clock.advance(work.seconds_per_op)
        if rng.random() * (posts_left + reads_left) < posts_left:
            author = authors[bisect_right(cum, rng.random() * cum[-1])]
            formula_writes += followers[author]
            t0 = timer()
            feed.post(author)
            post_times.append(timer() - t0)
            posts_left -= 1
        else:
            reader = readers[int(rng.random() * len(readers))]
            formula_reads += followees[reader]
            t0 = timer()
            feed.timeline(reader, work.limit)
            read_times.append(timer() - t0)
            reads_left -= 1
    seconds = time.perf_counter() - start
    return SimulationReport(
        strategy=type(feed).__name__,
        store=feed.store.name,
        users=len(graph.users),
        follows=len(graph.edges),
        posts=work.posts,
        reads=n_reads,
        stats=feed.stats.since(before),
        formula_writes_per_post=formula_writes / work.posts if work.posts else 0.0,
        formula_reads_per_load=formula_reads / n_reads if n_reads else 0.0,
        entries_stored=feed.entries_stored(),
        read_p50=percentile(read_times, 50) if read_times else 0.0,
        read_p99=percentile(read_times, 99) if read_times else 0.0,
        post_p50=percentile(post_times, 50) if post_times else 0.0,
        post_p99=percentile(post_times, 99) if post_times else 0.0,
        seconds=seconds,
    )
