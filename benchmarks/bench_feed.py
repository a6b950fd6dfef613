"""News feed: push, pull and hybrid on one power-law graph (issue targets in the docstrings).

Full run (``pytest benchmarks/bench_feed.py --benchmark-only -s``): 100,000 users, 100,000
posts, 1,000,000 timeline reads per strategy, then single calls timed by pytest-benchmark on
the warmed feeds. Quick run (``--benchmark-disable``): 4,000 users, a few seconds.
"""

from __future__ import annotations

import time

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.feed import Feed, RedisStore
from designpatterns_ref.feed._bench import (
    FULL,
    QUICK,
    REDIS_FULL,
    REDIS_QUICK,
    Comparison,
    compare,
    tables,
)
from designpatterns_ref.testing import RedisServer

KINDS = ["push", "pull", "hybrid"]


@pytest.fixture(scope="module")
def warmed(quick: bool) -> Comparison:
    """Every strategy after the whole Twitter-like mix, with a 200-followee probe user."""
    scale = QUICK if quick else FULL
    result = compare(scale)
    for table in tables("feed in memory", result):
        print("\n" + table.render())
    return result


def test_mix_counts_match_the_formulas(warmed: Comparison) -> None:
    push, pull, hybrid = warmed.reports
    assert push.writes_per_post == pytest.approx(push.formula_writes_per_post)
    assert pull.reads_per_load == pytest.approx(pull.formula_reads_per_load)
    threshold = warmed.feeds["hybrid"].threshold  # type: ignore[attr-defined]
    assert hybrid.max_post_writes < threshold <= push.max_post_writes


@pytest.mark.parametrize("kind", KINDS)
def test_probe_timeline_read(benchmark: BenchmarkFixture, warmed: Comparison, kind: str) -> None:
    """Targets: push p50 <= 20 µs; pull p50 <= 300 µs for this 200-followee user."""
    feed: Feed = warmed.feeds[kind]
    page = benchmark(feed.timeline, "probe", 50)
    assert len(page) == 50


@pytest.mark.parametrize("kind", KINDS)
def test_celebrity_post(benchmark: BenchmarkFixture, warmed: Comparison, kind: str) -> None:
    """The top celebrity posts: push writes to every follower, hybrid and pull write nothing."""
    feed: Feed = warmed.feeds[kind]
    before = feed.stats.max_post_writes
    benchmark(feed.post, "u0")
    if kind == "push":
        assert feed.stats.max_post_writes >= before


@pytest.mark.redis
def test_redis_mix(redis_srv: RedisServer, quick: bool) -> None:
    """The same mix on a real redis-server, at a smaller scale (every call is a round trip)."""
    scale = REDIS_QUICK if quick else REDIS_FULL
    made: list[RedisStore] = []

    def store() -> RedisStore:
        made.append(RedisStore.from_url(redis_srv.url, prefix=f"bench{len(made)}:"))
        return made[-1]

    result = compare(scale, store, timer=time.perf_counter)
    for table in tables("feed on Redis", result, scale.probe_followees, "wall time"):
        print("\n" + table.render())
    push, pull, _ = result.reports
    assert push.writes_per_post == pytest.approx(push.formula_writes_per_post)
    assert pull.reads_per_load == pytest.approx(pull.formula_reads_per_load)
    for s in made:
        s.clear()
        s.r.close()
