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


def test_a_post_pushed_during_a_crossing_up_leaves_with_an_unfollow(store: FeedStore) -> None:
    """Server A flags ada a celebrity (her pushed posts already taken out); just before the flag,
    server B posts as ada, still seeing her pushed, and pushes the post to her followers. When
    one of them unfollows later, ada's posts must leave that timeline although she is pulled."""
    clock = ManualClock(1.0)
    a, b = (HybridFanout(store, threshold=2, inactive_after=None, clock=clock) for _ in "ab")
    a.add_users(["ada", "bo", "cy", "di"])
    a.follow("bo", "ada")
    real = a._store.set_flag

    def set_flag(kind: str, users: Any, on: bool) -> None:
        if on:
            b.post("ada", body="during the crossing")
        real(kind, users, on)

    a._store.set_flag = set_flag  # type: ignore[method-assign]
    try:
        a.follow("cy", "ada")  # two followers: ada crosses up
    finally:
        a._store.set_flag = real  # type: ignore[method-assign]
    a.follow("di", "ada")  # three: she stays a celebrity when bo leaves
    assert a.unfollow("bo", "ada")
    assert [p.body for p in a.timeline("bo")] == []
    assert [p.body for p in a.timeline("cy")] == ["during the crossing"]


@pytest.mark.parametrize("race", ["post", "follow"])
def test_a_post_or_follow_during_a_crossing_down_is_pushed(store: FeedStore, race: str) -> None:
    """Server A takes ada back to ordinary (her posts pushed back in, then the flag cleared);
    just before the flag clears, server B posts as ada, or di follows her, still seeing her a
    celebrity, so B pushes nothing. Once she is pushed again, her followers' timelines must
    hold that post, and di's her posts."""
    clock = ManualClock(1.0)
    a, b = (HybridFanout(store, threshold=3, inactive_after=None, clock=clock) for _ in "ab")
    a.add_users(["ada", "bo", "cy", "di", "ed"])
    for fan in ("bo", "cy", "ed"):
        a.follow(fan, "ada")  # three: ada is a celebrity
    a.post("ada", body="old")
    real = a._store.set_flag

    def set_flag(kind: str, users: Any, on: bool) -> None:
        if not on:
            if race == "post":
                b.post("ada", body="during the crossing")
            else:
                b.follow("di", "ada")
        real(kind, users, on)

    a._store.set_flag = set_flag  # type: ignore[method-assign]
    try:
        a.unfollow("ed", "ada")  # two followers: ada crosses down
    finally:
        a._store.set_flag = real  # type: ignore[method-assign]
    want = ["during the crossing", "old"] if race == "post" else ["old"]
    assert [p.body for p in a.timeline("bo")] == want
    if race == "follow":
        assert [p.body for p in a.timeline("di")] == want
