"""The outbox and the inbox across real process deaths, and under generated crash sequences.

A process is killed (``os._exit``, no cleanup) between the two writes of one operation: the
step record and its outbox event, or the inbox id and the handler's own write. After reopening,
both or neither are there. Then a relay and an inbox are driven through random crashes between
publishing and marking, and between handling and committing, against the model: every event's
effect happens exactly once, in outbox order for the first handling of each.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.workflows import Event, Inbox, Relay, SQLiteLog, WorkflowError
from designpatterns_ref.workflows.durable import MISSING


def _die_in(script: str, *args: str) -> None:
    """Run ``script`` in a new process, which must die with exit code 9 where it says."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 9, proc.stderr


def test_a_process_killed_between_a_record_and_its_event_keeps_neither(tmp_path: Path) -> None:
    db = tmp_path / "wf.db"
    _die_in(
        """
        import os, sys
        from designpatterns_ref.workflows import Event, SQLiteLog

        log = SQLiteLog(sys.argv[1])
        real = log._conn

        class Dies:  # the step's row is written; the process dies before the event's
            def execute(self, *a):
                return real.execute(*a)

            def executemany(self, *a):
                os._exit(9)

        log._conn = Dies()
        log.put("o1", "do:charge", ["ok", 1250], [Event("o1:charged", "payment.charged", "o1")])
        """,
        str(db),
    )
    log = SQLiteLog(db)
    assert log.get("o1", "do:charge") is MISSING
    assert log.pending() == []
    log.put("o1", "do:charge", ["ok", 1250], [Event("o1:charged", "payment.charged", "o1")])
    assert log.get("o1", "do:charge") == ["ok", 1250]
    assert [e.event_id for e in log.pending()] == ["o1:charged"]
    log.close()


