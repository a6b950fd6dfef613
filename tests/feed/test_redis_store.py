"""The Redis store on a real server: the capped flag never lags a trim, feeds on it share one
clock, and a key prefix with glob characters reaches only its own keys."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import system_clock
from designpatterns_ref.feed import (
    FanoutOnWrite,
    FeedError,
    FeedUnavailable,
    HybridFanout,
    MemoryStore,
    RedisStore,
)
from designpatterns_ref.feed.base import COMPLETE

from .conftest import StoreFactory
from .test_outage_retry import FlakyClient, cleanup

TOP = 2**62


@pytest.mark.parametrize("stores", ["redis", "cluster"], indirect=True)
@pytest.mark.parametrize("capped", [False, True])
def test_a_trim_cut_short_never_leaves_a_floor_that_claims_completeness(
    stores: StoreFactory, capped: bool
) -> None:
    """Fail ``home_add``'s k-th round trip, before or after it ran, for every k: whatever got
    written, every id at or above a timeline's floor is in it (so deep pages merge the rest).
    Redis stores only: in memory ``home_add`` is one Python call, nothing to cut short (the
    oracle tests cover it)."""
    for after in (False, True):
        for k in itertools.count(1):
            if not cut_short(stores, capped, k, after):
                break  # k is past home_add's last round trip: every one was cut


def cut_short(stores: StoreFactory, capped: bool, k: int, after: bool) -> bool:
    """One run of the test above; whether the fault fired."""
    store = stores()
    assert isinstance(store, RedisStore)
    faults = FlakyClient(store.r)
    try:
        store.home_add(["bob"], [1, 2, 3], max_len=3)  # full
        store.home_add(["cy"], [3], max_len=3)
        store.r = faults
        faults.arm(k, after)
        try:
            store.home_add(["bob", "cy"], [4], max_len=3, capped=capped)
        except FeedError:
            assert faults.fired
        faults.disarm()
        for user, held in (("bob", {1, 2, 3}), ("cy", {3})):
            page = store.home_page(user, 10, TOP)
            written = held | ({4} if 4 in page else set())
            (floor,) = store.home_floors([user])
            assert {i for i in written if i >= floor} == set(page), (user, k, after)
            assert len(page) <= 4  # at most one over max_len, trimmed by the next write
        if capped and not faults.fired:
            assert store.home_floors(["cy"]) != [COMPLETE]
    finally:
        cleanup(stores)
    return faults.fired


def test_feeds_on_one_redis_store_share_wall_clock_time(redis_url: str) -> None:
    """Two app servers (two feeds, two clients, one store): the default clock is time.time on
    Redis, so each accepts posts after the other's and sees the other's readers as active."""
    one = FanoutOnWrite(RedisStore.from_url(redis_url, prefix="clk:"))
    two = FanoutOnWrite(RedisStore.from_url(redis_url, prefix="clk:"))
    assert one.clock is time.time and two.clock is time.time
    assert FanoutOnWrite().clock is system_clock  # in memory: one process, its monotonic clock
    assert FanoutOnWrite(MemoryStore()).clock is system_clock
    one.add_users(["ada", "bob"])
    one.follow("bob", "ada")
    posts = [feed.post("ada") for feed in (one, two, one, two)]
    assert [p.at for p in posts] == sorted(p.at for p in posts)
    assert [p.id for p in two.timeline("bob")] == [4, 3, 2, 1]

    hy_one = HybridFanout(RedisStore.from_url(redis_url, prefix="clk2:"), inactive_after=3600.0)
    hy_two = HybridFanout(RedisStore.from_url(redis_url, prefix="clk2:"), inactive_after=3600.0)
    hy_one.add_users(["ada", "bob"])
    hy_one.follow("bob", "ada")
    hy_one.timeline("bob")  # bob reads on server one ...
    hy_two.post("ada")  # ... and server two pushes to him: he is active
    assert (hy_two.stats.skipped, [p.author for p in hy_one.timeline("bob")]) == (0, ["ada"])


def test_a_clock_a_little_behind_stamps_at_the_latest_time(redis_url: str) -> None:
    """The second server's clock lags by 50 ms: its post is not refused, it is stamped at the
    latest post's time; an explicit ``at`` in the past is still refused."""
    now = time.time()
    ahead = FanoutOnWrite(RedisStore.from_url(redis_url, prefix="skew:"), clock=lambda: now)
    behind = FanoutOnWrite(RedisStore.from_url(redis_url, prefix="skew:"), clock=lambda: now - 0.05)
    ahead.add_users(["ada"])
    first = ahead.post("ada")
    second = behind.post("ada")
    assert (second.id, second.at) == (first.id + 1, first.at)
    with pytest.raises(FeedError, match="before the latest post"):
        behind.post("ada", at=now - 0.05)


