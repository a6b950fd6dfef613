"""RedisDedup while its server is stopped: every public method raises QueueUnavailable (never a
bare client error) and changes nothing; and a RedisStreamQueue whose server lost its data (the
consumer group is gone: NOGROUP) makes the group again and serves put and take."""

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
