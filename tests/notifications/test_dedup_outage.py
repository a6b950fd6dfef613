"""RedisDedup while its server is stopped: every public method raises QueueUnavailable (never a
bare client error) and changes nothing; and a RedisStreamQueue whose server lost its data (the
consumer group is gone: NOGROUP) makes the group again and serves put and take, and a take or
renewal that meets one lane lost repeats no write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref.notifications import NotificationError, QueueUnavailable

CALLS: dict[str, Callable[[Any], object]] = {
    "claim": lambda d: d.claim("m3"),
    "claim_many": lambda d: d.claim_many(["m3", "m4"]),
    "extend": lambda d: d.extend(["m1"]),
    "confirm": lambda d: d.confirm("m1"),
    "settle": lambda d: d.settle(["m1"], ["m2"]),
    "release": lambda d: d.release("m1"),
    "deliver": lambda d: d.deliver("m3"),
    "delivered": lambda d: d.delivered(),
}


@pytest.mark.parametrize("call", CALLS, ids=str)
def test_redis_dedup_while_the_server_is_stopped(own_redis: Any, call: str) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from designpatterns_ref.notifications.redis_dedup import RedisDedup

    d = RedisDedup(own_redis.url, "down")
    assert d.claim_many(["m1", "m2"]) == ["claimed", "claimed"]
    d.settle(["m0"], [])
    own_redis.stop()
    with pytest.raises(QueueUnavailable, match=r"RedisDedup\.\w+: 'down'") as info:
        CALLS[call](d)
    assert isinstance(info.value.__cause__, RedisConnectionError | OSError)
    own_redis.restart()  # no persistence: the server comes back empty
    CALLS[call](d)  # the same instance works again (its scripts load afresh)
    assert d.claim("m5") == "claimed"


def test_redis_queue_makes_its_group_again_after_the_server_lost_its_data(own_redis: Any) -> None:
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    q = RedisStreamQueue(own_redis.url, "lost", claim_idle=60.0)
    q.put({"n": 1})
    assert [item for _, item in q.take(10, 0.0)] == [{"n": 1}]
    q.r.flushall()  # the streams and the consumer group are gone
    assert q.pending() == 0
    q.put({"n": 2})
    q.put({"n": 3}, lane="high")
    taken = q.take(10, 0.0)
    assert [item for _, item in taken] == [{"n": 3}, {"n": 2}]
    assert q.pending() == 2
    q.ack([t for t, _ in taken])
    assert (len(q), q.pending()) == (0, 0)


def test_redis_queue_take_after_a_flush_with_nothing_put(own_redis: Any) -> None:
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    q = RedisStreamQueue(own_redis.url, "empty")
    q.r.flushall()
    assert q.take(10, 0.0) == []  # was NOGROUP (QueueUnavailable) for ever
    q.put({"n": 1})
    assert [item for _, item in q.take(10, 0.0)] == [{"n": 1}]


def test_redis_queue_keeps_other_errors(own_redis: Any) -> None:
    """Only NOGROUP makes the group again: a key of the wrong type is a misconfiguration
    (NotificationError; an outage error would have a worker retry it for ever)."""
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    q = RedisStreamQueue(own_redis.url, "typed")
    q.r.delete("typed:high")
    q.r.set("typed:high", "x")
    with pytest.raises(NotificationError, match="WRONGTYPE"):
        q.take(10, 0.0)


@pytest.mark.parametrize("lost", ["high", "normal"])
def test_a_take_that_meets_a_lost_lane_serves_what_it_reclaims(own_redis: Any, lost: str) -> None:
    """One lane's stream (and its group) is gone, the other has an entry a dead consumer left
    idle and a retry falls due: the take makes the group again and serves both, each once.
    A NOGROUP met after the script's first write would have left the entry taken over (its
    idle time reset, the cursor past it) and lost with the failed reply: served a claim_idle
    later, delivered twice."""
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    kept = "normal" if lost == "high" else "high"
    a, b = (RedisStreamQueue(own_redis.url, "q", consumer=c, claim_idle=60.0) for c in "ab")
    a.put({"n": 1}, lane=kept)
    [((stream, entry), _)] = a.take(1, 0.0)  # a dies holding it
    a.r.xclaim(stream, "senders", "a", 0, [entry], idle=120_000, justid=True)  # idle 2 min
    a.put({"n": 2}, lane=kept, at=5.0)  # a retry, due at 5
    a.put({"n": 3}, lane=lost)
    a.r.delete(f"q:{lost}")  # evicted or deleted: its entries and its group are gone
    assert [item for _, item in b.take(10, 10.0)] == [{"n": 1}, {"n": 2}]
    [mine] = a.r.xpending_range(stream, "senders", entry, entry, 1)
    assert (mine["consumer"], mine["times_delivered"]) == (b"b", 2)  # taken over once
    assert (len(b), b.pending(), b.take(10, 10.0)) == (2, 2, [])


def test_a_renewal_that_meets_a_lost_lane_is_not_run_again(own_redis: Any) -> None:
    """``renew`` is one pipeline without MULTI: every stream's renewal runs even when another
    stream's fails with NOGROUP, so it is not run again after the group is made anew."""
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    q = RedisStreamQueue(own_redis.url, "r", consumer="a", claim_idle=60.0)
    q.put({"n": 1}, lane="high")
    q.put({"n": 2})
    tickets = [t for t, _ in q.take(10, 0.0)]
    q.r.delete("r:normal")
    q.r.config_resetstat()
    q.renew(tickets, 0.0)
    assert q.r.info("commandstats")["cmdstat_xclaim"]["calls"] == 1  # the high entry, once
    assert [g["name"] for g in q.r.xinfo_groups("r:normal")] == [b"senders"]  # made again
