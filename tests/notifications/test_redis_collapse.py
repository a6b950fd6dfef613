"""Collapse keys across processes: a worker on Redis drops what the in-process sender drops.

The model is the in-process pipeline (its own dict of collapse keys, its own sender): for each
device and collapse key only the newest notification is delivered, and every notification
without a collapse key is delivered."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.notifications import Notification, NotificationError, Pipeline
from designpatterns_ref.notifications.redis_collapse import RedisCollapseKeys
from designpatterns_ref.notifications.redis_streams import RedisStreamQueue
from designpatterns_ref.notifications.worker import run_worker

USERS = ("ann", "bo")


def pipeline(**kwargs: Any) -> Pipeline:
    p = Pipeline(**kwargs)
    p.templates.add("score", "score {s}")
    for u in USERS:
        p.register_user(u)
        p.add_device(u, "apns", f"tok-{u}")
    p.add_device("bo", "fcm", "tok-bo-2")
    return p


def notes(spec: list[tuple[int, str | None]]) -> list[Notification]:
    return [
        Notification(f"n{i}", "score", USERS[:who], {"s": str(i)}, ("apns", "fcm"),
                     collapse_key=ck)
        for i, (who, ck) in enumerate(spec)
    ]  # fmt: skip


def on_phones_via_workers(redis_url: str, batch: list[Notification]) -> list[str]:
    """Expand ``batch`` in a producer whose collapse keys live in Redis, send it with a worker;
    return what reached the phones, as ``token body`` lines."""
    import redis

    name = f"c-{uuid.uuid4().hex[:8]}"
    out = RedisStreamQueue(redis_url, f"{name}:out", consumer="producer")
    p = pipeline(clock=time.time, outgoing=out, latest=RedisCollapseKeys(redis_url, name))
    for n in batch:
        assert p.accept(n)
    while p.expand_batch(64):
        pass
    run_worker(redis_url, name, "w0", idle=0.2)
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return sorted(v.replace("\n", " ") for v in r.lrange(f"{name}:phone", 0, -1))
    finally:
        r.close()


def on_phones_in_process(batch: list[Notification]) -> list[str]:
    p = pipeline()
    for n in batch:
        assert p.accept(n)
    p.run()
    bodies = {n.key: f"score {n.key[1:]}" for n in batch}
    return sorted(f"{r.token} {bodies[r.key]}" for r in p.receipts if r.status == "delivered")


def test_a_worker_delivers_only_the_newest_message_of_a_collapse_key(redis_url: str) -> None:
    batch = notes([(1, "match"), (1, "match"), (1, None), (1, "match")])
    assert on_phones_via_workers(redis_url, batch) == [
        "tok-ann score 2",
        "tok-ann score 3",
    ]


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    spec=st.lists(
        st.tuples(st.integers(1, 2), st.sampled_from([None, "a", "b"])), min_size=1, max_size=7
    )
)
def test_workers_and_the_in_process_sender_agree_on_collapse_keys(
    redis_url: str, spec: list[tuple[int, str | None]]
) -> None:
    batch = notes(spec)
    assert on_phones_via_workers(redis_url, batch) == on_phones_in_process(batch)


def test_the_shared_record_is_a_mapping_that_refuses_bad_entries_whole(redis_url: str) -> None:
    latest = RedisCollapseKeys(redis_url, f"m-{uuid.uuid4().hex[:8]}")
    latest[("tok", "ck")] = "n1"
    latest.update({("tok", "ck"): "n2", ("tok-2", "ck"): "n3"})
    assert dict(latest) == {("tok", "ck"): "n2", ("tok-2", "ck"): "n3"}
    assert latest.get_many([("tok", "ck"), ("tok", "other")]) == ["n2", None]
    with pytest.raises(NotificationError, match="collapse_key"):
        latest.update({("tok", "x"): "n4", ("tok", "a|b"): "n5"})
    with pytest.raises(NotificationError, match="pair"):
        latest["tok"] = "n6"  # type: ignore[index]
    assert len(latest) == 2 and ("tok", "x") not in latest
    del latest[("tok", "ck")]
    assert dict(latest) == {("tok-2", "ck"): "n3"}
    with pytest.raises(NotificationError, match="latest"):
        Pipeline(latest=[("tok", "ck")])  # type: ignore[arg-type]


def test_a_producer_that_dies_between_the_collapse_record_and_the_put(redis_url: str) -> None:
    """The record names a notification whose messages were never queued: the older message is
    collapsed, and the newer one arrives once its item is served again to another producer."""
    from designpatterns_ref.notifications import QueueUnavailable
    from designpatterns_ref.notifications.redis_dedup import RedisDedup

    class DiesOnPut(RedisStreamQueue):
        def put_many(self, items: Any, *, lane: str = "normal") -> None:
            raise QueueUnavailable("the producer died between its two writes")

    name = f"d-{uuid.uuid4().hex[:8]}"

    def process(consumer: str, outgoing: type[RedisStreamQueue]) -> Pipeline:
        return pipeline(
            clock=time.time,
            accepted=RedisStreamQueue(redis_url, f"{name}:in", consumer=consumer, claim_idle=0.2),
            outgoing=outgoing(redis_url, f"{name}:out", consumer=consumer, claim_idle=0.2),
            dead=RedisStreamQueue(redis_url, f"{name}:dead", consumer=consumer),
            dedup=RedisDedup(redis_url, name),
            latest=RedisCollapseKeys(redis_url, name),
        )

    first, second = notes([(1, "match"), (1, "match")])
    p = process("c0", RedisStreamQueue)
    assert p.accept(first) and p.expand_batch(64) == 1  # queued, not sent
    dying = process("c1", DiesOnPut)
    assert dying.accept(second)
    with pytest.raises(QueueUnavailable):
        dying.expand_batch(64)  # the record says "n1"; n1's message is not queued
    assert dict(RedisCollapseKeys(redis_url, name)) == {("tok-ann", "match"): "n1"}
    after = process("c2", RedisStreamQueue)  # another producer, after the crash
    deadline = time.monotonic() + 10
    while not any(r.status == "delivered" for r in after.receipts):
        assert time.monotonic() < deadline, after.receipts
        after.run()
        time.sleep(0.05)  # the dead producer's item comes back after claim_idle
    fates = sorted(
        (r.key, r.status) for r in after.receipts if r.token == "tok-ann" and r.status != "retry"
    )
    assert fates == [("n0", "collapsed"), ("n1", "delivered")]
