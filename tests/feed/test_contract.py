"""The one interface: the same behaviour and the same errors from every strategy and store."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.errors import DesignPatternsError
from designpatterns_ref.feed import (
    FanoutOnRead,
    FanoutOnWrite,
    Feed,
    FeedError,
    FeedTypeError,
    HybridFanout,
    Post,
)

from .conftest import STRATEGIES, StoreFactory, make_feed


@pytest.fixture(params=STRATEGIES)
def feed(request: pytest.FixtureRequest, stores: StoreFactory) -> Iterator[Feed]:
    """A small populated feed: bob and cy follow ada, ada posted three times."""
    f = make_feed(request.param, stores(), ManualClock())
    f.add_users(["ada", "bob", "cy"])
    f.follow("bob", "ada")
    f.follow("cy", "ada")
    for _ in range(3):
        f.post("ada", body="hi")
    yield f


def snapshot(f: Feed) -> object:
    users = ["ada", "bob", "cy"]
    return (
        {u: [p.id for p in f.store.get_posts(f.store.home_page(u, 100, 2**62))] for u in users},
        {u: sorted(f.store.followees(u)) for u in users},
        f.store.latest_at(),
        f.stats.copy(),
        f.entries_stored(),
    )


BAD_CALLS: list[tuple[str, Callable[[Feed], object], str]] = [
    ("unknown follower", lambda f: f.follow("zed", "ada"), "a='zed' is not a known user"),
    ("unknown followee", lambda f: f.follow("bob", "zed"), "b='zed' is not a known user"),
    ("self-follow", lambda f: f.follow("bob", "bob"), "cannot follow themselves"),
    ("self-unfollow", lambda f: f.unfollow("bob", "bob"), "cannot follow themselves"),
    ("unknown author", lambda f: f.post("zed"), "author='zed' is not a known user"),
    ("non-str user", lambda f: f.post(7), "author=7 must be a user name"),  # type: ignore[arg-type]
    ("backdated post", lambda f: f.post("ada", at=-1.0), "before the latest post"),
    ("infinite time", lambda f: f.post("ada", at=float("inf")), "must be finite"),
    ("bad body", lambda f: f.post("ada", body=3), "body=3"),  # type: ignore[arg-type]
    ("unknown reader", lambda f: f.timeline("zed"), "user='zed' is not a known user"),
    ("zero limit", lambda f: f.timeline("bob", 0), "limit=0 must be at least 1"),
    ("negative limit", lambda f: f.timeline("bob", -5), "limit=-5"),
    ("float limit", lambda f: f.timeline("bob", 2.5), "limit=2.5 must be an int"),  # type: ignore[arg-type]
    ("cursor not a post", lambda f: f.timeline("bob", before=2), "before=2 is not a post"),  # type: ignore[arg-type]
    ("delete unknown", lambda f: f.delete(99), "post_id=99 is not a live post"),
    ("delete non-id", lambda f: f.delete("1"), "must be a post id"),  # type: ignore[arg-type]
    ("duplicate user", lambda f: f.add_user("ada"), "user='ada' already exists"),
    ("empty user", lambda f: f.add_user(""), "non-empty"),
]


@pytest.mark.parametrize(("case", "call", "message"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_raises_and_changes_nothing(
    feed: Feed, case: str, call: Callable[[Feed], object], message: str
) -> None:
    before = snapshot(feed)
    with pytest.raises(FeedError, match=message) as info:
        call(feed)
    assert isinstance(info.value, DesignPatternsError | ValueError)
    assert snapshot(feed) == before


def test_type_errors_are_type_errors(feed: Feed) -> None:
    with pytest.raises(TypeError):
        feed.timeline("bob", before="3")  # type: ignore[arg-type]
    with pytest.raises(FeedTypeError):
        feed.delete(None)  # type: ignore[arg-type]


def test_timeline_is_newest_first_and_posts_are_shared(feed: Feed) -> None:
    bob, cy = feed.timeline("bob"), feed.timeline("cy")
    assert [p.id for p in bob] == [3, 2, 1]
    assert bob == cy and all(p.author == "ada" and p.body == "hi" for p in bob)
    assert feed.timeline("ada") == []


def test_follow_and_unfollow_report_changes(feed: Feed) -> None:
    assert feed.follow("bob", "ada") is False
    assert feed.unfollow("ada", "bob") is False
    assert feed.unfollow("bob", "ada") is True
    assert feed.timeline("bob") == []
    assert feed.follow("bob", "ada") is True
    assert [p.id for p in feed.timeline("bob")] == [3, 2, 1]
    assert feed.followers("ada") == ["bob", "cy"] and feed.followees("bob") == ["ada"]


def test_delete_removes_everywhere(feed: Feed) -> None:
    gone = feed.delete(2)
    assert gone.id == 2 and feed.get_post(2) is None
    assert [p.id for p in feed.timeline("bob")] == [3, 1]
    assert [p.id for p in feed.timeline("cy")] == [3, 1]
    assert feed.delete(feed.get_post(3) or Post(0, "", 0.0)).id == 3
    with pytest.raises(FeedError):
        feed.delete(3)


def test_deleted_post_still_works_as_cursor(feed: Feed) -> None:
    first = feed.timeline("bob", 1)
    feed.delete(first[0].id)
    assert [p.id for p in feed.timeline("bob", 5, before=first[0])] == [2, 1]


def test_post_time_defaults_to_the_clock_and_ties_keep_id_order() -> None:
    clock = ManualClock(start=5.0)
    f = FanoutOnWrite(clock=clock)
    f.add_users(["a", "b"])
    f.follow("b", "a")
    p1, p2 = f.post("a"), f.post("a")
    assert (p1.at, p2.at) == (5.0, 5.0)
    assert f.timeline("b") == [p2, p1]
    assert f.timeline("b", 1, before=p2) == [p1]


def test_costs_match_the_formulas() -> None:
    """Push writes one entry per follower; pull reads one list per followee."""
    push, pull = FanoutOnWrite(), FanoutOnRead()
    for f in (push, pull):
        f.add_users(["star", *[f"u{i}" for i in range(10)]])
        for i in range(10):
            f.follow(f"u{i}", "star")
        f.post("star")
        f.timeline("u0")
    assert (push.stats.post_writes, push.stats.load_reads) == (10, 1)
    assert (pull.stats.post_writes, pull.stats.load_reads) == (0, 1)
    assert push.entries_stored() == 10 and pull.entries_stored() == 0


def test_hybrid_caps_the_write_cost_of_one_post() -> None:
    f = HybridFanout(threshold=5, inactive_after=None)
    f.add_users(["star", *[f"u{i}" for i in range(20)]])
    for i in range(20):
        f.follow(f"u{i}", "star")
    f.post("star")
    assert f.stats.max_post_writes == 0
    assert [p.author for p in f.timeline("u7")] == ["star"]
    assert f.stats.load_reads == 2  # own timeline + one celebrity


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: FanoutOnWrite(max_len=0), "max_len=0"),
        (lambda: HybridFanout(threshold=0), "threshold=0"),
        (lambda: HybridFanout(inactive_after=-1.0), "inactive_after=-1.0"),
    ],
)
def test_bad_configuration(factory: Callable[[], Feed], message: str) -> None:
    with pytest.raises(FeedError, match=message):
        factory()


def test_redis_store_needs_decoded_responses(redis_url: str) -> None:
    import redis

    from designpatterns_ref.feed import RedisStore

    client = redis.Redis.from_url(redis_url)
    with pytest.raises(FeedError, match="decode_responses=True"):
        RedisStore(client)
    client.close()


def test_timelines_are_trimmed_on_write(stores: StoreFactory) -> None:
    """Push timelines never hold more than max_len ids, yet deep pages stay complete."""
    f = make_feed("push", stores(), ManualClock(), max_len=3)
    f.add_users(["a", "b"])
    f.follow("b", "a")
    posts = [f.post("a") for _ in range(7)]
    assert f.entries_stored() == 3 and f.store.home_bytes() > 0
    assert f.store.home_page("b", 10, 2**62) == [7, 6, 5]
    assert [p.id for p in f.timeline("b", 10)] == [p.id for p in reversed(posts)]


def test_redis_store_keeps_everything_under_its_prefix(redis_url: str) -> None:
    import redis

    from designpatterns_ref.feed import RedisStore

    store = RedisStore.from_url(redis_url, prefix="mine:")
    f = FanoutOnWrite(store, max_len=2, clock=ManualClock())
    f.add_users(["a", "b"])
    f.follow("b", "a")
    for _ in range(3):
        f.post("a", body="x")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = set(client.keys("*"))
    assert keys and all(k.startswith("mine:") for k in keys)
    assert client.zcard("mine:home:b") == 2
    assert client.sismember("mine:flag:capped", "b")
    assert store.clear() == len(keys) and not client.keys("*")
    client.close()
    store.r.close()


SWITCHES = [
    # (the strategy that filled the store, another that would misread it)
    (lambda s: FanoutOnRead(s), lambda s: FanoutOnWrite(s)),
    (lambda s: FanoutOnRead(s), lambda s: HybridFanout(s, threshold=3)),
    (lambda s: FanoutOnWrite(s), lambda s: HybridFanout(s, threshold=3)),
    (lambda s: FanoutOnWrite(s), lambda s: FanoutOnRead(s)),
    (lambda s: HybridFanout(s, threshold=100), lambda s: HybridFanout(s, threshold=3)),
]


@pytest.mark.parametrize(("first", "then"), SWITCHES)
def test_a_store_serves_the_one_strategy_that_filled_it(
    stores: StoreFactory,
    first: Callable[[object], Feed],
    then: Callable[[object], Feed],
) -> None:
    """A push feed on a store a pull feed had filled read every timeline as empty and complete;
    a hybrid on a graph another strategy had loaded (or with a lower threshold than its flags
    were set against) pushed each post to every follower. The store records the strategy (and
    the hybrid's threshold) that filled it, and a feed of another refuses it, changing
    nothing; another feed of the same strategy, settings aside, is welcome."""
    store = stores()
    filled = first(store)
    filled.add_users(["star", *(f"f{i}" for i in range(5))])
    for i in range(5):
        filled.follow(f"f{i}", "star")
    post = filled.post("star", at=1.0)
    with pytest.raises(FeedError, match="is claimed by"):
        then(store)
    assert [p.id for p in filled.timeline("f0")] == [post.id]
    again = first(store)
    assert [p.id for p in again.timeline("f0")] == [post.id]
