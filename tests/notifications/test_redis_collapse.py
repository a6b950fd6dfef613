"""Collapse keys across processes: a worker on Redis drops what the in-process sender drops.

The model is the in-process pipeline (its own dict of collapse keys, its own sender): for each
device and collapse key only the newest notification is delivered, and every notification
without a collapse key is delivered."""

from __future__ import annotations

import dataclasses
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


class FailsFirstPut(RedisStreamQueue):
    """A queue whose first ``put_many`` fails as a Redis blip would."""

    failed = False

    def put_many(self, items: Any, *, lane: str = "normal") -> None:
        if not self.failed:
            self.failed = True
            from designpatterns_ref.notifications import QueueUnavailable

            raise QueueUnavailable("a blip")
        super().put_many(items, lane=lane)


@pytest.mark.parametrize("record", ["dict", "redis"])
def test_a_retried_expansion_does_not_displace_a_newer_notification(
    redis_url: str, record: str
) -> None:
    """n0's expansion fails, n1 (accepted after it) is expanded, then n0's retry: n1 stays the
    newest of the collapse key, so the phone gets n1 and n0 is collapsed."""
    from designpatterns_ref.notifications import QueueUnavailable

    name = f"r-{uuid.uuid4().hex[:8]}"
    latest: Any = {} if record == "dict" else RedisCollapseKeys(redis_url, name)
    p = pipeline(
        clock=time.time,
        accepted=RedisStreamQueue(redis_url, f"{name}:in", consumer="c", claim_idle=0.2),
        outgoing=FailsFirstPut(redis_url, f"{name}:out", consumer="c"),
        latest=latest,
    )
    first, second = notes([(1, "match"), (1, "match")])
    assert p.accept(first)
    with pytest.raises(QueueUnavailable):
        p.expand_batch(64)
    assert p.accept(second) and p.expand_batch(64) == 1  # n1 only: n0 is not idle yet
    time.sleep(0.3)
    assert p.expand_batch(64) == 1  # n0's retry, after n1
    assert dict(latest) == {("tok-ann", "match"): "n1"}
    p.run()
    fates = sorted((r.key, r.status) for r in p.receipts if r.token == "tok-ann")
    assert fates == [("n0", "collapsed"), ("n1", "delivered")]


def test_the_shared_record_answers_like_a_mapping(redis_url: str) -> None:
    latest = RedisCollapseKeys(redis_url, f"a-{uuid.uuid4().hex[:8]}")
    latest[("tok", "ck")] = "n1"
    for odd in ("x", ("tok",), ("tok", "ck", "z"), ("tok", 5), ("a|b", "ck"), 5):
        assert odd not in latest and latest.get(odd) is None and latest.get(odd, "d") == "d"
        assert latest.pop(odd, None) is None
        with pytest.raises(KeyError):
            latest[odd]  # type: ignore[index]
    assert ("tok", "ck") in latest and latest.get(("tok", "ck")) == "n1"
    refused = [
        (5, "other=5"),
        ("ab", "other='ab'"),
        ([1], "entry=1"),
        ([("t", "c")], "key='t'"),
        ([(("t", "c"), 7)], "key=7"),
    ]
    for bad, named in refused:
        with pytest.raises(NotificationError, match=named):
            latest.update(bad)
    assert dict(latest) == {("tok", "ck"): "n1"}  # every refusal left it as it was


@pytest.mark.parametrize("client", [5, None, object(), "http://localhost:1", "not a url"])
def test_the_shared_record_refuses_what_is_not_a_redis_client(client: object) -> None:
    with pytest.raises(NotificationError, match="redis="):
        RedisCollapseKeys(client, "p")


ORDERS = st.tuples(st.integers(0, 3).map(float), st.integers(0, 3))
PAIRS = st.sampled_from([("t1", "a"), ("t1", "b"), ("t2", "a")])
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.dictionaries(PAIRS, st.tuples(ORDERS, st.sampled_from(
            ["k1", "k2", "k3"])), max_size=3)),
        st.tuples(st.just("set"), st.tuples(PAIRS, st.sampled_from(["k1", "k2", "k3"]))),
        st.tuples(st.just("delete"), PAIRS),
        st.tuples(st.just("bad"), st.tuples(ORDERS, st.sampled_from(["", "a|b"]))),
    ),
    max_size=12,
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_recorded_entries_keep_the_newest_accept_order(
    redis_url: str, steps: list[tuple[str, Any]]
) -> None:
    """Against a dict of ``pair -> (order, key)``: ``record`` sets an entry unless a greater
    order is recorded; plain assignment sets it and forgets its order; a refused record
    changes nothing; ``del`` removes it. The in-process form (``record_in_dict``) agrees."""
    from designpatterns_ref.notifications.redis_collapse import record_in_dict

    shared = RedisCollapseKeys(redis_url, f"s-{uuid.uuid4().hex[:8]}")
    local: dict[tuple[str, str], str] = {}
    orders: dict[tuple[str, str], Any] = {}
    model: dict[tuple[str, str], tuple[Any, str]] = {}  # pair -> (order or None, key)
    for op, arg in steps:
        if op == "record":
            shared.record(arg)
            record_in_dict(local, orders, arg)
            for pair, (order, key) in arg.items():
                old = model.get(pair)
                if old is None or old[0] is None or order >= old[0]:
                    model[pair] = (order, key)
        elif op == "set":
            pair, key = arg
            shared[pair] = key
            local[pair] = key
            orders.pop(pair, None)
            model[pair] = (None, key)
        elif op == "delete":
            assert (arg in model) is (arg in shared)
            if arg in model:
                del shared[arg], local[arg], model[arg]
            else:
                with pytest.raises(KeyError):
                    del shared[arg]
        else:
            with pytest.raises(NotificationError, match="key"):
                shared.record({("t1", "a"): ((9.0, 9), "ok"), ("t2", "a"): arg})
        want = {pair: key for pair, (_, key) in model.items()}
        assert dict(shared) == want == local
        assert shared.get_many(list(want)) == list(want.values())


def test_a_notification_accepted_later_stays_the_newest_when_expanded_first() -> None:
    """The high lane is expanded before the normal one: n1 (high, accepted after n0) is
    expanded first and stays the newest of its collapse key, in the in-process record too."""
    p = pipeline()
    first, second = notes([(1, "match"), (1, "match")])
    assert p.accept(first)
    assert p.accept(dataclasses.replace(second, lane="high"))
    p.run()
    fates = sorted((r.key, r.status) for r in p.receipts if r.token == "tok-ann")
    assert fates == [("n0", "collapsed"), ("n1", "delivered")]
