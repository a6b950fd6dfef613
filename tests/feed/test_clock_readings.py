"""The feeds refuse a clock reading that is not a finite number of seconds with FeedError
before anything changes: add_user stored a NaN or True as the time a user was last seen,
and the hybrid's timeline stored it too (a NaN last-seen time is never older than a cutoff);
a str or None failed with a bare TypeError."""

from __future__ import annotations

import math
from typing import Any

import pytest

from designpatterns_ref.feed import FanoutOnRead, FanoutOnWrite, FeedError, HybridFanout

BAD: list[Any] = [math.nan, math.inf, -math.inf, True, "1", None, 10**400]
IDS = ["nan", "inf", "-inf", "True", "str", "None", "10**400"]
CLOCK = r"clock\(\) returned"


def _snapshot(feed: Any) -> Any:
    store = feed.store
    return (
        sorted(store._users),
        dict(store._seen),
        {u: sorted(v) for u, v in store._followers.items()},
        dict(store._posts),
        {u: list(v) for u, v in store._home.items()},
        dict(store._pending),
        dict(store._keys),
    )


@pytest.mark.parametrize("kind", [FanoutOnWrite, FanoutOnRead, HybridFanout])
@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_a_feed_refuses_a_bad_clock_reading_and_changes_nothing(kind: Any, bad: Any) -> None:
    now: list[Any] = [10.0]
    feed = kind(clock=lambda: now[0])
    feed.add_users(["ann", "bob"])
    feed.follow("ann", "bob")
    feed.post("bob", body="first")
    before = (_snapshot(feed), feed.stats.copy())
    now[0] = bad
    calls = [lambda: feed.add_user("cy"), lambda: feed.post("bob", body="second")]
    if kind is HybridFanout:
        calls.append(lambda: feed.timeline("ann"))
    for call in calls:
        with pytest.raises(FeedError, match=CLOCK):
            call()
        assert (_snapshot(feed), feed.stats) == before


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_a_hybrid_post_at_a_given_time_reads_the_clock_before_it_stores(bad: Any) -> None:
    """The hybrid measures who is idle from the clock even for a post given its ``at``: it
    stored the post, then read the clock and refused, leaving a pending post behind."""
    now: list[Any] = [10.0]
    feed = HybridFanout(clock=lambda: now[0])
    feed.add_users(["ann", "bob"])
    feed.follow("ann", "bob")
    before = (_snapshot(feed), feed.stats.copy())
    now[0] = bad
    with pytest.raises(FeedError, match=CLOCK):
        feed.post("bob", at=20.0)
    assert (_snapshot(feed), feed.stats) == before


@pytest.mark.parametrize("kind", [FanoutOnWrite, FanoutOnRead, HybridFanout])
@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_add_users_reads_the_clock_once_before_adding_any(kind: Any, bad: Any) -> None:
    """add_users read the clock once a user, and refused half-way when a later reading was bad.
    Now one reading serves them all: a clock whose second reading is bad is never asked twice."""
    readings = iter([10.0, bad])
    feed = kind(clock=lambda: next(readings))
    feed.add_users(["ann", "bob", "cy"])
    assert [feed.store.last_seen([u])[0] for u in ("ann", "bob", "cy")] == [10.0] * 3
    readings = iter([bad])
    before = _snapshot(feed)
    with pytest.raises(FeedError, match=CLOCK):
        feed.add_users(["di", "ed"])
    assert _snapshot(feed) == before


def test_a_read_that_loads_twice_reads_the_clock_once() -> None:
    """A page holding the id of a post that is gone is filled by a second load; each load read
    the clock, so a bad second reading refused the read after the first had touched the reader
    and taken the id out. Now the read takes one reading, before its first load."""
    readings: list[Any] = [10.0]
    feed = HybridFanout(clock=lambda: readings.pop(0) if len(readings) > 1 else readings[0])
    feed.add_users(["ann", "bob"])
    feed.follow("ann", "bob")
    kept = feed.post("bob", body="kept")
    gone = feed.post("bob", body="gone")
    feed.store.drop_post(gone)  # as a delete racing the fan-out leaves it: the id still pushed
    readings[:] = [20.0, math.nan]
    assert feed.timeline("ann", 1) == [kept]
    assert feed.store.last_seen(["ann"]) == [20.0]
