"""A process killed in the middle of an append: the reopened log holds all of it or none.

A child process opens the log, appends a first batch, then appends a second batch through a
connection that kills the process (``os._exit``, no cleanup, no rollback) at one step: as the
rows are inserted, just before the commit, or just after it. The parent reopens the log and a
service over it: the second batch is wholly absent (wholly present only if the commit ran),
the stream's version counts what is there, and the log still takes appends.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from designpatterns_ref.capacity import (
    BedCapacity,
    BedEvent,
    EventLog,
    PostgresEventLog,
    SQLiteEventLog,
    Topology,
    recount,
)
from tests.capacity.test_log import empty_log

CHILD = r"""
import os, sys
from designpatterns_ref.capacity import BedEvent, PostgresEventLog, SQLiteEventLog

engine, where, step = sys.argv[1:4]
log = SQLiteEventLog(where) if engine == "sqlite" else PostgresEventLog(where)
log.append("elm", [BedEvent("e1", "admitted", "elm/a/1", at=1.0)], expected_version=0)


class Dying:
    "The log's connection, killing the process at one step of the append."

    def __init__(self, conn):
        self.conn = conn

    def cursor(self):
        return DyingCursor(self.conn.cursor())

    def commit(self):
        if step == "commit":
            os._exit(9)
        self.conn.commit()
        if step == "committed":
            os._exit(9)

    def __getattr__(self, name):
        return getattr(self.conn, name)


class DyingCursor:
    def __init__(self, cur):
        self.cur = cur

    def executemany(self, sql, rows):
        if step == "insert":
            self.cur.executemany(sql, rows[:1])  # one row written, then the process dies
            os._exit(9)
        return self.cur.executemany(sql, rows)

    def __getattr__(self, name):
        return getattr(self.cur, name)


real = log._conn()
log._conn = lambda: Dying(real)
log.append("elm", [BedEvent("e2", "discharged", "elm/a/1", at=2.0),
                   BedEvent("e3", "admitted", "elm/a/2", at=2.0)], expected_version=1)
os._exit(0)
"""

FIRST = [BedEvent("e1", "admitted", "elm/a/1", at=1.0)]
SECOND = [
    BedEvent("e2", "discharged", "elm/a/1", at=2.0),
    BedEvent("e3", "admitted", "elm/a/2", at=2.0),
]


@pytest.mark.parametrize("step", ["insert", "commit", "committed"])
@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_a_process_killed_mid_append_leaves_all_or_nothing(
    engine: str, step: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    if engine == "sqlite":
        where = f"{tmp_path}/beds.db"

        def reopen() -> EventLog:
            return SQLiteEventLog(where)
    else:
        where = request.getfixturevalue("pg_url")

        def reopen() -> EventLog:
            return PostgresEventLog(where)

        first = reopen()
        empty_log(first)
        first.close()
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, engine, where, step], env=env, timeout=60,
        capture_output=True, text=True,
    )  # fmt: skip
    assert child.returncode == 9, child.stderr
    log = reopen()
    try:
        want = FIRST + SECOND if step == "committed" else FIRST
        assert list(log.read()) == want
        assert log.version("elm") == len(want)
        assert [v for v, _ in log.read_stream("elm")] == list(range(1, len(want) + 1))
        # The log takes appends again, at the version it shows.
        after = log.append("elm", [BedEvent("e4", "blocked", "elm/b/1", at=3.0)],
                           expected_version=len(want))  # fmt: skip
        assert after.version == len(want) + 1
        # A reader that read ``want`` resumes by its count: it may get some again (PostgreSQL's
        # sequence skipped the rolled-back rows), never miss the new event.
        resumed = list(log.read(len(want)))
        assert resumed[-1].event_id == "e4" and set(resumed) <= set(log.read())
        if engine == "sqlite":
            assert [e.event_id for e in resumed] == ["e4"]
        topo = Topology({"north": {"elm": {"a": 2, "b": 1}}})
        svc = BedCapacity(topo, log)
        assert svc.projection.state()[1] == recount(topo, log.read())
    finally:
        log.close()
