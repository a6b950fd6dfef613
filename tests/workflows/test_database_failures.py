"""The SQLite step log, inbox and food-delivery world turn their database's failures (a closed
handle, a file another writer keeps locked) into WorkflowError naming the call, and change
nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows import (
    Event,
    Inbox,
    OrderScenario,
    SQLiteLog,
    WorkflowError,
    World,
)

EVENT = Event("e1", "orders", "o1", (("total", 3),))


def test_a_closed_log_refuses_every_call_with_the_familys_error(tmp_path: Path) -> None:
    log = SQLiteLog(tmp_path / "log.db")
    log.put("w1", "charge", {"ok": True}, [EVENT])
    log.close()
    calls = {
        "SQLiteLog.get": lambda: log.get("w1", "charge"),
        "SQLiteLog.put": lambda: log.put("w1", "ship", 1),
        "SQLiteLog.pending": lambda: log.pending(),
        "SQLiteLog.mark_published": lambda: log.mark_published(["e1"]),
        "SQLiteLog.results": lambda: log.results("w1"),
    }
    for where, call in calls.items():
        with pytest.raises(WorkflowError, match=where + ".*closed"):
            call()
    again = SQLiteLog(tmp_path / "log.db")  # nothing changed on the file
    assert again.results("w1") == {"charge": {"ok": True}}
    assert [e.event_id for e in again.pending()] == ["e1"]
    again.close()


def test_a_closed_inbox_refuses_with_the_familys_error(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.db")
    assert inbox.handle(EVENT, lambda conn, event: None)
    inbox.conn.close()
    ran: list[str] = []
    with pytest.raises(WorkflowError, match=r"Inbox\.handle.*closed"):
        inbox.handle(Event("e2", "orders", "o1", ()), lambda conn, event: ran.append("x"))
    with pytest.raises(WorkflowError, match=r"Inbox\.seen.*closed"):
        inbox.seen("e1")
    assert ran == []


def test_a_write_the_file_lock_keeps_out_is_the_familys_error(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    log = SQLiteLog(path)
    log._conn.execute("PRAGMA busy_timeout = 50")  # not the default 30 s: the test waits less
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    with pytest.raises(WorkflowError, match=r"SQLiteLog\.put.*locked"):
        log.put("w1", "charge", 1)
    other.execute("ROLLBACK")
    other.close()
    log.put("w1", "charge", 1)  # and the log works once the lock is gone
    assert log.results("w1") == {"charge": 1}
    log.close()


def test_an_inbox_given_a_closed_connection_is_refused() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.close()
    with pytest.raises(WorkflowError, match=r"Inbox: the database is closed"):
        Inbox(conn)


def test_a_world_closes_its_connection_and_then_refuses_with_the_familys_error(
    tmp_path: Path,
) -> None:
    """``with World(path)`` closes the file's connection on leaving (not at garbage
    collection); afterwards every call that reads or writes the ledger is refused with
    WorkflowError, and the file keeps what was written."""
    s = OrderScenario("o1", 100, True, 1.0, True, 1, False)
    with World(tmp_path / "world.db", [s], clock=ManualClock()) as world:
        world.charge("o1", "k1")
        assert world.notify(EVENT)
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        world.conn.execute("SELECT 1")  # the connection itself is closed
    world.close()  # twice: nothing
    calls = {
        r"World \(charge\)": lambda: world.charge("o1", "k2"),
        r"World \(ticket\)": lambda: world.send_ticket("o1", "k3"),
        r"World\.notify": lambda: world.notify(Event("e2", "orders", "o1", ())),
        r"World\.effects": lambda: world.effects(),
        r"World\.duplicates": lambda: world.duplicates(),
    }
    for where, call in calls.items():
        with pytest.raises(WorkflowError, match=where + ".*closed"):
            call()
    again = World(tmp_path / "world.db", [s], clock=ManualClock())
    assert again.effects() == ["charge:o1", "notify:o1"]
    again.close()