def test_a_process_killed_inside_a_handler_keeps_neither_the_id_nor_the_write(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shop.db"
    _die_in(
        """
        import os, sqlite3, sys
        from designpatterns_ref.workflows import Event, Inbox

        conn = sqlite3.connect(sys.argv[1], isolation_level=None)
        conn.execute("CREATE TABLE IF NOT EXISTS credits(order_id TEXT, amount INTEGER)")
        inbox = Inbox(conn)

        def handler(c, e):
            c.execute("INSERT INTO credits VALUES (?, ?)", (e.order_id, 5))
            os._exit(9)  # written, not committed

        inbox.handle(Event("o1:refunded", "payment.refunded", "o1"), handler)
        """,
        str(db),
    )
    conn = sqlite3.connect(db, isolation_level=None)
    inbox = Inbox(conn)
    assert not inbox.seen("o1:refunded")
    assert conn.execute("SELECT count(*) FROM credits").fetchone() == (0,)

    def handler(c: sqlite3.Connection, e: Event) -> None:
        c.execute("INSERT INTO credits VALUES (?, ?)", (e.order_id, 5))

    event = Event("o1:refunded", "payment.refunded", "o1")
    assert inbox.handle(event, handler) is True
    assert inbox.handle(event, handler) is False
    assert conn.execute("SELECT count(*) FROM credits").fetchone() == (1,)
    conn.close()


class Crash(BaseException):
    """The relay's or the consumer's process dies here."""


def _consumer(path: Path) -> tuple[sqlite3.Connection, Inbox]:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("CREATE TABLE IF NOT EXISTS effects(event_id TEXT, n INTEGER)")
    return conn, Inbox(conn)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    batch=st.integers(1, 5),
    crashes=st.lists(st.tuples(st.sampled_from(["relay", "handler"]), st.integers(0, 15))),
)
def test_relay_and_inbox_handle_every_event_once_across_crashes(
    n: int, batch: int, crashes: list[tuple[str, int]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("outbox")
    log = SQLiteLog(tmp / "wf.db")
    for i in range(n):
        log.put(f"o{i}", "outcome", i, [Event(f"o{i}:done", "order.done", f"o{i}", (("i", i),))])
    plan = list(crashes)  # (where, after how many more calls there) in order
    count = {"relay": 0, "handler": 0}
    first: list[str] = []

    def maybe_crash(where: str) -> None:
        if plan and plan[0][0] == where:
            if count[where] >= plan[0][1]:
                plan.pop(0)
                count[where] = 0
                raise Crash(where)
            count[where] += 1

    conn, inbox = _consumer(tmp / "shop.db")

    def handler(c: sqlite3.Connection, e: Event) -> None:
        c.execute("INSERT INTO effects VALUES (?, ?)", (e.event_id, dict(e.data)["i"]))
        maybe_crash("handler")  # the write is made, the transaction not committed
        first.append(e.event_id)

    for _ in range(n + len(crashes) + 2):
        relay = Relay(
            log,
            partial(inbox.handle, handler=handler),
            batch=batch,
            on_point=lambda _name: maybe_crash("relay"),
        )
        try:
            relay.drain()
            break
        except Crash:  # both processes restart: reopen their databases
            log.close()
            conn.close()
            log = SQLiteLog(tmp / "wf.db")
            conn, inbox = _consumer(tmp / "shop.db")
    else:
        pytest.fail(f"the relay never drained; crashes left: {plan}")
    want = [f"o{i}:done" for i in range(n)]
    rows = conn.execute("SELECT event_id, n FROM effects ORDER BY rowid").fetchall()
    assert rows == [(f"o{i}:done", i) for i in range(n)]
    assert first == want
    assert log.pending() == []
    assert all(inbox.seen(e) for e in want)
    assert all(log.get(f"o{i}", "outcome") == i for i in range(n))
    assert log.get("o0", "nothing") is MISSING
    log.close()
    conn.close()


def test_one_log_shared_by_threads_keeps_every_record_and_event(tmp_path: Path) -> None:
    log = SQLiteLog(tmp_path / "wf.db")
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(50):
                key = f"do:s{i}"
                log.put(f"w{t}", key, [t, i], [Event(f"w{t}:{i}", "step.done", f"w{t}")])
                assert log.get(f"w{t}", key) == [t, i]
                if i % 7 == 0:
                    log.mark_published([e.event_id for e in log.pending(5)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    for t in range(4):
        got: dict[str, Any] = log.results(f"w{t}")
        assert got == {f"do:s{i}": [t, i] for i in range(50)}
    pending = {e.event_id for e in log.pending(1000)}
    published = 200 - len(pending)
    assert published >= 0 and pending <= {f"w{t}:{i}" for t in range(4) for i in range(50)}
    log.close()


def _credits() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE credits(order_id TEXT PRIMARY KEY)")
    conn.execute("INSERT INTO credits VALUES ('o1')")
    return conn


def test_a_handler_error_that_ended_the_transaction_reaches_the_caller() -> None:
    """A statement of the handler's that SQLite answers by rolling the transaction back
    (``INSERT OR ROLLBACK``, a full disk) raises its own error, not "cannot rollback"."""
    conn = _credits()
    inbox = Inbox(conn)

    def handler(c: sqlite3.Connection, e: Event) -> None:
        c.execute("INSERT OR ROLLBACK INTO credits VALUES (?)", (e.order_id,))

    with pytest.raises(sqlite3.IntegrityError):
        inbox.handle(Event("o1:credit", "payment.refunded", "o1"), handler)
    assert not inbox.seen("o1:credit") and not conn.in_transaction
    assert inbox.handle(Event("o1:credit", "payment.refunded", "o1"), lambda c, e: None)


@pytest.mark.parametrize("ending", ["COMMIT", "ROLLBACK"])
def test_a_handler_that_ends_the_inbox_transaction_is_refused(ending: str) -> None:
    """The handler's writes and the event id commit together or not at all: a handler that
    commits or rolls back on its own would break that; it is refused with WorkflowError, and
    neither its write nor the id is kept."""
    conn = _credits()
    inbox = Inbox(conn)

    def handler(c: sqlite3.Connection, e: Event) -> None:
        c.execute("INSERT INTO credits VALUES (?)", (e.order_id,))
        c.execute(ending)

    with pytest.raises(WorkflowError, match=f"ran {ending} on the inbox's transaction; refused"):
        inbox.handle(Event("o2:credit", "payment.refunded", "o2"), handler)
    assert not conn.in_transaction and not inbox.seen("o2:credit")
    assert conn.execute("SELECT count(*) FROM credits").fetchone() == (1,)
    assert inbox.handle(Event("o3:credit", "payment.refunded", "o3"), lambda c, e: None)


class FailingCommit:
    """A connection whose next COMMIT fails before it reaches SQLite (an I/O error or a busy
    database there), leaving the transaction open, as SQLite may."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.armed = True

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT" and self.armed:
            self.armed = False
            raise sqlite3.OperationalError("disk I/O error")
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def test_a_failed_commit_of_a_record_leaves_the_log_as_it_was(tmp_path: Path) -> None:
    """The record is not visible as if committed, and the log takes the next put."""
    log = SQLiteLog(tmp_path / "wf.db")
    log._conn = FailingCommit(log._conn)  # type: ignore[assignment]
    charged = [Event("o1:charged", "payment.charged", "o1")]
    with pytest.raises(WorkflowError, match=r"SQLiteLog\.put: the database failed: disk I/O"):
        log.put("o1", "do:charge", ["ok", 1250], charged)
    assert log.get("o1", "do:charge") is MISSING and log.pending() == []
    log.put("o1", "do:charge", ["ok", 1250], charged)
    log.close()
    again = SQLiteLog(tmp_path / "wf.db")
    assert again.get("o1", "do:charge") == ["ok", 1250]
    assert [e.event_id for e in again.pending()] == ["o1:charged"]
    again.close()


def test_a_failed_commit_of_a_mark_leaves_the_outbox_as_it_was(tmp_path: Path) -> None:
    log = SQLiteLog(tmp_path / "wf.db")
    log.put("o1", "outcome", "delivered", [Event("o1:delivered", "order.delivered", "o1")])
    log._conn = FailingCommit(log._conn)  # type: ignore[assignment]
    with pytest.raises(WorkflowError, match=r"mark_published: the database failed: disk I/O"):
        log.mark_published(["o1:delivered"])
    assert [e.event_id for e in log.pending()] == ["o1:delivered"]
    log.mark_published(["o1:delivered"])
    assert log.pending() == []
    log.put("o2", "outcome", "delivered")
    log.close()


def test_a_failed_commit_of_a_handled_event_leaves_the_inbox_as_it_was() -> None:
    conn = _credits()
    inbox = Inbox(conn)
    inbox.conn = FailingCommit(conn)  # type: ignore[assignment]

    def handler(c: sqlite3.Connection, e: Event) -> None:
        c.execute("INSERT INTO credits VALUES (?)", (e.order_id,))

    event = Event("o2:credit", "payment.refunded", "o2")
    with pytest.raises(WorkflowError, match=r"Inbox\.handle: the database failed: disk I/O"):
        inbox.handle(event, handler)
    assert not inbox.seen("o2:credit")
    assert conn.execute("SELECT count(*) FROM credits").fetchone() == (1,)
    assert inbox.handle(event, handler) is True
    assert conn.execute("SELECT count(*) FROM credits").fetchone() == (2,)


def test_the_relay_counts_what_it_published_when_the_broker_fails_mid_batch() -> None:
    """``Relay.published`` counts every event handed over and marked, also those of a batch
    that a broker failure cut short."""
    log = SQLiteLog(":memory:")
    for i in range(5):
        log.put(f"o{i}", "outcome", i, [Event(f"o{i}:done", "order.done", f"o{i}")])
    sent: list[str] = []

    def publish(event: Event) -> None:
        if event.event_id == "o2:done" and "o2:done" not in sent:
            sent.append("o2:done")
            raise ConnectionError("broker down")
        sent.append(event.event_id)

    relay = Relay(log, publish, batch=10)
    with pytest.raises(ConnectionError):
        relay.run_once()
    assert relay.published == 2 == 5 - len(log.pending())
    assert relay.drain() == 3
    assert relay.published == 5 and log.pending() == []


def test_one_inbox_shared_by_threads_handles_each_event_once(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.db")
    inbox.conn.execute("CREATE TABLE effects(event_id TEXT)")
    wins: list[str] = []
    errors: list[BaseException] = []

    def handler(c: sqlite3.Connection, e: Event) -> None:
        c.execute("INSERT INTO effects VALUES (?)", (e.event_id,))

    def work() -> None:
        try:
            for i in range(40):
                event = Event(f"e{i}", "order.done", f"o{i}")
                if inbox.handle(event, handler):
                    wins.append(event.event_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert sorted(wins) == sorted(f"e{i}" for i in range(40))
    rows = inbox.conn.execute("SELECT event_id FROM effects").fetchall()
    assert sorted(r[0] for r in rows) == sorted(wins)


def test_the_world_takes_side_effects_and_notifications_from_two_threads() -> None:
    """A relay thread notifying while the saga's thread charges: the two share the world's
    connection, and neither finds the other's transaction open."""
    from designpatterns_ref.clock import ManualClock
    from designpatterns_ref.workflows import OrderScenario, World

    scenarios = [OrderScenario(f"o{i}", 100, True, 60.0, True, 1, False) for i in range(600)]
    world = World(":memory:", scenarios, clock=ManualClock())
    errors: list[BaseException] = []

    def charge() -> None:
        try:
            for s in scenarios:
                world.charge(s.order_id, f"{s.order_id}:charge")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def notify() -> None:
        try:
            for s in scenarios:
                world.notify(Event(f"{s.order_id}:outcome", "saga.delivered", s.order_id))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=charge), threading.Thread(target=notify)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    for s in scenarios:
        assert sorted(world.effects(s.order_id)) == [f"charge:{s.order_id}", f"notify:{s.order_id}"]
