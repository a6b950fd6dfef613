"""A take's settle that fails while the sender lives on is settled again before the next take.

The send stage settles a take (marks its delivered ids sent, releases the refused ones) and acks
it in one ``ack_settled``. On Redis that is one MULTI/EXEC. When the server stalls through it
(the call times out: :class:`QueueUnavailable`), nothing of it ran; the sender keeps the take and
settles it first thing in its next ``send_batch``. Were it dropped, the take would be served
again by ``XAUTOCLAIM`` and, once the claims ran out, sent a second time by a worker that never
crashed. A server out of memory refuses the settle script inside the MULTI while the XACK and
XDEL still run: the retried settle then records what the take delivered.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from designpatterns_ref.notifications import MemoryQueue, QueueUnavailable, Receipt
from designpatterns_ref.notifications.providers import default_providers
from designpatterns_ref.notifications.redis_dedup import RedisDedup
from designpatterns_ref.notifications.redis_streams import RedisStreamQueue
from designpatterns_ref.notifications.send import Sender
from designpatterns_ref.redisclient import bounded_client

MESSAGE = {"id": "k1|tok", "key": "k1", "user": "ada", "ch": "fcm", "tok": "tok", "body": "hi",
           "lane": "normal", "ck": None, "exp": 1e12, "a": 0}  # fmt: skip


def _sender(q: RedisStreamQueue, fault: Any) -> tuple[Sender, list[str], list[Receipt]]:
    phone: list[str] = []
    receipts: list[Receipt] = []

    def on_phone(token: str, body: str) -> None:
        phone.append(token)
        fault()  # the store fails right after the provider's ok, before the settle

    providers = default_providers(time.time, phone=on_phone)
    dedup = RedisDedup(q.r, "d", lease=0.5)
    sender = Sender(providers, dedup, q, MemoryQueue(), clock=time.time, record=receipts.append)
    return sender, phone, receipts


def _drain(sender: Sender, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sender.send_batch()
        time.sleep(0.02)


def test_a_server_stalled_through_the_settle_does_not_send_twice(own_redis: Any) -> None:
    import redis

    admin = redis.Redis.from_url(own_redis.url)
    q = RedisStreamQueue(bounded_client(own_redis.url, deadline=0.2), "out", claim_idle=0.2)
    stalls = [True]

    def stall() -> None:
        if stalls.pop() if stalls else False:
            admin.client_pause(500, all=True)  # longer than the client's deadline

    sender, phone, receipts = _sender(q, stall)
    q.put(MESSAGE)
    with pytest.raises(QueueUnavailable, match="ack_settled"):
        sender.send_batch()
    time.sleep(0.7)  # the stall is over; the claim's lease and claim_idle have run out
    _drain(sender, 1.2)  # past another lease: a replayed take would have been sent again
    assert phone == ["tok"]
    assert [r.status for r in receipts] == ["delivered"]
    assert sender.unsettled is None and q.pending() == 0 and len(q) == 0
    admin.close()


def test_a_settle_refused_for_memory_is_recorded_once_it_runs(own_redis: Any) -> None:
    q = RedisStreamQueue(own_redis.url, "out", claim_idle=0.2)
    full = [True]

    def out_of_memory() -> None:
        if full.pop() if full else False:
            q.r.config_set("maxmemory-policy", "noeviction")
            q.r.config_set("maxmemory", 1)

    sender, phone, receipts = _sender(q, out_of_memory)
    q.put(MESSAGE)
    with pytest.raises(QueueUnavailable, match="ack_settled"):
        sender.send_batch()
    with pytest.raises(QueueUnavailable):  # still full: the settle waits, nothing is taken
        sender.send_batch()
    q.r.config_set("maxmemory", 0)
    _drain(sender, 1.0)
    assert phone == ["tok"]
    assert [r.status for r in receipts] == ["delivered"]
    assert sender.dedup.delivered() == ["k1|tok"]  # type: ignore[attr-defined]
