"""The power-law graph generator and the workload simulator."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import (
    FanoutOnRead,
    FanoutOnWrite,
    FeedError,
    HybridFanout,
    Workload,
    power_law,
    simulate,
)


@given(users=st.integers(2, 60), seed=st.integers(0, 10**6))
def test_graph_is_seeded_simple_and_closed(users: int, seed: int) -> None:
    g = power_law(users, seed=seed, mean_followees=5)
    assert g == power_law(users, seed=seed, mean_followees=5)
    assert len(set(g.edges)) == len(g.edges)
    assert all(a != b for a, b in g.edges)
    names = set(g.users)
    assert all(a in names and b in names for a, b in g.edges)
    assert set(g.followee_counts()) == names  # everyone follows at least one account


def test_graph_has_a_heavy_tail() -> None:
    counts = sorted(power_law(2000, seed=3).follower_counts().values(), reverse=True)
    assert counts[0] > 50 * counts[len(counts) // 2]
    assert counts[0] > 10 * sum(counts) / len(counts)


@pytest.mark.parametrize("users", [1, 0, True])
def test_graph_rejects_bad_sizes(users: int) -> None:
    with pytest.raises(FeedError, match="users="):
        power_law(users)


def test_simulation_counts_match_the_formulas() -> None:
    g = power_law(300, seed=5)
    work = Workload(posts=40, seed=2)
    push = simulate(FanoutOnWrite(), g, work)
    pull = simulate(FanoutOnRead(), g, work)
    assert push.posts == pull.posts == 40 and push.reads == pull.reads == 2000
    assert push.writes_per_post == pytest.approx(push.formula_writes_per_post)
    assert push.reads_per_load == 1.0
    assert pull.reads_per_load == pytest.approx(pull.formula_reads_per_load)
    assert pull.writes_per_post == 0 and pull.entries_stored == 0
    assert push.max_post_writes <= max(g.follower_counts().values())
    assert 0 < push.read_p50 <= push.read_p99


def test_hybrid_bounds_the_worst_post_and_skips_the_idle() -> None:
    g = power_law(400, seed=9)
    threshold = 20
    hybrid = HybridFanout(threshold=threshold, inactive_after=300.0, clock=ManualClock())
    report = simulate(hybrid, g, Workload(posts=60, reads_per_post=5, active_share=0.3, seed=4))
    assert report.max_post_writes < threshold
    assert report.stats.skipped > 0
    push = simulate(FanoutOnWrite(), g, Workload(posts=60, reads_per_post=5, seed=4))
    assert report.writes_per_post < push.writes_per_post


def test_same_seed_same_story() -> None:
    g = power_law(150, seed=1)
    a = simulate(FanoutOnRead(), g, Workload(posts=10, seed=8))
    b = simulate(FanoutOnRead(), g, Workload(posts=10, seed=8))
    assert a.stats == b.stats


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"posts": -1}, "posts=-1"),
        ({"reads": -2}, "reads=-2"),
        ({"active_share": 0.0}, "active_share=0.0"),
        ({"seconds_per_op": -1.0}, "seconds_per_op=-1.0"),
    ],
)
def test_workload_rejects_bad_values(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(FeedError, match=message):
        Workload(**kwargs)  # type: ignore[arg-type]
