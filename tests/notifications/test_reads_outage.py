"""next_due, len and pending while the store is down: QueueUnavailable, as take and ack; and
Pipeline.run stops with that error, to be called again once the store is back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import (
    Notification,
    Pipeline,
    QueueUnavailable,
    SQLiteQueue,
)

READS = {"next_due": lambda q: q.next_due(), "len": len, "pending": lambda q: q.pending()}


@pytest.mark.parametrize("read", READS, ids=str)
def test_redis_reads_while_the_server_is_stopped(own_redis: Any, read: str) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    q = RedisStreamQueue(own_redis.url, "down")
    q.put({"n": 1})
    q.put({"n": 2}, at=50.0)
    assert (q.next_due(), len(q), q.pending()) == (50.0, 2, 0)
    own_redis.stop()
    with pytest.raises(QueueUnavailable, match="'down'") as info:
        READS[read](q)
    assert isinstance(info.value.__cause__, RedisConnectionError | OSError)
    own_redis.restart()  # no persistence: the server comes back empty
    RedisStreamQueue(own_redis.url, "down")  # makes the group again
    assert (q.next_due(), len(q), q.pending()) == (None, 0, 0)


@pytest.mark.parametrize("read", ["next_due", "len"], ids=str)
def test_sqlite_reads_on_a_closed_queue(tmp_path: Path, read: str) -> None:
    q = SQLiteQueue(str(tmp_path / "q.db"))
    q.put({"n": 1}, at=50.0)
    q.close()
    with pytest.raises(QueueUnavailable, match="closed"):
        READS[read](q)


def _pipeline(url: str, cls: type[Pipeline] = Pipeline) -> Pipeline:
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    p = cls(
        clock=ManualClock(1_780_000_000.0),
        accepted=RedisStreamQueue(url, "acc"),
        outgoing=RedisStreamQueue(url, "out"),
    )
    p.templates.add("ship", "order {id} shipped")
    p.register_user("ada")
    p.add_device("ada", "fcm", "tok")
    return p


def test_pipeline_run_stops_with_queue_unavailable_and_runs_again(own_redis: Any) -> None:
    """A worker loop expects QueueUnavailable out of run while the store is down (never a
    bare client error): it waits and calls run again; what was queued is delivered then."""
    p = _pipeline(own_redis.url)
    assert p.accept(Notification("k1", "ship", users=("ada",), vars={"id": "1"}))
    own_redis.stop()
    with pytest.raises(QueueUnavailable):
        p.run()
    own_redis.restart()  # no persistence: k1's item is gone with the server's memory
    p = _pipeline(own_redis.url)
    assert p.accept(Notification("k2", "ship", users=("ada",), vars={"id": "2"}))
    p.run()
    assert [r.key for r in p.receipts if r.status == "delivered"] == ["k2"]


def test_pipeline_run_when_the_server_stops_after_an_idle_round(own_redis: Any) -> None:
    """The server stops after a round that moved nothing, before run asks the queues when
    their next item is due: run raises QueueUnavailable there too."""
    stop = own_redis.stop

    class StopsAfterARound(Pipeline):
        def step(self, batch: int = 1024) -> int:
            moved = super().step(batch)
            if not moved:
                stop()
            return moved

    p = _pipeline(own_redis.url, StopsAfterARound)
    with pytest.raises(QueueUnavailable, match="'acc'"):
        p.run()
