"""A queue whose store fails at accept: the key stays unseen, the outbox row stays pending."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import (
    Notification,
    Outbox,
    Pipeline,
    QueueUnavailable,
    SQLiteQueue,
)


class LockedSometimes(SQLiteQueue):
    """A real SQLite queue whose file another connection holds during the chosen puts."""

    def __init__(self, path: str, fail_at: set[int]) -> None:
        super().__init__(path, name="accepted")
        self._db.execute("PRAGMA busy_timeout=0")  # give up at once while the file is held
        self.fail_at, self.calls = fail_at, 0
        self.other = sqlite3.connect(path, isolation_level=None)

    def put(self, item: dict[str, Any], *, lane: str = "normal", at: float = 0.0) -> None:
        self.calls += 1
        held = self.calls in self.fail_at
        if held:
            self.other.execute("BEGIN IMMEDIATE")  # another writer holds the database
        try:
            super().put(item, lane=lane, at=at)
        finally:
            if held:
                self.other.execute("ROLLBACK")


def _pipeline(queue: Any) -> Pipeline:
    p = Pipeline(clock=ManualClock(1_780_000_000.0), accepted=queue)
    p.templates.add("ship", "order {id} shipped")
    p.register_user("ada")
    p.add_device("ada", "fcm", "tok")
    return p


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 6), fail_at=st.sets(st.integers(1, 12), max_size=8))
@example(rows=1, fail_at={1})
@example(rows=3, fail_at={1, 2, 3, 4, 5})
def test_relay_through_a_locked_queue_publishes_each_row_once_in_order(
    rows: int, fail_at: set[int]
) -> None:
    d = tempfile.mkdtemp()
    q = LockedSometimes(os.path.join(d, "q.db"), fail_at)
    p = _pipeline(q)
    box = Outbox(os.path.join(d, "shop.db"))
    keys = [f"ship-{i}" for i in range(rows)]
    for i, key in enumerate(keys):
        with box.transaction() as tx:
            box.add(tx, key=key, template="ship", users=("ada",), vars={"id": str(i)},
                    channels=("fcm",))  # fmt: skip
    for _ in range(len(fail_at) + 1):
        with contextlib.suppress(QueueUnavailable):  # a relay cut by the outage: rows stay
            box.relay(p)
        assert box.failed() == []  # an outage never fails a row
    published = box.db.execute("SELECT count(*) FROM outbox WHERE published = 1").fetchone()[0]
    assert box.pending() == 0 and published == rows
    assert len(q) == rows  # each row enqueued exactly once
    p.run()
    assert [r.key for r in p.receipts if r.status == "delivered"] == keys
    q.other.close()
    q.close()
    box.close()


def test_accept_on_a_locked_queue_raises_unavailable_and_keeps_the_key_unseen(
    tmp_path: Any,
) -> None:
    q = LockedSometimes(str(tmp_path / "q.db"), {1})
    p = _pipeline(q)
    n = Notification("k1", "ship", users=("ada",), vars={"id": "1"}, channels=("fcm",))
    with pytest.raises(QueueUnavailable) as info:
        p.accept(n)
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    assert "k1" not in p.keys and len(q) == 0
    assert p.accept(n) is True and len(q) == 1
    assert p.accept(n) is False and len(q) == 1


def test_accept_and_relay_while_redis_is_down(own_redis: Any, tmp_path: Any) -> None:
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    q = RedisStreamQueue(own_redis.url, "acc")
    p = _pipeline(q)
    n = Notification("k1", "ship", users=("ada",), vars={"id": "1"}, channels=("fcm",))
    box = Outbox(str(tmp_path / "shop.db"))
    with box.transaction() as tx:
        box.add(tx, key="o1", template="ship", users=("ada",), vars={"id": "o1"},
                channels=("fcm",))  # fmt: skip
    own_redis.stop()
    with pytest.raises(QueueUnavailable):
        p.accept(n)
    with pytest.raises(QueueUnavailable):
        box.relay(p)
    assert p.keys == set() and box.pending() == 1 and box.failed() == []
    own_redis.restart()  # a server without persistence: the groups come back with a new queue
    RedisStreamQueue(own_redis.url, "acc")
    assert p.accept(n) is True
    assert box.relay(p) == 1 and box.pending() == 0 and box.failed() == []
    assert len(q) == 2
    p.run()
    assert sorted(r.key for r in p.receipts if r.status == "delivered") == ["k1", "o1"]
