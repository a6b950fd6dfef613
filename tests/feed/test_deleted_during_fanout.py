"""A post deleted while another server still fans it out: the pages stay full and complete.

Two feeds (two servers) share one store. Server B deletes a post after server A has read the
author's followers for its fan-out and before A pushes it, so the delete's removal misses the
push and the id stays in the follower's timeline with no post behind it. Reading it must not
return a short page, which a reader takes as the end of the timeline (as :func:`pages` does).
"""

from __future__ import annotations

from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import Feed, FeedStore, MemoryStore, Post, RedisStore

from .conftest import make_feed


def pages(feed: Feed, user: str, size: int) -> list[str]:
    seen: list[str] = []
    cursor: Post | None = None
    while True:
        page = feed.timeline(user, size, before=cursor)
        assert len(page) <= size
        seen += [p.body for p in page]
        if len(page) < size:
            return seen
        cursor = page[-1]


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> FeedStore:
    if request.param == "memory":
        return MemoryStore()
    url = request.getfixturevalue("redis_url")
    return RedisStore.from_url(url, prefix="dangling:")


@pytest.mark.parametrize("kind", ["push", "hybrid"])
@pytest.mark.parametrize("size", [1, 2, 3, 10])
def test_paging_past_a_post_deleted_during_its_fanout(
    store: FeedStore, kind: str, size: int
) -> None:
    clock = ManualClock(1.0)
    a = make_feed(kind, store, clock, max_len=100)
    b = make_feed(kind, store, clock, max_len=100)
    a.add_users(["ada", "bo"])
    a.follow("bo", "ada")
    for i in range(4):
        a.post("ada", body=f"p{i}")
    real = a._store.followers
    once = [True]

    def followers(user: str) -> Any:
        got = real(user)
        if once.pop() if once else False:
            last = a._store.last_key("ada")
            assert last is not None
            b.delete(last[0])  # server B deletes the post server A is about to push
        return got

    a._store.followers = followers  # type: ignore[method-assign]
    a.post("ada", body="gone")
    a._store.followers = real  # type: ignore[method-assign]
    for i in range(4):
        a.post("ada", body=f"q{i}")
    want = ["q3", "q2", "q1", "q0", "p3", "p2", "p1", "p0"]
    assert pages(a, "bo", size) == want
    assert pages(a, "bo", size) == want  # and again, once the id is forgotten
    assert a.store.home_entries() == 8
