"""take, ack and ack_settled on every queue: the family's errors, and QueueUnavailable when the
store is down (another writer holds the SQLite file, the queue was closed, Redis is stopped),
with nothing taken or acked."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import (
    DedupWindow,
    MemoryQueue,
    NotificationError,
    QueueUnavailable,
    SQLiteQueue,
)

CALLS: dict[str, Callable[[Any, list[Any]], object]] = {
    "take": lambda q, tickets: q.take(10, 0.0),
    "ack": lambda q, tickets: q.ack(tickets),
    "ack_settled": lambda q, tickets: q.ack_settled(tickets, _window(), [], []),
}


def _window() -> DedupWindow:
    return DedupWindow(clock=ManualClock())


def _queue_with_a_take(path: Path) -> tuple[SQLiteQueue, list[Any]]:
    q = SQLiteQueue(str(path), lease=30.0)
    q._db.execute("PRAGMA busy_timeout=0")  # give up at once while the file is held
    q.put({"n": 1})
    q.put({"n": 2})
    tickets = [t for t, _ in q.take(1, 0.0)]  # n=1 leased, n=2 waiting
    return q, tickets


@pytest.mark.parametrize("call", CALLS, ids=str)
def test_sqlite_take_and_ack_while_another_writer_holds_the_file(tmp_path: Path, call: str) -> None:
    q, tickets = _queue_with_a_take(tmp_path / "q.db")
    other = sqlite3.connect(tmp_path / "q.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the database
    with pytest.raises(QueueUnavailable, match="database is locked") as info:
        CALLS[call](q, tickets)
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    other.execute("ROLLBACK")
    assert len(q) == 2  # nothing acked
    assert [item["n"] for _, item in q.take(10, 0.0)] == [2]  # nothing leased by the failed take
    other.close()
    q.close()


@pytest.mark.parametrize("call", CALLS, ids=str)
def test_sqlite_take_and_ack_on_a_closed_queue(tmp_path: Path, call: str) -> None:
    q, tickets = _queue_with_a_take(tmp_path / "q.db")
    q.close()
    with pytest.raises(QueueUnavailable, match="closed"):
        CALLS[call](q, tickets)
    again = SQLiteQueue(str(tmp_path / "q.db"))
    assert len(again) == 2
    again.close()


@pytest.mark.parametrize("ticket", ["\ud800", "1", "abc", 1.0])
def test_sqlite_refuses_a_ticket_it_never_gives_out(tmp_path: Path, ticket: Any) -> None:
    # SQLite hands out row ids (ints); a lone surrogate was a bare UnicodeEncodeError
    q, tickets = _queue_with_a_take(tmp_path / "q.db")
    for call in (q.ack, lambda ts: q.ack_settled(ts, _window(), [], [])):
        with pytest.raises(NotificationError, match="ticket="):
            call([*tickets, ticket])
    assert len(q) == 2
    q.close()


@pytest.mark.parametrize("make", ["memory", "sqlite"])
def test_an_unknown_ticket_is_acked_as_a_no_op(tmp_path: Path, make: str) -> None:
    # an ack may arrive after the lease ran out and another worker took and acked the item
    q = MemoryQueue() if make == "memory" else SQLiteQueue(str(tmp_path / "q.db"))
    q.put({"n": 1})
    q.ack([10**6])
    assert len(q) == 1


@pytest.mark.parametrize("call", [*CALLS, "ack_settled with RedisDedup"], ids=str)
def test_redis_take_and_ack_while_the_server_is_stopped(own_redis: Any, call: str) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from designpatterns_ref.notifications.redis_dedup import RedisDedup
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    q = RedisStreamQueue(own_redis.url, "down", claim_idle=60.0)
    dedup = RedisDedup(q.r, "down")
    q.put({"n": 1})
    q.put({"n": 2})
    tickets = [t for t, _ in q.take(1, 0.0)]
    own_redis.stop()
    with pytest.raises(QueueUnavailable, match="'down'") as info:
        if call in CALLS:
            CALLS[call](q, tickets)
        else:
            q.ack_settled(tickets, dedup, ["m1"], [])
    assert isinstance(info.value.__cause__, RedisConnectionError | OSError)
