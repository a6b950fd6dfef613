"""reputation benchmarks: ranking 100,000 providers under each rule, rings, matching.

Run ``pytest benchmarks/bench_reputation.py --benchmark-only`` for figures, or
``--benchmark-disable`` for the quick correctness pass CI makes. The summary tables of
``dpref bench reputation`` come from ``designpatterns_ref.reputation._bench``.
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.reputation import (
    RULES,
    RingDetector,
    StarCounts,
    generate_marketplace,
    rank,
    star_lower_bound,
)
from designpatterns_ref.reputation._bench import bench_steps, providers


@pytest.fixture(scope="module")
def pool(quick: bool) -> dict[str, StarCounts]:
    return providers(5_000 if quick else 100_000)


@pytest.mark.benchmark(group="rank 100,000 providers")
@pytest.mark.parametrize("rule", RULES)
def test_rank_top_20(benchmark: BenchmarkFixture, pool: dict[str, StarCounts], rule: str) -> None:
    best = benchmark(rank, pool, rule, 20)
    assert len(best) == 20 and best == sorted(best, key=lambda t: (-t[0], t[1]))
    if rule == "stars":
        assert best[0][0] == pytest.approx(max(star_lower_bound(c) for c in pool.values()))


def test_ring_detector(benchmark: BenchmarkFixture, quick: bool) -> None:
    market = generate_marketplace(
        users=500 if quick else 2_000, jobs=2_500 if quick else 10_000, seed=7
    )
    flagged = benchmark(RingDetector().flagged_accounts, market.reviews)
    assert flagged & market.ring_members


def test_bench_steps_quick() -> None:
    for _, step in bench_steps(True):
        tables = step()
        assert tables and tables[0].rows
