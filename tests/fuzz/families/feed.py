"""feed: the three strategies (on memory and on Redis), graphs, workloads and the simulator.

Each strategy gets the same entries: its constructor, and each method with each argument
hostile, on a small feed (two users, a follow, a post). The Redis runs use a throwaway server
(``helpers.redis_url``) and compare a dump of the store's keys before and after.

The stores' own methods (the ``FeedStore`` interface) get the same treatment on a small store
of each kind: each argument hostile, every other one valid. What is left out is in NOT_FUZZED.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import (
    FanoutOnRead,
    FanoutOnWrite,
    FeedError,
    FeedStats,
    Graph,
    HybridFanout,
    MemoryStore,
    Post,
    RedisStore,
    Workload,
    merge_newest,
    power_law,
    simulate,
)
from tests.fuzz.helpers import empty_redis_url, per_argument, redis_keys
from tests.fuzz.spec import Entry

ERRORS = (FeedError,)

NOT_FUZZED: dict[str, str] = {
    "SimulationReport": "the record simulate returns; no call takes one",
    "FeedStats": "the counters a strategy's stats holds; users read them (since is fuzzed)",
}

_prefixes = itertools.count()
#: The Redis stores' deadline here: these calls test what a store refuses, not how long a
#: loaded server may take to answer, so a slow answer must not turn into a refusal.
SLOW = 5.0

KINDS: dict[str, Callable[..., Any]] = {
    "FanoutOnWrite": lambda store, clock: FanoutOnWrite(store, max_len=3, clock=clock),
    "FanoutOnRead": lambda store, clock: FanoutOnRead(store, clock=clock),
    "HybridFanout": lambda store, clock: HybridFanout(
        store, threshold=2, inactive_after=5.0, max_len=3, rebuild_len=2, clock=clock
    ),
}


def _small(feed: Any) -> Any:
    feed.add_users(["ann", "bob", "cy"])
    feed.follow("ann", "bob")
    feed.post("bob", body="hello")
    return feed


def _memory(kind: str) -> Callable[[], Any]:
    return lambda: _small(KINDS[kind](MemoryStore(), ManualClock(10.0)))


def _redis(kind: str) -> Callable[[], Any]:
    def make() -> Any:
        store = RedisStore.from_url(
            empty_redis_url(), prefix=f"fuzz{next(_prefixes)}:", deadline=SLOW
        )
        return _small(KINDS[kind](store, ManualClock(10.0)))

    return make


def _redis_snapshot(feed: Any) -> object:
    if feed is None:
        return None
    from tests.fuzz.test_fuzz import state_of

    return (redis_keys(feed.store.r, feed.store.prefix + "*"), state_of(feed.stats))


def _feed_entries(name: str, make: Callable[[], Any], snap: Any) -> list[Entry]:
    def method(m: str) -> Callable[..., object]:
        return lambda obj, **kw: getattr(obj, m)(**kw)

    out: list[Entry] = []
    for m in ("add_user", "has_user", "followers", "followees"):
        out += per_argument(f"{name}.{m}", method(m), {"user": "dee"}, make=make, snapshot=snap)
    out += per_argument(
        f"{name}.add_users",
        method("add_users"),
        {"users": ["dee", "eve"]},
        make=make,
        snapshot=snap,
    )
    for m in ("follow", "unfollow"):
        out += per_argument(
            f"{name}.{m}", method(m), {"a": "cy", "b": "bob"}, make=make, snapshot=snap
        )
    out += per_argument(
        f"{name}.post",
        method("post"),
        {"author": "bob", "at": 20.0, "body": "more", "key": "k-1"},
        make=make,
        snapshot=snap,
    )
    out += per_argument(
        f"{name}.get_post",
        method("get_post"),
        {"post_id": 1},
        make=make,
        snapshot=snap,
        values=_BIG_IDS,
    )
    out += per_argument(
        f"{name}.delete", method("delete"), {"post": 1}, make=make, snapshot=snap, values=_BIG_IDS
    )
    out += per_argument(
        f"{name}.timeline",
        method("timeline"),
        {"user": "ann", "limit": 10, "before": Post(5, "bob", 1.0)},
        make=make,
        snapshot=snap,
        values=_BAD_CURSORS,
    )
    return out


#: Ids past what Python can print (over 4,300 digits) and just outside the 64-bit range: no
#: post's, on memory and on Redis alike (None from get_post, FeedError from delete).
_BIG_IDS = (10**5000, -(10**5000), 2**63, -(2**63) - 1)

#: Post cursors with one field hostile (or out of range), beside the suite's hostile values.
_BAD_CURSORS = (
    *(Post(v, "bob", 1.0) for v in ("5", None, 1.5, True, 10**400, -(10**400), -1, 0, 2**63)),
    *(Post(5, "bob", v) for v in ("1", None, True, float("nan"), float("inf"), 10**400)),
    *(Post(5, v, 1.0) for v in (None, 5, b"bob", "\ud800", "")),
)


def _small_store(store: Any) -> Any:
    """Three users, a follow, a post fanned out to a home timeline, a flag."""
    store.add_user("ann", 1.0)
    store.add_user("bob", 1.0)
    store.add_user("cy", 1.0)
    store.add_edge("ann", "bob")
    post = store.new_post("bob", 2.0, "hello", "k-1")
    store.home_add(["ann"], [post.id], 3)
    store.set_flag("celebrity", ["bob"], True)
    return store


def _memory_store() -> Any:
    return _small_store(MemoryStore())


def _redis_store() -> Any:
    return _small_store(
        RedisStore.from_url(empty_redis_url(), prefix=f"fuzz{next(_prefixes)}:", deadline=SLOW)
    )


def _redis_store_state(store: Any) -> object:
    return redis_keys(store.r, store.prefix + "*")


#: Valid arguments of every FeedStore method that takes some (each entry makes one hostile).
_STORE_CALLS: dict[str, dict[str, Any]] = {
    "claim": {"strategy": "push"},
    "add_user": {"user": "dee", "now": 3.0},
    "has_user": {"user": "ann"},
    "touch": {"user": "ann", "now": 3.0},
    "last_seen": {"users": ["ann", "bob"]},
    "add_edge": {"follower": "cy", "followee": "bob"},
    "remove_edge": {"follower": "ann", "followee": "bob"},
    "follows": {"follower": "ann", "followee": "bob"},
    "followers": {"user": "bob"},
    "followees": {"user": "ann"},
    "follower_count": {"user": "bob"},
    "followees_flagged": {"user": "ann", "kind": "celebrity"},
    "new_post": {"author": "bob", "at": 3.0, "body": "more", "key": "k-2"},
    "pending_post": {"author": "bob"},
    "last_key": {"author": "bob"},
    "clear_pending": {"author": "bob", "post_id": 1},
    "get_post": {"post_id": 1},
    "get_posts": {"ids": [1, 2]},
    "drop_post": {"post": Post(1, "bob", 2.0, "hello")},
    "authored": {"authors": ["bob"], "limit": 5, "before": 10, "after": 0},
    "home_add": {"users": ["cy"], "ids": [1], "max_len": 3, "capped": False},
    "home_remove": {"users": ["ann"], "ids": [1]},
    "home_page": {"user": "ann", "limit": 5, "before": 10},
    "home_read": {"user": "ann", "limit": 5, "before": 10},
    "home_floors": {"users": ["ann", "cy"]},
    "home_clear": {"user": "ann"},
    "set_flag": {"kind": "stale", "users": ["ann"], "on": True},
    "has_flag": {"kind": "celebrity", "users": ["bob", "ann"]},
}


def _store_entries(name: str, make: Callable[[], Any], snap: Any) -> list[Entry]:
    out: list[Entry] = []
    for method, valid in _STORE_CALLS.items():
        out += per_argument(
            f"{name}.{method}",
            lambda obj, m=method, **kw: getattr(obj, m)(**kw),
            valid,
            make=make,
            snapshot=snap,
        )
    return out


def _post_entries() -> list[Entry]:
    """A Post with one hostile field, handed where users pass Posts: a timeline's cursor, a
    feed's delete, a store's drop_post."""
    valid: dict[str, Any] = {"id": 1, "author": "bob", "at": 1.0, "body": "hello"}
    uses: dict[str, tuple[Callable[[], Any], Callable[[Any, Post], object], Any]] = {
        "as a timeline cursor": (
            _memory("FanoutOnWrite"),
            lambda feed, post: feed.timeline("ann", 10, before=post),
            None,
        ),
        "given to delete": (_memory("FanoutOnWrite"), lambda feed, post: feed.delete(post), None),
        "given to MemoryStore.drop_post": (
            _memory_store,
            lambda store, post: store.drop_post(post),
            None,
        ),
    }
    return [
        Entry(
            f"Post({field}=) {use}",
            call=lambda obj, v, f=field, run=run: run(obj, Post(**{**valid, f: v})),
            make=make,
            snapshot=snap,
        )
        for field in valid
        for use, (make, run, snap) in uses.items()
    ]


def _constructor_entries(name: str, kind: Callable[..., Any], extra: dict[str, Any]) -> list[Entry]:
    return per_argument(
        name, lambda _, **kw: kind(**kw), {"store": None, "clock": ManualClock(0.0), **extra}
    )


_GRAPH = power_law(20, seed=1, mean_followees=3.0)


def _simulate(**kw: Any) -> object:
    return simulate(**{"feed": FanoutOnWrite(clock=ManualClock(0.0)), **kw})


ENTRIES = [
    *_constructor_entries("FanoutOnWrite", FanoutOnWrite, {"max_len": 800}),
    *_constructor_entries("FanoutOnRead", FanoutOnRead, {}),
    *_constructor_entries(
        "HybridFanout",
        HybridFanout,
        {"threshold": 10, "inactive_after": 60.0, "max_len": 800, "rebuild_len": 100},
    ),
    *(entry for kind in KINDS for entry in _feed_entries(kind, _memory(kind), None)),
    *(
        entry
        for kind in KINDS
        for entry in _feed_entries(f"{kind}[redis]", _redis(kind), _redis_snapshot)
    ),
    *_store_entries("MemoryStore", _memory_store, None),
    *_post_entries(),
    Entry("FeedStats.since(earlier)", call=lambda s, v: s.since(v), make=lambda: FeedStats(2, 5)),
    *_store_entries("RedisStore", _redis_store, _redis_store_state),
    *per_argument(
        "RedisStore",
        lambda _, **kw: RedisStore(**kw),
        {"client": None, "prefix": "feed:", "deadline": 0.25},
    ),
    *per_argument(
        "RedisStore.from_url",
        lambda _, **kw: RedisStore.from_url(**kw),
        {"url": "redis://127.0.0.1:1/0", "prefix": "feed:", "deadline": 0.25},
    ),
    *per_argument(
        "merge_newest", lambda _, **kw: merge_newest(**kw), {"lists": [[9, 4], [8]], "limit": 2}
    ),
    *per_argument(
        "power_law",
        lambda _, **kw: power_law(**kw),
        {"users": 30, "seed": 0, "mean_followees": 3.0, "exponent": 1.0, "max_followees": 20},
    ),
    *per_argument(
        "Graph", lambda _, **kw: Graph(**kw), {"users": ("a", "b"), "edges": (("a", "b"),)}
    ),
    Entry("Graph.load(feed)", call=lambda g, v: g.load(v), make=lambda: _GRAPH),
    *per_argument(
        "Workload",
        lambda _, **kw: Workload(**kw),
        {
            "posts": 10,
            "reads_per_post": 2.0,
            "reads": None,
            "limit": 5,
            "active_share": 1.0,
            "author_bias": 0.5,
            "seconds_per_op": 1.0,
            "seed": 0,
        },
    ),
    *per_argument(
        "simulate",
        lambda _, **kw: _simulate(**kw),
        {"graph": _GRAPH, "workload": Workload(posts=3, reads=3), "timer": ManualClock(0.0)},
    ),
    Entry("simulate(feed=)", call=lambda _, v: simulate(v, _GRAPH, Workload(posts=1, reads=1))),
]