_GLOB = "*?[]\\"


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=st.text(st.sampled_from("ab-:" + _GLOB), min_size=1, max_size=6),
    name=st.text(st.sampled_from("ab-:"), min_size=1, max_size=6),
)
@example(prefix="feed-?u:", name="feed-eu:")
@example(prefix="[ab]:", name="a:")
@example(prefix="*", name="feed:")
@example(prefix="a\\", name="a")
def test_glob_characters_in_a_prefix_reach_only_that_stores_keys(
    redis_url: str, prefix: str, name: str
) -> None:
    """``clear``, ``home_entries`` and ``home_bytes`` scan with the prefix escaped: a prefix
    such as ``feed-?u:`` never touches the store ``feed-eu:``, and still finds its own keys."""
    if prefix.startswith(name) or name.startswith(prefix):
        return  # one prefix inside the other: see the nested-prefix test below
    client: Any = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        client.flushall()
        other = FanoutOnWrite(RedisStore(client, prefix=name), clock=lambda: 1.0)
        mine = FanoutOnWrite(RedisStore(client, prefix=prefix), clock=lambda: 1.0)
        for feed in (other, mine):
            feed.add_users(["ada", "bob"])
            feed.follow("bob", "ada")
            feed.post("ada")
        every = list(client.scan_iter())
        keys_of = {p: sorted(k for k in every if k.startswith(p)) for p in (name, prefix)}
        assert mine.entries_stored() == 1 and mine.store.home_bytes() > 0
        other_bytes = other.store.home_bytes()
        mine.store.home_clear("bob")
        assert mine.entries_stored() == 0 and mine.store.home_bytes() == 0
        assert (other.entries_stored(), other.store.home_bytes()) == (1, other_bytes)
        # home:bob already cleared, and bob marked capped (a new key, flag:capped)
        assert mine.store.clear() == len(keys_of[prefix])
        assert sorted(client.scan_iter()) == keys_of[name]
        assert other.has_user("ada") and not mine.has_user("ada")
    finally:
        client.close()


def test_the_latest_time_never_moves_back_when_two_servers_post_at_once(
    live_redis_url: Callable[[], str],
) -> None:
    """Server A reads the latest time, server B posts later-stamped meanwhile, then A stores
    its post: the store's latest time stays B's, and a third server with a clock behind it
    stamps its post at B's time (an explicit earlier ``at`` is refused)."""
    client = redis.Redis.from_url(live_redis_url(), decode_responses=True)
    try:
        client.flushdb()
        a = FanoutOnWrite(RedisStore(client, prefix="race:"), clock=lambda: 100.5)
        b = FanoutOnWrite(RedisStore(client, prefix="race:"), clock=lambda: 101.0)
        a.add_users(["ada", "bob"])
        a.follow("bob", "ada")
        real = a.store.latest_at

        def then_b_posts() -> float:
            seen = real()
            b.post("ada", body="from B")
            return seen

        a.store.latest_at = then_b_posts  # type: ignore[method-assign]
        a.post("ada", body="from A")
        a.store.latest_at = real  # type: ignore[method-assign]
        assert b.store.latest_at() == 101.0
        c = FanoutOnWrite(RedisStore(client, prefix="race:"), clock=lambda: 100.6)
        assert c.post("ada", body="late clock").at == 101.0
        with pytest.raises(FeedError, match="before the latest post's time"):
            c.post("ada", at=100.7, body="explicit")
    finally:
        client.flushdb()
        client.close()


