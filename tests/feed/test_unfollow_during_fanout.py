"""An unfollow (or an unfollow and a follow again) while a post is being fanned out.

Two feeds (two servers) share one store. Server B runs bo's unfollow of ada after server A has
read ada's followers for a post and before A pushes it: B's removal of ada's posts from bo's
timeline runs before the post arrives. The post must not stay in the timeline of someone who
no longer follows its author; and if bo follows ada again meanwhile, bo must have it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import (
    FanoutOnWrite,
    Feed,
    FeedStore,
    HybridFanout,
    MemoryStore,
    RedisStore,
)


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> FeedStore:
    if request.param == "memory":
        return MemoryStore()
    return RedisStore.from_url(request.getfixturevalue("redis_url"), prefix="race:")


def interleaved(a: Feed, steps: list[Callable[[], object]], body: str) -> None:
    """``a`` posts ``body`` as ada; the k-th time it reads ada's followers, ``steps[k]`` runs
    right after that read (as another server would)."""
    real = a._store.followers
    calls = iter(steps)

    def followers(user: str) -> Any:
        got = real(user)
        step = next(calls, None)
        if step is not None:
            step()
        return got

    a._store.followers = followers  # type: ignore[method-assign]
    try:
        a.post("ada", body=body)
    finally:
        a._store.followers = real  # type: ignore[method-assign]


def make(kind: str, store: FeedStore, clock: ManualClock) -> Feed:
    if kind == "push":
        return FanoutOnWrite(store, max_len=100, clock=clock)
    return HybridFanout(store, threshold=10, inactive_after=60.0, max_len=100, clock=clock)


def feeds(kind: str, store: FeedStore) -> tuple[Feed, Feed]:
    clock = ManualClock(1.0)
    a, b = make(kind, store, clock), make(kind, store, clock)
    a.add_users(["ada", "bo", "cy"])
    a.follow("bo", "ada")
    a.follow("cy", "ada")
    a.post("ada", body="before")
    return a, b


@pytest.mark.parametrize("kind", ["push", "hybrid"])
def test_an_unfollow_during_the_fanout_keeps_the_post_out(store: FeedStore, kind: str) -> None:
    a, b = feeds(kind, store)
    interleaved(a, [lambda: b.unfollow("bo", "ada")], "after bo left")
    assert [p.body for p in a.timeline("bo")] == []
    assert [p.body for p in a.timeline("cy")] == ["after bo left", "before"]


@pytest.mark.parametrize("kind", ["push", "hybrid"])
def test_an_unfollow_and_a_follow_again_during_the_fanout(store: FeedStore, kind: str) -> None:
    a, b = feeds(kind, store)
    # bo leaves after the first read; bo is back right after the second read (the recheck)
    interleaved(a, [lambda: b.unfollow("bo", "ada"), lambda: b.follow("bo", "ada")], "x")
    assert [p.body for p in a.timeline("bo")] == ["x", "before"]
    assert [p.body for p in a.timeline("cy")] == ["x", "before"]
