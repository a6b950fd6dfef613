"""Regression tests for the hostile inputs of issue 17: each a clear error that changes nothing.

The whole public API also meets hostile values in ``tests/fuzz`` (``families/feed.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import (
    FanoutOnRead,
    FanoutOnWrite,
    FeedError,
    FeedTypeError,
    HybridFanout,
    MemoryStore,
    Post,
    RedisStore,
    Workload,
    merge_newest,
    power_law,
    simulate,
)
from designpatterns_ref.feed.graphs import MAX_USERS, Graph
from designpatterns_ref.feed.plot import fanout_costs, plot_fanout
from designpatterns_ref.feed.simulation import MAX_OPERATIONS

HUGE = 10**400
KINDS: list[Callable[..., Any]] = [FanoutOnWrite, FanoutOnRead, HybridFanout]


def _snapshot(feed: Any) -> Any:
    store = feed.store
    return (
        sorted(store._users),
        {u: sorted(v) for u, v in store._followers.items()},
        dict(store._posts),
        {u: list(v) for u, v in store._home.items()},
        dict(store._pending),
        dict(store._keys),
    )


@pytest.fixture(params=KINDS, ids=lambda k: k.__name__)
def feed(request: pytest.FixtureRequest) -> Any:
    made = request.param(clock=ManualClock(10.0))
    made.add_users(["ann", "bob"])
    made.follow("ann", "bob")
    made.post("bob", body="first")
    return made


# -- defect 8: huge ints are the family's error, not OverflowError ----------------------------


@pytest.mark.parametrize(
    "key", [True, 7, HUGE, b"k", ["k"], math.nan, "", "k" * 201, "\ud800", "ok\udfff"]
)
def test_post_refuses_bad_idempotency_keys(feed: Any, key: object) -> None:
    before = (_snapshot(feed), feed.stats.copy())
    with pytest.raises(FeedError, match="key="):
        feed.post("bob", body="again", key=key)
    assert (_snapshot(feed), feed.stats) == before
    assert feed.post("bob", body="again", key="k" * 200).id == 2  # the longest allowed


@pytest.mark.parametrize("at", [HUGE, -HUGE, math.nan, math.inf])
def test_post_refuses_huge_and_non_finite_times(feed: Any, at: object) -> None:
    before = _snapshot(feed)
    with pytest.raises(FeedError, match="at="):
        feed.post("bob", at=at)
    assert _snapshot(feed) == before


@pytest.mark.parametrize("at", [2**53 + 1, 2**60 + 1])
def test_post_refuses_int_times_a_float_cannot_hold(feed: Any, at: int) -> None:
    """Times are kept as floats: at=2**60 + 1 was kept as 2**60, and a later post at 2**60
    was accepted as not earlier than it."""
    before = _snapshot(feed)
    with pytest.raises(FeedError, match=f"at={at} is an int a float cannot hold exactly"):
        feed.post("bob", at=at)
    assert _snapshot(feed) == before
    assert feed.post("bob", at=2**53).at == 2.0**53


def test_the_refusal_of_an_int_time_says_what_is_allowed(feed: Any) -> None:
    """The message said "an int within +-2**53", yet 2**54 (which a float holds) is taken."""
    with pytest.raises(FeedError) as refused:
        feed.post("bob", at=2**54 + 1)
    assert "or an int within +-2**53" not in str(refused.value)
    assert "or an int a float holds exactly" in str(refused.value)
    assert feed.post("bob", at=2**54).at == 2.0**54


@pytest.mark.parametrize("value", [HUGE, math.nan, -1])
def test_hybrid_settings_refuse_huge_values(value: object) -> None:
    with pytest.raises(FeedError, match="inactive_after="):
        HybridFanout(inactive_after=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [HUGE, 10**10])
def test_limits_past_the_documented_maximum_are_refused(feed: Any, limit: int) -> None:
    with pytest.raises(FeedError, match="MAX_LIMIT"):
        feed.timeline("ann", limit)
    with pytest.raises(FeedError, match="max_len="):
        FanoutOnWrite(max_len=limit)


# -- defect 9: nonsense is refused at the boundary --------------------------------------------


@pytest.mark.parametrize("post_id", [None, "3", [], 3.0, True])
def test_get_post_refuses_what_is_not_an_id(feed: Any, post_id: object) -> None:
    with pytest.raises(FeedTypeError, match="post_id="):
        feed.get_post(post_id)
    assert feed.get_post(1) is not None and feed.get_post(999) is None


@pytest.mark.parametrize("clock", [1, "now", b"", object()])
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_non_callable_clocks_are_refused(kind: Callable[..., Any], clock: object) -> None:
    with pytest.raises(FeedTypeError, match="clock="):
        kind(clock=clock)
    with pytest.raises(FeedTypeError, match="clock="):
        kind(RedisStore.from_url("redis://127.0.0.1:1/0"), clock=clock)  # never connects


@pytest.mark.parametrize("store", [1, "redis", object(), {}, [], MemoryStore])
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_objects_that_are_not_stores_are_refused(kind: Callable[..., Any], store: object) -> None:
    with pytest.raises(FeedTypeError, match="store="):
        kind(store)


@pytest.mark.parametrize("client", [None, "redis://x", object(), 5])
def test_a_redis_store_needs_a_redis_client(client: object) -> None:
    with pytest.raises(FeedTypeError, match="client="):
        RedisStore(client)


@pytest.mark.parametrize("prefix", ["p\ud800:", "\udfff"])
def test_a_redis_store_refuses_a_prefix_utf8_cannot_carry(prefix: str) -> None:
    """Every key holds the prefix: the store was made, then each call raised a bare
    UnicodeEncodeError."""
    import redis

    with pytest.raises(FeedError, match=r"prefix=.*surrogate"):
        RedisStore(redis.Redis(port=1, decode_responses=True), prefix=prefix)


def test_a_hybrids_threshold_is_read_only() -> None:
    """Lowered after the celebrity flags were set against it, it broke the write bound."""
    feed = HybridFanout(threshold=3)
    with pytest.raises(FeedError, match="threshold=1: a hybrid's threshold is read-only"):
        feed.threshold = 1
    assert feed.threshold == 3


@pytest.mark.parametrize("user", ["\ud800", "a\udfffb"])
def test_names_utf8_cannot_carry_are_refused_by_every_store(feed: Any, user: str) -> None:
    before = _snapshot(feed)
    with pytest.raises(FeedError, match="surrogate"):
        feed.add_user(user)
    with pytest.raises(FeedError, match="surrogate"):
        feed.post("bob", body=user)
    assert not feed.has_user(user)
    assert _snapshot(feed) == before


def test_add_users_checks_every_name_before_adding_any(feed: Any) -> None:
    before = _snapshot(feed)
    for bad in (["cat", 5], ["cat", "cat"], ["cat", "ann"], ["cat", ""], "cat", None):
        with pytest.raises(FeedError):
            feed.add_users(bad)
    assert _snapshot(feed) == before


@pytest.mark.parametrize(
    ("lists", "limit"),
    [(None, 3), ([[1, 2]], 3), ([["1"]], 3), ([[3, 1]], -1), ([[3, 1]], 1.5), ("ab", 1)],
)
def test_merge_newest_checks_its_arguments(lists: Any, limit: Any) -> None:
    with pytest.raises(FeedError):
        merge_newest(lists, limit)


# -- defect 10: generators refuse sizes past a documented maximum ------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: power_law(MAX_USERS + 1),
        lambda: power_law(10**12),
        lambda: power_law(HUGE),
        lambda: power_law(100, mean_followees=HUGE),
        lambda: power_law(100, max_followees=10**12),
        lambda: power_law(100, seed="x"),
        lambda: power_law(100, exponent=math.nan),
        lambda: Workload(posts=MAX_OPERATIONS + 1),
        lambda: Workload(posts=10**12),
        lambda: Workload(reads=HUGE),
        lambda: Workload(posts=10**6, reads_per_post=10**6),
        lambda: Workload(reads_per_post="5"),
        lambda: Workload(seconds_per_op=math.nan),
        lambda: Workload(limit=0),
    ],
)
def test_generators_refuse_sizes_past_their_maximum(call: Callable[[], object]) -> None:
    with pytest.raises(FeedError):
        call()


@pytest.mark.parametrize(
    "args",
    [
        (None, "graph"),
        ("feed", None),
    ],
)
def test_simulate_checks_what_it_is_given(args: tuple[str | None, str | None]) -> None:
    feed = FanoutOnWrite() if args[0] == "feed" else args[0]
    graph = power_law(20, seed=1) if args[1] == "graph" else args[1]
    with pytest.raises(FeedTypeError):
        simulate(feed, graph)  # type: ignore[arg-type]
    with pytest.raises(FeedTypeError, match="workload="):
        simulate(FanoutOnWrite(), power_law(20, seed=1), "many")  # type: ignore[arg-type]


@pytest.mark.parametrize(("users", "exponent"), [(30, 6.0), (50, 10.0), (200, 3.0)])
def test_power_law_finishes_on_steep_curves(users: int, exponent: float) -> None:
    """Regression: a user wanting nearly everyone under a steep curve drew for hours."""
    g = power_law(users, seed=1, mean_followees=float(users), exponent=exponent)
    assert g == power_law(users, seed=1, mean_followees=float(users), exponent=exponent)
    assert len(set(g.edges)) == len(g.edges) and all(a != b for a, b in g.edges)
    counts = g.followee_counts()
    assert max(counts.values()) <= users - 1


def test_the_one_pass_sample_follows_the_weights() -> None:
    """The fallback sampler against the weights: the heavy index is taken far more often."""
    import random

    from designpatterns_ref.feed.graphs import _weighted_sample

    rng = random.Random(3)
    weights = [8.0, 1.0, 1.0, 1.0e-9]
    picks = [_weighted_sample(rng, weights, 1, set()) for _ in range(2000)]
    share = sum(p == {0} for p in picks) / len(picks)
    assert abs(share - 0.8) < 0.04  # 8 / 10.000000001, within about 4 standard deviations
    assert all(_weighted_sample(rng, weights, 3, {0}) == {1, 2, 3} for _ in range(10))
    assert sum(p == {3} for p in picks) == 0


# -- a Post cursor with fields no post has is refused before the feed counts a load -----------


@pytest.mark.parametrize(
    "cursor",
    [
        Post(id="x", author="bob", at=0.0),  # type: ignore[arg-type]
        Post(id=None, author="bob", at=0.0),  # type: ignore[arg-type]
        Post(id=1.5, author="bob", at=0.0),  # type: ignore[arg-type]
        Post(id=True, author="bob", at=0.0),
        Post(id=1, author="bob", at="noon"),  # type: ignore[arg-type]
        Post(id=1, author="bob", at=None),  # type: ignore[arg-type]
        Post(id=1, author="bob", at=False),
        Post(id=1, author=None, at=0.0),  # type: ignore[arg-type]
    ],
    ids=repr,
)
def test_timeline_refuses_a_cursor_with_bad_fields_and_counts_nothing(
    feed: Any, cursor: Post
) -> None:
    before = (_snapshot(feed), feed.stats.copy())
    with pytest.raises(FeedTypeError, match="before="):
        feed.timeline("ann", before=cursor)
    assert (_snapshot(feed), feed.stats) == before


@pytest.mark.parametrize(
    ("users", "edges", "message"),
    [
        (("a", "b"), (("a", "b"), ("a", "zz")), "'zz' is not in users"),
        (("a", "b"), (("zz", "a"),), "'zz' is not in users"),
        (("a", "b"), (("a", "b"), ("b", "b")), "cannot follow themselves"),
        (("a", "b", "a"), (), "'a' twice"),
        # one follow once loaded, yet follower_counts (and simulate's formulas) counted it twice
        (("a", "b", "c"), (("a", "b"), ("c", "b"), ("a", "b")), r"\('a', 'b'\) twice"),
    ],
)
def test_a_graph_refuses_edges_load_would_refuse(
    users: tuple[str, ...], edges: tuple[tuple[str, str], ...], message: str
) -> None:
    """simulate() loaded such a graph half-way (users and the first edges), then refused."""
    with pytest.raises(FeedError, match=message):
        Graph(users, edges)


@pytest.mark.parametrize(
    ("workload", "timer", "error"),
    [
        ({"author_bias": 1e308}, None, "author_bias"),
        ({"author_bias": -1e308}, None, "author_bias"),
        ({"author_bias": -11.0}, None, "author_bias"),
        ({"seconds_per_op": 1e308}, None, "seconds_per_op"),
        ({}, lambda: "x", "timer"),
        ({}, lambda: math.nan, "timer"),
        ({}, lambda x: 0.0, "timer"),
    ],
)
def test_simulate_refuses_before_it_loads_the_graph(
    workload: dict[str, float], timer: Any, error: str
) -> None:
    """These failed with a bare OverflowError, IndexError, ClockError or TypeError once the
    graph was loaded into the feed: now the Workload, or simulate before loading, refuses."""
    feed = FanoutOnRead(clock=ManualClock())
    with pytest.raises(FeedError, match=error):
        simulate(
            feed,
            power_law(10, seed=1),
            Workload(posts=3, reads=3, **workload),
            **({} if timer is None else {"timer": timer}),
        )
    assert feed.store.user_count() == 0
    simulate(feed, power_law(10, seed=1), Workload(posts=3, reads=3, author_bias=-10.0))


@pytest.mark.parametrize(("posts", "reads"), [(1, 0), (0, 1), (2, 5)])
def test_simulate_refuses_posts_or_reads_on_a_graph_with_no_users(posts: int, reads: int) -> None:
    """The first post or read picked a user from an empty list: a bare IndexError."""
    feed = FanoutOnWrite(clock=ManualClock())
    with pytest.raises(FeedError, match=f"graph has no users.*posts={posts} and reads={reads}"):
        simulate(feed, Graph((), ()), Workload(posts=posts, reads=reads))
    assert feed.store.user_count() == 0
    assert simulate(feed, Graph((), ()), Workload(posts=0, reads=0)).users == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda: FanoutOnWrite(max_len="3"),
        lambda: HybridFanout(threshold="3"),
        lambda: HybridFanout(inactive_after="3"),
        lambda: HybridFanout(rebuild_len=2.0),
        lambda: FanoutOnRead(clock=lambda x: 0.0),
        lambda: fanout_costs(None),  # type: ignore[arg-type]
        lambda: fanout_costs(power_law(10, seed=1), threshold="5"),  # type: ignore[arg-type]
        lambda: plot_fanout(power_law(10, seed=1), ax=5),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_raise_the_feed_type_error(call: Callable[[], object]) -> None:
    """These raised the value class FeedError, or a bare TypeError (a clock that needs an
    argument, on its first reading; ax=5 inside matplotlib's helpers)."""
    with pytest.raises(FeedTypeError):
        call()
