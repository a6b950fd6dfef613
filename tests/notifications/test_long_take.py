"""A take that lasts longer than the queue holds a taken item stays its sender's.

A Redis queue serves a pending message to another consumer once it was idle ``claim_idle``; a
SQLite queue serves a taken row again once its ``lease`` ran out. A sender still at its take
renews its hold (``renew``) with its claims, every half of the shorter of the claims' lease and
that hold, so a second sender polling meanwhile gets nothing of the take: no copy is put back
as busy, no receipt is counted twice. Each queue's ``renew`` is checked on its own too: a
renewed item is not served again, one not renewed is.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.notifications import (
    DedupWindow,
    MemoryQueue,
    NotificationError,
    Receipt,
    Sender,
    SQLiteQueue,
)


def message(i: int) -> dict[str, Any]:
    return {"id": f"k{i}|t{i}", "key": f"k{i}", "user": "u", "ch": "fcm", "tok": f"t{i}",
            "body": "hi", "lane": "normal", "ck": None, "exp": 1e12, "a": 0}  # fmt: skip


def _pair(backend: str, tmp_path: Path, redis_url: str | None) -> tuple[Any, Any, Any, Any]:
    """Two senders' outgoing queues (one store) and their dedup windows, holding a taken item
    for 0.3 s, with claims leased for 1 s."""
    if backend == "sqlite":
        path = str(tmp_path / "q.db")
        window = DedupWindow(clock=time.time, lease=1.0)
        return (SQLiteQueue(path, lease=0.3), SQLiteQueue(path, lease=0.3), window,
                window.another_sender())  # fmt: skip
    from designpatterns_ref.notifications.redis_dedup import RedisDedup
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    name = f"l-{uuid.uuid4().hex[:8]}"
    qs = [RedisStreamQueue(redis_url, name, consumer=c, claim_idle=0.3) for c in ("a", "b")]
    return qs[0], qs[1], RedisDedup(qs[0].r, name, lease=1.0), RedisDedup(qs[1].r, name, lease=1.0)


@pytest.mark.parametrize("backend", ["redis", "sqlite"])
def test_a_take_longer_than_the_queues_hold_stays_its_senders(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    out_a, out_b, dedup_a, dedup_b = _pair(backend, tmp_path, url)
    phone: Counter[str] = Counter()
    receipts: dict[str, list[Receipt]] = {"a": [], "b": []}
    taken_by_b: list[int] = []

    class Slow:  # 0.1 s a call: ten calls, over three times the queue's hold
        def __init__(self, poll: bool) -> None:
            self.poll = poll

        def attempt(self, token: str, body: str) -> str:
            time.sleep(0.1)
            phone[token] += 1
            if self.poll:  # the other sender polls while this one sends
                taken_by_b.append(b.send_batch(64))
            return "ok"

    b = Sender({"fcm": Slow(poll=False)}, dedup_b, out_b, MemoryQueue(), clock=time.time,
               record=receipts["b"].append)  # fmt: skip
    a = Sender({"fcm": Slow(poll=True)}, dedup_a, out_a, MemoryQueue(), clock=time.time,
               record=receipts["a"].append)  # fmt: skip
    out_a.put_many([message(i) for i in range(10)])
    assert a.send_batch(64) == 10
    assert taken_by_b == [0] * 10  # the take stayed a's throughout
    assert [r.status for r in receipts["a"]] == ["delivered"] * 10
    assert receipts["b"] == [] and len(out_a) == 0
    assert phone == {f"t{i}": 1 for i in range(10)}


def test_redis_renew_keeps_a_pending_message_from_being_reclaimed(redis_url: str) -> None:
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    name = f"r-{uuid.uuid4().hex[:8]}"
    a, b = (RedisStreamQueue(redis_url, name, consumer=c, claim_idle=0.2) for c in ("a", "b"))
    a.put({"n": 1})
    a.put({"n": 2}, lane="high")
    tickets = [t for t, _ in a.take(10, 0.0)]
    kept = [t for t in tickets if t[0].endswith(":high")]
    for _ in range(3):
        time.sleep(0.12)
        a.renew(kept, 0.0)  # a keeps the high one; the normal one ages past claim_idle
    assert [item for _, item in b.take(10, 0.0)] == [{"n": 1}]
    a.renew([], 0.0)
    a.ack(kept)
    a.renew(kept, 0.0)  # acked: left as it is
    assert (a.pending(), len(a)) == (1, 1)  # only b's take of n=1 is pending


def test_sqlite_renew_leases_the_taken_rows_again(tmp_path: Path) -> None:
    q = SQLiteQueue(str(tmp_path / "q.db"), lease=10.0)
    q.put({"n": 1})
    q.put({"n": 2})
    tickets = [t for t, _ in q.take(10, 100.0)]
    q.renew(tickets[:1], 105.0)  # n=1 leased until 115; n=2 until 110
    assert [item for _, item in q.take(10, 112.0)] == [{"n": 2}]
    q.renew(tickets[:1], 101.0)  # a renewal never shortens a lease
    assert q.take(10, 114.0) == []
    q.renew([10**6], 0.0)  # an unknown ticket: nothing
    assert len(q) == 2


@pytest.mark.parametrize("make", ["memory", "sqlite"])
def test_renew_refuses_bad_tickets_and_times(tmp_path: Path, make: str) -> None:
    q = MemoryQueue() if make == "memory" else SQLiteQueue(str(tmp_path / "q.db"))
    for tickets, now in (([1.5], 0.0), ("1", 0.0), ([1], -1.0), ([1], float("nan"))):
        with pytest.raises(NotificationError, match=r"renew: (ticket|tickets|now)="):
            q.renew(tickets, now)  # type: ignore[arg-type]
