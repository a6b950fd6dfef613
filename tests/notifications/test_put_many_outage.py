"""put_many is all or nothing: a store that fails part-way through a batch adds none of it.

Real failures part-way: Redis past its ``maxmemory`` (with ``noeviction`` every write is refused
once the memory is used up, so a batch bigger than what is left fills it midway), a SQLite file
that reaches its ``max_page_count`` midway (the "disk full" error), and a SQLite file locked by
another writer. The caller sees :class:`QueueUnavailable` and the queue as it was, so retrying
the batch enqueues each item once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.notifications import QueueUnavailable, SQLiteQueue

BATCH = [{"n": i, "pad": "x" * 10_000} for i in range(100)]  # about 1 MB


def test_redis_put_many_that_runs_out_of_memory_midway_adds_nothing(own_redis: Any) -> None:
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    q = RedisStreamQueue(own_redis.url, "oom")
    q.put({"n": -1})
    used = int(q.r.info("memory")["used_memory"])
    q.r.config_set("maxmemory-policy", "noeviction")
    q.r.config_set("maxmemory", used + 200_000)  # room for about a fifth of the batch
    with pytest.raises(QueueUnavailable, match="put_many"):
        q.put_many(BATCH)
    q.r.config_set("maxmemory", 0)
    assert len(q) == 1  # none of the batch: it was partly added
    q.put_many(BATCH)  # the retry adds each item once
    assert len(q) == 1 + len(BATCH)
    assert [item["n"] for _, item in q.take(1000, 0.0)] == [-1, *range(len(BATCH))]


def test_redis_put_many_while_the_server_is_stopped_adds_nothing(own_redis: Any) -> None:
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    q = RedisStreamQueue(own_redis.url, "down")
    own_redis.stop()
    with pytest.raises(QueueUnavailable, match="put_many"):
        q.put_many(BATCH)
    own_redis.restart()  # a server without persistence: the groups come back with a new queue
    q = RedisStreamQueue(own_redis.url, "down")
    assert len(q) == 0
    q.put_many(BATCH)
    assert len(q) == len(BATCH)


def test_sqlite_put_many_that_fills_the_file_midway_adds_nothing(tmp_path: Path) -> None:
    q = SQLiteQueue(str(tmp_path / "q.db"))
    q.put({"n": -1})
    pages = int(q._db.execute("PRAGMA page_count").fetchone()[0])
    q._db.execute(f"PRAGMA max_page_count = {pages + 40}")  # room for part of the batch
    with pytest.raises(QueueUnavailable, match="full"):
        q.put_many(BATCH)
    assert len(q) == 1
    q._db.execute("PRAGMA max_page_count = 1073741823")
    q.put_many(BATCH)
    assert [item["n"] for _, item in q.take(1000, 0.0)] == [-1, *range(len(BATCH))]
    q.close()


def test_sqlite_put_many_while_another_writer_holds_the_file_adds_nothing(tmp_path: Path) -> None:
    q = SQLiteQueue(str(tmp_path / "q.db"))
    q._db.execute("PRAGMA busy_timeout=0")
    other = sqlite3.connect(tmp_path / "q.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(QueueUnavailable, match="locked"):
        q.put_many(BATCH)
    other.execute("ROLLBACK")
    assert len(q) == 0
    q.put_many(BATCH)
    assert len(q) == len(BATCH)
    other.close()
    q.close()
