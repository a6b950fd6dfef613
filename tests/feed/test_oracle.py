"""Every strategy on every store returns exactly the brute-force timeline, whatever happened."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import Feed, Post

from .conftest import STRATEGIES, Oracle, StoreFactory, make_feed

USERS = ["a", "b", "c", "d", "e"]
user = st.sampled_from(USERS)
op = st.one_of(
    st.tuples(st.just("follow"), user, user),
    st.tuples(st.just("follow"), user, user),
    st.tuples(st.just("unfollow"), user, user),
    st.tuples(st.just("post"), user),
    st.tuples(st.just("post"), user),
    st.tuples(st.just("post"), user),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("read"), user, st.integers(1, 6)),
    st.tuples(st.just("tick"), st.sampled_from([0.0, 1.0, 4.0, 10.0])),
)


def pages(feed: Feed, user: str, size: int) -> list[int]:
    """Walk the whole timeline page by page with the ``before`` cursor."""
    seen: list[int] = []
    cursor: Post | None = None
    while True:
        page = feed.timeline(user, size, before=cursor)
        assert len(page) <= size
        seen += [p.id for p in page]
        if len(page) < size:
            return seen
        cursor = page[-1]


def run(stores: StoreFactory, ops: list[tuple[object, ...]], page_size: int) -> None:
    clock = ManualClock()
    feeds = {kind: make_feed(kind, stores(), clock) for kind in STRATEGIES}
    oracle = Oracle()
    for name in USERS:
        oracle.add_user(name)
        for f in feeds.values():
            f.add_user(name)
    for step in ops:
        match step:
            case ("follow", str(a), str(b)) if a != b:
                expect = b not in oracle.followees[a]
                oracle.followees[a].add(b)
                for f in feeds.values():
                    assert f.follow(a, b) is expect
            case ("unfollow", str(a), str(b)) if a != b:
                expect = b in oracle.followees[a]
                oracle.followees[a].discard(b)
                for f in feeds.values():
                    assert f.unfollow(a, b) is expect
            case ("post", str(a)):
                pid = oracle.post(a)
                for f in feeds.values():
                    assert f.post(a).id == pid
            case ("delete", int(k)) if oracle.posts:
                live = sorted(oracle.posts)
                pid = live[k % len(live)]
                del oracle.posts[pid]
                for f in feeds.values():
                    assert f.delete(pid).id == pid
            case ("read", str(a), int(limit)):
                want = oracle.timeline(a, limit)
                for kind, f in feeds.items():
                    assert [p.id for p in f.timeline(a, limit)] == want, kind
            case ("tick", float(dt)):
                clock.advance(dt)
            case _:
                pass
    for name in USERS:
        want = oracle.timeline(name)
        for kind, f in feeds.items():
            assert pages(f, name, page_size) == want, (kind, name)
            assert [p.id for p in f.timeline(name, 1000)] == want, (kind, name)
            assert all(p.author in oracle.followees[name] for p in f.timeline(name, 1000))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=5, max_size=80), page_size=st.integers(1, 4))
def test_every_strategy_matches_brute_force(
    stores: StoreFactory, ops: list[tuple[object, ...]], page_size: int
) -> None:
    try:
        run(stores, ops, page_size)
    finally:
        stores.cleanup()


def test_celebrity_crossing_both_ways(stores: StoreFactory) -> None:
    """An author crosses the threshold up, posts, then drops below it: timelines stay exact."""
    ops: list[tuple[object, ...]] = [
        ("follow", "b", "a"), ("post", "a"), ("post", "a"),
        ("follow", "c", "a"),  # a now has 2 followers: a celebrity
        ("post", "a"), ("read", "b", 5), ("read", "c", 5),
        ("unfollow", "c", "a"),  # back to ordinary: a's posts are pushed back to b
        ("post", "a"), ("read", "b", 5), ("follow", "d", "a"), ("unfollow", "b", "a"),
        ("post", "a"), ("post", "a"), ("post", "a"), ("read", "d", 2),
    ]  # fmt: skip
    try:
        run(stores, ops, 2)
    finally:
        stores.cleanup()


def test_inactive_follower_is_skipped_then_rebuilt(stores: StoreFactory) -> None:
    """An idle follower misses pushes, is marked stale, and reads an exact rebuilt timeline."""
    clock = ManualClock()
    feed = make_feed("hybrid", stores(), clock)
    feed.add_users(["a", "b"])
    feed.follow("b", "a")
    first = feed.post("a")
    assert feed.stats.post_writes == 1
    clock.advance(10.0)  # b has been idle longer than inactive_after=5
    second = feed.post("a")
    assert (feed.stats.post_writes, feed.stats.skipped) == (1, 1)
    assert [p.id for p in feed.timeline("b")] == [second.id, first.id]
    assert feed.stats.rebuilds == 1
    third = feed.post("a")  # b is active again: pushed
    assert (feed.stats.post_writes, feed.stats.skipped) == (2, 1)
    assert [p.id for p in feed.timeline("b", 2)] == [third.id, second.id]
    assert feed.stats.rebuilds == 1


def test_follow_into_a_trimmed_timeline_keeps_older_posts(stores: StoreFactory) -> None:
    """A follow must not insert posts below a trimmed timeline's floor (they would hide gaps)."""
    ops: list[tuple[object, ...]] = [
        ("follow", "b", "a"), ("post", "c"),  # c's post 1 is older than everything below
        ("post", "a"), ("post", "a"), ("post", "a"), ("post", "a"),  # b keeps 3 of 2..5
        ("delete", 2),  # post 3 goes: b's timeline holds 4, 5 and is capped
        ("follow", "b", "c"), ("read", "b", 10),
    ]  # fmt: skip
    try:
        run(stores, ops, 1)
    finally:
        stores.cleanup()
