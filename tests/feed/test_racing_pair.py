"""Two servers on one store, racing over the same pair or the same stale timeline.

Server A makes one call (a follow, an unfollow, a read that rebuilds an idle user's
timeline); server B's whole call runs just before the k-th store call of A's, for every k: each
schedule a shared store allows in which B's call falls inside A's. Once both are done, every
timeline must be the brute-force merge of its reader's followees' live posts, read from the
store itself (the oracle). The schedules that used to break it:

* A unfollows while B follows the same pair again: A's removal ran after B's backfill and
  deleted what it had put back, for good (the timeline said it was complete);
* A follows while B unfollows the same pair: A's backfill ran after B's removal and left the
  unfollowed author's posts behind;
* A rebuilds an idle user's timeline while B posts to it (the post was pushed between A's read
  and A's clear) or makes it follow someone (the backfill skipped the stale timeline).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.feed import FanoutOnWrite, Feed, FeedStore, HybridFanout, Post

from .conftest import StoreFactory

READERS = ["fan", "gil"]
AUTHORS = ["x", "y"]


class Preempted:
    """Server A's view of the shared store: ``then(*args)`` (server B's whole call) runs once,
    just before A's ``at``-th store call (counting from 0); ``calls`` counts A's store calls."""

    shared = False

    def __init__(
        self, store: FeedStore, at: int, then: Callable[..., object], *args: object
    ) -> None:
        self._store, self.name = store, store.name
        self.at, self.then, self.args, self.calls = at, then, args, 0

    def __getattr__(self, attr: str) -> Any:
        real = getattr(self._store, attr)
        if not callable(real):
            return real

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.calls == self.at:
                self.then(*self.args)
            self.calls += 1
            return real(*args, **kwargs)

        return call


def make(kind: str, store: Any, clock: ManualClock) -> Feed:
    if kind == "push":
        return FanoutOnWrite(store, max_len=10, clock=clock)
    return HybridFanout(
        store, threshold=100, inactive_after=5.0, max_len=10, rebuild_len=3, clock=clock
    )


def setup(kind: str, store: FeedStore, clock: ManualClock, stale: bool) -> Feed:
    """fan follows x, gil follows x and y; each author has posted; with ``stale`` fan has been
    idle while x posted again (the hybrid skipped fan and marked its timeline stale)."""
    b = make(kind, store, clock)
    b.add_users(READERS + AUTHORS)
    b.follow("fan", "x")
    b.follow("gil", "x")
    b.follow("gil", "y")
    for n in range(2):
        b.post("x", body=f"x{n}")
        b.post("y", body=f"y{n}")
    if stale:
        clock.advance(10.0)
        b.timeline("gil")  # gil stays active
        b.post("x", body="while fan was away")
    return b


def check_exact(feed: Feed, store: FeedStore) -> None:
    """Every reader's timeline is the newest-first merge of its followees' live posts."""
    by = dict(zip(AUTHORS, store.authored(AUTHORS, 10**6, 2**62), strict=True))
    for reader in READERS:
        want = sorted((i for a in feed.followees(reader) for i in by[a]), reverse=True)
        got = [p.id for p in feed.timeline(reader, 1000)]
        assert got == want, (reader, feed.followees(reader))


# (A's call, B's call, whether fan starts stale); a call is (method, args)
RACES = {
    "unfollow/refollow": (("unfollow", ("fan", "x")), ("follow", ("fan", "x")), False),
    "follow/unfollow": (("follow", ("fan", "y")), ("unfollow", ("fan", "y")), False),
    "refollow/unfollow": (("follow", ("fan", "x")), ("unfollow", ("fan", "x")), False),
    "unfollow/follow": (("unfollow", ("gil", "y")), ("follow", ("gil", "y")), False),
    "post/unfollow": (("post", ("x",)), ("unfollow", ("fan", "x")), False),
    "unfollow/post": (("unfollow", ("fan", "x")), ("post", ("x",)), False),
    "rebuild/post": (("timeline", ("fan",)), ("post", ("x",)), True),
    "rebuild/follow": (("timeline", ("fan",)), ("follow", ("fan", "y")), True),
    "rebuild/unfollow": (("timeline", ("fan",)), ("unfollow", ("fan", "x")), True),
    "rebuild/rebuild": (("timeline", ("fan",)), ("timeline", ("fan",)), True),
    "unfollow-stale/follow": (("unfollow", ("fan", "x")), ("follow", ("fan", "x")), True),
    "follow-stale/post": (("follow", ("fan", "y")), ("post", ("y",)), True),
}


@pytest.mark.parametrize(
    ("kind", "race"),
    [
        (kind, race)
        for race, (_, _, stale) in RACES.items()
        for kind in ("push", "hybrid")
        if kind == "hybrid" or not stale
    ],
)
def test_every_schedule_of_two_racing_calls_ends_exact(
    stores: StoreFactory, kind: str, race: str
) -> None:
    """Only the hybrid lets a timeline go stale: push runs the races that need none."""
    (a_call, a_args), (b_call, b_args), stale = RACES[race]
    at = 0
    while True:
        store = stores()
        clock = ManualClock(1.0)
        b = setup(kind, store, clock, stale)
        view = Preempted(store, at, getattr(b, b_call), *b_args)
        a = make(kind, view, clock)
        getattr(a, a_call)(*a_args)
        if view.calls <= at:  # B never ran: every place inside A's call has been tried
            break
        check_exact(make(kind, store, clock), store)
        at += 1
    assert at > 2


def finish_cluster_post(feed: Feed, store: Any, post_id: int, at: float) -> None:
    """The rest of a cluster post whose id was taken earlier: store it, then push it."""
    post = Post(post_id, "x", at, "late")
    pipe = store._pipe()
    pipe.hset(store._k("posts"), str(post_id), json.dumps(["x", at, post.body]))
    pipe.zadd(store._k("by", "x"), {str(post_id): post_id})
    pipe.execute()
    feed._on_post(post, at)


# only a cluster takes a post's id and stores it in two round trips
@pytest.mark.parametrize("stores", ["cluster"], indirect=True)
def test_a_cluster_post_stored_after_its_id_and_pushed_inside_a_rebuild_is_kept(
    stores: StoreFactory,
) -> None:
    """On a Redis Cluster a post takes its id in one round trip and is stored (and pushed) in a
    later one: B's post to x takes its id before A's rebuild of fan, a later post of x is
    stored at once, and B stores and pushes its post just before A's k-th store call, for every
    k. The late post has a lower id than the newest A reads, so a second pass that adds only
    ids above that newest lost it, for good (the timeline said it was complete)."""
    assert stores.kind == "cluster"
    at = 0
    while True:
        store = stores()
        clock = ManualClock(1.0)
        b = setup("hybrid", store, clock, stale=True)
        raw: Any = store
        late = int(raw.r.hincrby(raw._k("meta"), "next_id", 1))  # B's first round trip
        b.post("x", body="stored at once")  # fan is idle: skipped

        view = Preempted(store, at, finish_cluster_post, b, raw, late, clock())
        a = make("hybrid", view, clock)
        a.timeline("fan")
        if view.calls <= at:
            break
        check_exact(make("hybrid", store, clock), store)
        at += 1
    assert at > 2
