"""A Redis key of the wrong type is a misconfiguration, a server that is down an outage.

``RedisStreamQueue`` made its consumer group outside its error mapping: a down server raised the
client's bare ConnectionError, a lane's key of another type a bare ResponseError (WRONGTYPE) (a
worker started during an outage died at once: see test_worker_outage.py). RedisDedup's scripts
wrote their first keys before a later command found a key of the wrong type, and Redis keeps a
failing script's earlier writes: a refused settle left its ``sent`` marks (and raised
``QueueUnavailable``, which a worker retries forever). Now each script checks its keys' types
before any write, and a wrong type raises :class:`NotificationError` with nothing changed.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.notifications import NotificationError, QueueUnavailable


def test_a_queue_made_while_the_server_is_down_raises_queue_unavailable(own_redis: Any) -> None:
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    own_redis.stop()
    with pytest.raises(QueueUnavailable, match=r"RedisStreamQueue: 'q'"):
        RedisStreamQueue(own_redis.url, "q")
    own_redis.restart()
    RedisStreamQueue(own_redis.url, "q").put({"n": 1})


@pytest.mark.parametrize("lane", ["high", "normal"])
def test_a_queue_whose_lane_key_holds_another_type_is_refused(redis_url: str, lane: str) -> None:
    import redis

    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    r = redis.Redis.from_url(redis_url)
    r.set(f"w:{lane}", "x")
    with pytest.raises(NotificationError, match=r"RedisStreamQueue: 'w'.*WRONGTYPE"):
        RedisStreamQueue(r, "w")
    assert r.get(f"w:{lane}") == b"x"
    r.close()


def _snapshot(r: Any) -> dict[bytes, tuple[bytes, Any]]:
    """Every key with its type and value (a sent mark's or a claim's value, a list's items)."""
    out: dict[bytes, tuple[bytes, Any]] = {}
    for key in r.keys("*"):
        kind = r.type(key)
        value = r.lrange(key, 0, -1) if kind == b"list" else r.dump(key)
        out[key] = (kind, value)
    return out


IDS = ["a", "b", "c", "d"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    claimed=st.lists(st.sampled_from(IDS), unique=True),
    confirmed=st.lists(st.sampled_from(IDS), unique=True, min_size=1),
    released=st.lists(st.sampled_from(IDS), unique=True),
    wrong=st.sampled_from(["deliveries", *IDS]),
    step=st.sampled_from(["settle", "confirm", "claim_many", "extend"]),
)
def test_a_step_that_meets_a_key_of_the_wrong_type_changes_nothing(
    redis_url: str,
    claimed: list[str],
    confirmed: list[str],
    released: list[str],
    wrong: str,
    step: str,
) -> None:
    import redis

    from designpatterns_ref.notifications.redis_dedup import RedisDedup

    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    d = RedisDedup(r, "s", lease=60.0)
    d.claim_many(claimed)
    key = "s:deliveries" if wrong == "deliveries" else f"s:sent:{wrong}"
    r.delete(key)
    r.hset(key, "x", "y")  # a hash: the wrong type for the deliveries list and for a mark
    calls = {
        "settle": lambda: d.settle(confirmed, released),
        "confirm": lambda: d.confirm(wrong if wrong != "deliveries" else confirmed[0]),
        "claim_many": lambda: d.claim_many(sorted({*confirmed, *released, wrong} - {"deliveries"})),
        "extend": lambda: d.extend(sorted({*confirmed, *released, wrong} - {"deliveries"})),
    }
    touched = {*confirmed, *released} if step == "settle" else set(IDS)
    if step in ("claim_many", "extend") and wrong == "deliveries":
        calls[step]()  # these never touch the deliveries list
        r.close()
        return
    if step == "settle" and wrong != "deliveries" and wrong not in touched:
        calls[step]()  # the hash is none of this settle's keys
        r.close()
        return
    before = _snapshot(r)
    with pytest.raises(NotificationError, match=r"RedisDedup\.\w+: 's'.*WRONGTYPE"):
        calls[step]()
    assert _snapshot(r) == before  # the oracle: a refused step changes nothing
    r.close()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    wrong=st.sampled_from(["high", "normal", "delayed", "claimed", "delayed:seq"]),
    due=st.sampled_from(["high", "normal"]),
    call=st.sampled_from(["take", "put_delayed"]),
)
def test_a_queue_step_that_meets_a_key_of_the_wrong_type_changes_nothing(
    redis_url: str, wrong: str, due: str, call: str
) -> None:
    """A take promoted due retries and claimed idle entries before a later command met a lane of
    the wrong type; a delayed put counted its put number before a delayed set of the wrong type."""
    import redis

    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    q = RedisStreamQueue(r, "t", claim_idle=0.001)
    q.put({"n": 1}, lane="high")
    q.put({"n": 2})
    q.take(2, 1.0)  # both pending: the next take reclaims them (idle for 1 ms)
    q.put({"n": 3}, lane=due, at=5.0)
    q.take(1, 1.0)  # the cursors' hash exists
    time.sleep(0.01)
    r.delete(f"t:{wrong}")
    r.sadd(f"t:{wrong}", "x")  # a set: the wrong type for every key of the queue
    uses = {
        "take": ("high", "normal", "delayed", "claimed"),
        "put_delayed": ("delayed", "delayed:seq"),
    }
    step = (
        (lambda: q.take(10, 10.0))
        if call == "take"
        else (lambda: q.put({"n": 4}, lane=due, at=6.0))
    )
    if wrong not in uses[call]:
        step()  # none of its keys
        r.close()
        return
    before = _snapshot(r)
    with pytest.raises(NotificationError, match=r"RedisStreamQueue\.\w+: 't'.*WRONGTYPE"):
        step()
    assert _snapshot(r) == before
    r.close()


@pytest.mark.parametrize("wrong", ["c:collapse", "c:collapse:order"])
@pytest.mark.parametrize("step", ["update", "record", "delete"])
def test_a_collapse_step_that_meets_a_key_of_the_wrong_type_changes_nothing(
    redis_url: str, wrong: str, step: str
) -> None:
    """``update`` and ``del`` ran as MULTI/EXEC, which Redis does not roll back: an orders hash
    of the wrong type let the keys hash change, and a keys hash of the wrong type let the
    orders be forgotten."""
    import redis

    from designpatterns_ref.notifications.redis_collapse import RedisCollapseKeys

    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    c = RedisCollapseKeys(r, "c")
    c.record({("tok", "ck"): ((1.0, 1), "k1"), ("tok", "other"): ((1.0, 2), "k2")})
    kept = dict(r.hgetall(wrong))
    r.delete(wrong)
    r.sadd(wrong, "x")  # a set: the wrong type for either hash
    before = _snapshot(r)
    calls = {
        "update": lambda: c.update({("tok", "ck"): "k3", ("tok", "new"): "k4"}),
        "record": lambda: c.record({("tok", "ck"): ((2.0, 1), "k3")}),
        "delete": lambda: c.__delitem__(("tok", "ck")),
    }
    with pytest.raises(NotificationError, match=r"RedisCollapseKeys\.\w+: 'c'.*WRONGTYPE"):
        calls[step]()
    assert _snapshot(r) == before
    r.delete(wrong)
    if kept:
        r.hset(wrong, mapping=kept)
    calls[step]()  # the right type again: the step goes through
    r.close()