# Pieces of prefixes: the store's own key names among them, so a nested prefix may start
# with one (``feed:`` and ``feed:home:``), and glob characters.
_PIECES = st.sampled_from(
    ["a", "b", "-", ":", ":", *_GLOB, "home", "by", "flag", "followers", "followees", "users",
     "seen", "posts", "pending", "keys", "meta", "u"]
)  # fmt: skip


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    outer=st.lists(_PIECES, min_size=1, max_size=4).map("".join),
    tail=st.lists(_PIECES, min_size=1, max_size=4).map("".join),
)
@example(outer="feed:", tail="eu:")
@example(outer="*", tail="a:")
@example(outer="a:", tail=":")
@example(outer="feed:", tail="home:")
@example(outer="feed:", tail="flag:x:")
@example(outer="lob", tail="by:")
def test_clearing_a_store_leaves_a_store_nested_under_its_prefix(
    redis_url: str, outer: str, tail: str
) -> None:
    """``clear`` of prefix ``feed:`` deletes that store's keys and none of ``feed:eu:``'s, and
    the other way round, and the two stores never share a key; a prefix that could share
    keys with a store nested around it (``feed:home:`` with ``feed:``) is refused."""
    client: Any = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        client.flushall()
        names = {"outer": outer, "inner": outer + tail}
        feeds: dict[str, FanoutOnWrite] = {}
        owned: dict[str, set[str]] = {}
        for side, prefix in names.items():
            before = set(client.scan_iter())
            try:  # a feed claims its store as it is made: that key is the store's too
                feeds[side] = FanoutOnWrite(RedisStore(client, prefix=prefix), clock=lambda: 1.0)
            except FeedError as exc:
                assert "could be another store's" in str(exc)
                return
            owned[side] = set(client.scan_iter()) - before
        for side, feed in feeds.items():
            before = set(client.scan_iter())
            feed.add_users(["ada", "bob"])
            feed.follow("bob", "ada")
            feed.post("ada", key="k")
            owned[side] |= set(client.scan_iter()) - before
        assert [feed.entries_stored() for feed in feeds.values()] == [1, 1]
        for first, second in (("outer", "inner"), ("inner", "outer")):
            assert feeds[first].store.clear() == len(owned[first])
            assert set(client.scan_iter()) == owned[second]
            assert feeds[second].has_user("ada") and not feeds[first].has_user("ada")
            assert [p.body for p in feeds[second].timeline("bob")] == [""]
            # put the cleared store back for the other order (its claim went with the rest)
            feed = feeds[first] = FanoutOnWrite(
                RedisStore(client, prefix=names[first]), clock=lambda: 1.0
            )
            feed.add_users(["ada", "bob"])
            feed.follow("bob", "ada")
            feed.post("ada", key="k")
            assert set(client.scan_iter()) == owned["outer"] | owned["inner"]
    finally:
        client.close()


@pytest.mark.parametrize("stores", ["redis", "cluster"], indirect=True)
def test_a_user_without_a_seen_time_counts_as_never_seen(stores: StoreFactory) -> None:
    """A cluster add_user cut short between its two keys used to leave a user without a
    ``seen`` time, and every hybrid post by someone that user followed then failed
    (last_seen raised), while the post stayed stored. Such a user (left by an older version:
    the time is now written first) counts as never seen, so the hybrid skips it as idle."""
    store = stores()
    assert isinstance(store, RedisStore)
    feed = HybridFanout(store, threshold=100, inactive_after=60.0, clock=lambda: 1000.0)
    feed.add_users(["star", "ann"])
    store.r.sadd(store._k("users"), "fan")  # the half-done add: a user, no time
    assert store.last_seen(["ann", "fan"]) == [1000.0, float("-inf")]
    with pytest.raises(FeedError, match="'zed' is not a user"):
        store.last_seen(["fan", "zed"])
    feed.follow("fan", "star")
    feed.follow("ann", "star")
    post = feed.post("star", body="hello")
    assert store.pending_post("star") is None
    assert [p.id for p in feed.timeline("ann")] == [post.id]
    assert [p.id for p in feed.timeline("fan")] == [post.id]  # rebuilt on return


@pytest.mark.parametrize("stores", ["redis", "cluster"], indirect=True)
def test_an_add_user_cut_short_leaves_no_user_or_a_whole_one(stores: StoreFactory) -> None:
    """Fail add_user's k-th round trip, before or after it ran: the user is either absent
    (last_seen refuses it, though a cut-short cluster add left its ``seen`` time, and a retry
    adds it) or there with its ``seen`` time."""
    for k, after in itertools.product(range(3), (False, True)):
        store = stores()
        assert isinstance(store, RedisStore)
        flaky = FlakyClient(store.r)
        real, store.r = store.r, flaky
        flaky.arm(k, after)
        with contextlib.suppress(FeedUnavailable):
            store.add_user("fan", 5.0)
        store.r = real
        if store.has_user("fan"):
            assert store.r.hget(store._k("seen"), "fan") == "5.0", (k, after)
        else:
            with pytest.raises(FeedError, match="'fan' is not a user"):
                store.last_seen(["fan"])
            store.add_user("fan", 5.0)
        assert store.last_seen(["fan"]) == [5.0]
