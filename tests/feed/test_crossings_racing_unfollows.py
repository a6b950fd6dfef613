"""Celebrity crossings racing unfollows on other servers: replayed schedules.

Two hybrid feeds (two servers) share one store, ``threshold=3``. Each test replays, from one
thread, an interleaving found by logging the store calls of threads that share a Redis store
(tests/feed/test_threads.py with authors crossing the threshold): server A is stopped right
after one store read, server B runs a whole call, then A goes on with what it read. Each left
a post of ``star`` in the timeline of ``rob``, who no longer follows ``star``; a read must not
show it (and takes it out), and must fill the page from below it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import FeedStore, HybridFanout, MemoryStore, RedisStore
from designpatterns_ref.feed.hybrid import CELEBRITY


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> FeedStore:
    if request.param == "memory":
        return MemoryStore()
    return RedisStore.from_url(request.getfixturevalue("redis_url"), prefix="cross:")


def servers(store: FeedStore) -> tuple[HybridFanout, HybridFanout]:
    clock = ManualClock(1.0)
    a, b = (HybridFanout(store, threshold=3, inactive_after=None, clock=clock) for _ in "ab")
    a.add_users(["star", "ann", "rob", "xi", "yu", "zed"])
    a.follow("rob", "ann")
    a.post("ann", body="ann's")  # older than every post of star's below
    return a, b


@contextmanager
def after(
    feed: HybridFanout, method: str, step: Callable[[], object], *, kind: str = "", nth: int = 1
) -> Iterator[None]:
    """Run ``step`` (the other server's call) once, right after ``feed``'s ``nth`` call of its
    store's ``method`` (counting those with ``kind`` as first argument, if given) returned."""
    real = getattr(feed._store, method)
    calls = 0

    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        got = real(*args, **kwargs)
        if not kind or args[0] == kind:
            calls += 1
            if calls == nth:
                step()
        return got

    setattr(feed._store, method, call)
    try:
        yield
    finally:
        setattr(feed._store, method, real)


def rob_sees_only_ann(a: HybridFanout) -> None:
    assert [p.body for p in a.timeline("rob", limit=1)] == ["ann's"]  # filled from below
    assert [p.body for p in a.timeline("rob")] == ["ann's"]
    assert a._store.home_page("rob", 100, 2**62) == [1]  # the stray is taken out


def test_two_unfollows_crossing_down_at_once(store: FeedStore) -> None:
    """A's unfollow crosses down and reads star's followers (rob among them); B's unfollow of
    rob crosses down too, and pushes back to the others only; A then pushes star's posts back
    into the followers it read, rob's timeline included."""
    a, b = servers(store)
    for fan in ("rob", "xi", "yu"):
        a.follow(fan, "star")  # three: star is a celebrity
    a.post("star", body="star's")
    with after(a, "followers", lambda: b.unfollow("rob", "star")):
        a.unfollow("xi", "star")
    assert a.followers("star") == ["yu"]
    assert [p.body for p in a.timeline("yu")] == ["star's"]
    rob_sees_only_ann(a)


def test_a_crossing_up_between_the_flag_reads_of_an_unfollow(store: FeedStore) -> None:
    """rob's unfollow on A reads star's flag three times (crossing down? a celebrity? pushed?):
    between the second and the third, B's follows make star a celebrity, taking star's posts
    out of the followers it reads, rob no longer one of them; A's third read finds star
    pulled, so A takes nothing out of rob's timeline either."""
    a, b = servers(store)
    a.follow("rob", "star")
    a.follow("xi", "star")
    a.post("star", body="star's")  # pushed to rob and xi

    def two_follows() -> None:
        b.follow("yu", "star")
        b.follow("zed", "star")  # three followers without rob: star crosses up

    with after(a, "has_flag", two_follows, kind=CELEBRITY, nth=2):
        a.unfollow("rob", "star")
    assert a.store.has_flag(CELEBRITY, ["star"]) == [True]
    rob_sees_only_ann(a)


def test_a_push_that_missed_the_crossing_up_then_an_unfollow_crossing_down(
    store: FeedStore,
) -> None:
    """A posts as star and finds star pushed; B's follow makes star a celebrity; A pushes the
    post to the followers it then reads, rob included. rob's unfollow crosses star down, which
    pushes star's posts back to the others and leaves rob's timeline alone."""
    a, b = servers(store)
    a.follow("rob", "star")
    a.follow("xi", "star")
    with after(a, "has_flag", lambda: b.follow("yu", "star"), kind=CELEBRITY):
        a.post("star", body="star's")
    assert [p.body for p in a.timeline("xi")] == ["star's"]  # pushed and pulled: shown once
    assert b.unfollow("rob", "star")  # two followers: star is pushed again
    assert a.store.has_flag(CELEBRITY, ["star"]) == [False]
    rob_sees_only_ann(a)
    assert [p.body for p in a.timeline("yu")] == ["star's"]


def test_a_stray_taken_out_while_its_reader_follows_again_is_put_back(store: FeedStore) -> None:
    """A read finds a stray post of star's in rob's timeline and reads rob's followees; rob
    follows star again on B (its backfill finds the post already there) before A takes the
    post out: A puts it back, so rob's next read has it."""
    a, b = servers(store)
    a.follow("rob", "star")
    a.follow("xi", "star")
    with after(a, "has_flag", lambda: b.follow("yu", "star"), kind=CELEBRITY):
        a.post("star", body="star's")  # the schedule of the test above
    b.unfollow("rob", "star")
    b.unfollow("xi", "star")  # one follower left: rob's follow keeps star pushed
    with after(a, "followees", lambda: b.follow("rob", "star")):
        assert [p.body for p in a.timeline("rob")] == ["ann's"]  # read before the follow
    assert [p.body for p in a.timeline("rob")] == ["star's", "ann's"]
    assert [p.body for p in a.timeline("rob", limit=1)] == ["star's"]
