"""``dpref bench feed``: push, pull and hybrid on one power-law graph and one Twitter-like mix.

Full run: a 100,000-user graph, 100,000 posts and 1,000,000 timeline reads per strategy, in
memory; a sweep of the hybrid's celebrity threshold on a 20,000-user graph; then a smaller
run of the same mix on a real redis-server when one is installed. Quick run: the same steps
on a few thousand users (seconds, for CI). Latencies are CPU time per call
(``time.thread_time``), so other processes on a shared machine do not inflate them.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

from designpatterns_ref.benchkit import Table, percentile
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed.base import FeedStore
from designpatterns_ref.feed.graphs import Graph, power_law
from designpatterns_ref.feed.hybrid import HybridFanout
from designpatterns_ref.feed.memory import MemoryStore
from designpatterns_ref.feed.pull import FanoutOnRead
from designpatterns_ref.feed.push import FanoutOnWrite
from designpatterns_ref.feed.simulation import SimulationReport, Workload, simulate
from designpatterns_ref.feed.strategy import Feed

__all__ = ["Comparison", "Scale", "bench_steps", "compare", "probe_user", "sweep", "tables"]


@dataclass(frozen=True)
class Scale:
    """The size of one comparison."""

    users: int
    posts: int
    reads: int
    probe_followees: int = 200
    probe_reads: int = 2_000
    active_share: float = 0.5
    mean_followees: float = 20.0
    seed: int = 42

    threshold_share: float = 0.1

    @property
    def threshold(self) -> int:
        """The hybrid's celebrity threshold: 10% of the users (10,000 of 100,000)."""
        return max(10, round(self.users * self.threshold_share))

    def workload(self) -> Workload:
        return Workload(
            posts=self.posts, reads=self.reads, active_share=self.active_share, seed=self.seed
        )

    @property
    def inactive_after(self) -> float:
        """Idle for six of an active reader's mean intervals between reads (1 s per op)."""
        readers = self.users * self.active_share
        return 6.0 * readers * (self.posts + self.reads) / max(1, self.reads)


FULL = Scale(users=100_000, posts=100_000, reads=1_000_000)
QUICK = Scale(users=4_000, posts=2_000, reads=20_000, probe_reads=500)
REDIS_FULL = Scale(users=2_000, posts=2_000, reads=20_000, probe_reads=500)
REDIS_QUICK = Scale(
    users=200, posts=100, reads=1_000, probe_followees=50, probe_reads=100, mean_followees=8
)


def make_feeds(scale: Scale, store: Callable[[], FeedStore]) -> list[Feed]:
    """The three strategies, configured for ``scale``, each on a fresh store."""
    return [
        FanoutOnWrite(store(), clock=ManualClock()),
        FanoutOnRead(store(), clock=ManualClock()),
        HybridFanout(
            store(),
            threshold=scale.threshold,
            inactive_after=scale.inactive_after,
            clock=ManualClock(),
        ),
    ]


def probe_user(feed: Feed, graph: Graph, followees: int, seed: int) -> str:
    """Add a user following ``followees`` accounts picked by popularity, as a real user would."""
    rng = random.Random(seed)
    counts = graph.follower_counts()
    cum = list(accumulate(counts[u] + 1 for u in graph.users))
    chosen: set[str] = set()
    while len(chosen) < min(followees, len(graph.users)):
        chosen.update(rng.choices(graph.users, cum_weights=cum, k=followees - len(chosen)))
    feed.add_user("probe")
    for account in sorted(chosen):
        feed.follow("probe", account)
    return "probe"


@dataclass
class Comparison:
    """The three strategies after the same mix: reports, probe read times, the feeds."""

    graph: Graph
    reports: list[SimulationReport]
    probes: dict[str, tuple[float, float]]  # kind -> (p50, p99) seconds
    feeds: dict[str, Feed]


def compare(
    scale: Scale,
    store: Callable[[], FeedStore] = MemoryStore,
    graph: Graph | None = None,
    timer: Callable[[], float] = time.thread_time,
) -> Comparison:
    """Simulate every strategy on ``scale``, then time reads by a user following 200 accounts.

    ``timer`` is CPU time by default; the Redis run passes wall time, since there the time is
    spent waiting for the server.
    """
    graph = graph or power_law(scale.users, seed=scale.seed, mean_followees=scale.mean_followees)
    out = Comparison(graph, [], {}, {})
    for feed in make_feeds(scale, store):
        gc.collect()
        out.reports.append(simulate(feed, graph, scale.workload(), timer=timer))
        probe = probe_user(feed, graph, scale.probe_followees, scale.seed)
        feed.timeline(probe)
        samples = timed(feed.timeline, [probe] * scale.probe_reads, timer)
        out.probes[feed.kind] = (percentile(samples, 50), percentile(samples, 99))
        out.feeds[feed.kind] = feed
    return out


def timed(fn: Callable[[str], object], args: list[str], clock: Callable[[], float]) -> list[float]:
    """Seconds of ``clock`` spent in each ``fn(arg)``."""
    out = []
    for arg in args:
        start = clock()
        fn(arg)
        out.append(clock() - start)
    return out


def sweep(scale: Scale, shares: tuple[float, ...]) -> Table:
    """The hybrid's knob: celebrity threshold against worst post cost and read latency."""
    graph = power_law(scale.users, seed=scale.seed, mean_followees=scale.mean_followees)
    table = Table(
        f"hybrid threshold sweep ({scale.users:,} users, {scale.posts:,} posts, "
        f"{scale.reads:,} reads)",
        ["threshold", "max writes/post", "writes/post", "reads/load", "read p50 µs",
         "read p99 µs", "p99 / push p99"],
    )  # fmt: skip
    push = simulate(FanoutOnWrite(clock=ManualClock()), graph, scale.workload(),
                    timer=time.thread_time)  # fmt: skip
    table.add("push (none)", push.max_post_writes, push.writes_per_post, push.reads_per_load,
              push.read_p50 * 1e6, push.read_p99 * 1e6, 1.0)  # fmt: skip
    for share in shares:
        threshold = max(10, round(scale.users * share))
        feed = HybridFanout(threshold=threshold, inactive_after=scale.inactive_after,
                            clock=ManualClock())  # fmt: skip
        r = simulate(feed, graph, scale.workload(), timer=time.thread_time)
        table.add(f"{threshold:,} ({share:.0%})", r.max_post_writes, r.writes_per_post,
                  r.reads_per_load, r.read_p50 * 1e6, r.read_p99 * 1e6,
                  r.read_p99 / push.read_p99)  # fmt: skip
    table.note = "latency is CPU time per call (time.thread_time), median and 99th percentile"
    return table


def tables(
    title: str, result: Comparison, probe_followees: int = 200, timing: str = "CPU time"
) -> list[Table]:
    """The comparison as two tables: the work counted, and the time measured."""
    work = Table(
        f"{title}: work",
        ["strategy", "writes/post", "formula", "max writes/post", "reads/load", "formula",
         "timeline entries", "timeline MB", "total work"],
    )  # fmt: skip
    speed = Table(
        f"{title}: {timing} per call (µs)",
        ["strategy", "read p50", "read p99", "post p50", "post p99", "probe read p50",
         "probe read p99", "run s"],
    )  # fmt: skip
    for r in result.reports:
        kind = _KINDS[r.strategy]
        megabytes = result.feeds[kind].store.home_bytes() / 1e6
        work.add(
            r.strategy, r.writes_per_post, r.formula_writes_per_post, r.max_post_writes,
            r.reads_per_load, r.formula_reads_per_load, r.entries_stored, megabytes,
            r.stats.total_work,
        )  # fmt: skip
        p50, p99 = result.probes[kind]
        speed.add(
            r.strategy, r.read_p50 * 1e6, r.read_p99 * 1e6, r.post_p50 * 1e6, r.post_p99 * 1e6,
            p50 * 1e6, p99 * 1e6, r.seconds,
        )  # fmt: skip
    first = result.reports[0]
    work.note = (
        f"{first.users:,} users, {first.follows:,} follows, {first.posts:,} posts, "
        f"{first.reads:,} reads of 50; formula: push writes = followers, pull reads = followees"
    )
    speed.note = (
        f"probe: one user following {probe_followees} accounts picked by popularity, "
        "50 posts a page"
    )
    return [work, speed]


_KINDS = {"FanoutOnWrite": "push", "FanoutOnRead": "pull", "HybridFanout": "hybrid"}


def _memory_step(scale: Scale) -> Callable[[], list[Table]]:
    def step() -> list[Table]:
        start = time.perf_counter()
        result = compare(scale)
        out = tables("feed in memory", result, scale.probe_followees)
        out[1].note += f"; whole step {time.perf_counter() - start:.1f} s"
        return out

    return step


def _redis_step(scale: Scale) -> Callable[[], list[Table]]:
    def step() -> list[Table]:
        from designpatterns_ref.feed.redis import RedisStore
        from designpatterns_ref.testing import ServerUnavailable, redis_server

        try:
            with redis_server() as server:
                made: list[RedisStore] = []

                def store() -> FeedStore:
                    made.append(RedisStore.from_url(server.url, prefix=f"b{len(made)}:"))
                    return made[-1]

                result = compare(scale, store, timer=time.perf_counter)
                out = tables("feed on Redis", result, scale.probe_followees, "wall time")
                for s in made:
                    s.r.close()
        except (ServerUnavailable, ImportError) as exc:
            table = Table("feed on Redis", ["skipped"])
            table.add(str(exc))
            return [table]
        return out

    return step


SHARES = (0.01, 0.02, 0.05, 0.1, 0.2)
SWEEP_FULL = Scale(users=20_000, posts=20_000, reads=100_000)
SWEEP_QUICK = Scale(users=2_000, posts=500, reads=3_000)


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """Memory at full (or quick) scale, the hybrid's threshold sweep, then Redis."""
    memory, redis = (QUICK, REDIS_QUICK) if quick else (FULL, REDIS_FULL)
    swept = SWEEP_QUICK if quick else SWEEP_FULL
    return [
        (f"memory: {memory.users:,} users, {memory.reads:,} reads", _memory_step(memory)),
        (f"threshold sweep: {swept.users:,} users", lambda: [sweep(swept, SHARES)]),
        (f"redis: {redis.users:,} users, {redis.reads:,} reads", _redis_step(redis)),
    ]
