"""The inbox's transaction is its own: a handler cannot end it, and a call that is refused
keeps nothing, whatever the isolation mode of the consumer's connection.

A handler is driven through generated sequences of writes and transaction statements (COMMIT,
ROLLBACK, BEGIN, ``conn.commit()``, ``with conn:``, its error caught or not) against the model
of one transaction: the call returns True with the id and every write kept, or is refused with
WorkflowError and keeps neither, and a redelivery then runs the handler once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.workflows import Event, Inbox, WorkflowError

#: The isolation modes a caller's connection may come in: autocommit, and Python's default
#: (legacy) mode, which opens a transaction before a write by itself.
MODES = [None, "", "IMMEDIATE"]

EVENT = Event("o1:done", "order.done", "o1")


def _consumer(path: Path, mode: str | None) -> sqlite3.Connection:
    conn = sqlite3.connect(path / "app.db", isolation_level=mode)
    conn.execute("CREATE TABLE IF NOT EXISTS sent(x)")
    conn.commit()
    return conn


def _effects(path: Path) -> int:
    """The writes another connection sees: what is durable."""
    other = sqlite3.connect(path / "app.db")
    try:
        return int(other.execute("SELECT count(*) FROM sent").fetchone()[0])
    finally:
        other.close()


def _write(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO sent VALUES (1)")


def _context(conn: sqlite3.Connection) -> None:
    with conn:  # commits on leaving
        _write(conn)


#: What a handler may do to the connection, by name; all but "write" end the transaction.
ACTIONS: dict[str, Callable[[sqlite3.Connection], object]] = {
    "write": _write,
    "commit()": lambda c: c.commit(),
    "rollback()": lambda c: c.rollback(),
    "COMMIT": lambda c: c.execute("COMMIT"),
    "END": lambda c: c.execute("END"),
    "ROLLBACK": lambda c: c.execute("ROLLBACK"),
    "BEGIN": lambda c: c.execute("BEGIN"),
    "with conn": _context,
    "executescript": lambda c: c.executescript("INSERT INTO sent VALUES (1);"),
}


@pytest.mark.parametrize("mode", MODES)
def test_a_handler_that_rolls_back_and_writes_on_is_refused(
    tmp_path: Path, mode: str | None
) -> None:
    """In Python's default mode the handler's write after ``rollback()`` opened a transaction
    of its own: the inbox committed it without the event id and returned True, so every
    redelivery ran the handler again."""
    conn = _consumer(tmp_path, mode)
    inbox = Inbox(conn)

    def handler(c: sqlite3.Connection, e: Event) -> None:
        c.rollback()
        _write(c)

    for _ in range(3):
        with pytest.raises(WorkflowError, match="refused"):
            inbox.handle(EVENT, handler)
    assert not inbox.seen(EVENT.event_id) and _effects(tmp_path) == 0
    assert inbox.handle(EVENT, lambda c, e: _write(c)) is True
    assert inbox.handle(EVENT, lambda c, e: _write(c)) is False
    assert inbox.seen(EVENT.event_id) and _effects(tmp_path) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_handler_that_commits_is_refused_and_nothing_is_kept(
    tmp_path: Path, mode: str | None
) -> None:
    """A refused call changes nothing: the event id and the write before the COMMIT were
    committed, and a retry was told the event was already handled."""
    conn = _consumer(tmp_path, mode)
    inbox = Inbox(conn)

    def handler(c: sqlite3.Connection, e: Event) -> None:
        _write(c)
        c.commit()

    with pytest.raises(WorkflowError, match=r"refused.*nothing of this call is kept"):
        inbox.handle(EVENT, handler)
    assert not inbox.seen(EVENT.event_id) and _effects(tmp_path) == 0
    assert not conn.in_transaction
    assert inbox.handle(EVENT, lambda c, e: _write(c)) is True
    assert _effects(tmp_path) == 1


def test_a_handler_that_removes_the_event_id_is_refused(tmp_path: Path) -> None:
    conn = _consumer(tmp_path, None)
    inbox = Inbox(conn)

    def handler(c: sqlite3.Connection, e: Event) -> None:
        _write(c)
        c.execute("DELETE FROM inbox WHERE event_id = ?", (e.event_id,))

    with pytest.raises(WorkflowError, match="removed the event id"):
        inbox.handle(EVENT, handler)
    assert not inbox.seen(EVENT.event_id) and _effects(tmp_path) == 0


def test_a_rollback_by_sqlite_that_the_handler_ignores_is_told_truthfully(tmp_path: Path) -> None:
    """SQLite itself rolls the transaction back (``INSERT OR ROLLBACK``); a handler that catches
    the error and writes on, in autocommit mode, commits that write on its own. The inbox
    cannot undo it, and says so rather than claim the call was refused whole."""
    conn = _consumer(tmp_path, None)
    conn.execute("CREATE TABLE credits(order_id TEXT PRIMARY KEY)")
    conn.execute("INSERT INTO credits VALUES ('o1')")
    inbox = Inbox(conn)

    def handler(c: sqlite3.Connection, e: Event) -> None:
        try:
            c.execute("INSERT OR ROLLBACK INTO credits VALUES (?)", (e.order_id,))
        except sqlite3.IntegrityError:
            _write(c)

    with pytest.raises(WorkflowError, match=r"event id is not recorded.*committed on its own"):
        inbox.handle(EVENT, handler)
    assert not inbox.seen(EVENT.event_id) and _effects(tmp_path) == 1


@settings(max_examples=60, deadline=None)
@given(
    mode=st.sampled_from(MODES),
    script=st.lists(
        st.tuples(st.sampled_from(sorted(ACTIONS)), st.booleans()), min_size=0, max_size=5
    ),
)
def test_a_handled_event_is_one_transaction_whatever_the_handler_does(
    tmp_path_factory: pytest.TempPathFactory,
    mode: str | None,
    script: list[tuple[str, bool]],
) -> None:
    """The model: a script of writes only is kept whole (True, the id and every write); a
    script with a transaction statement in it, its error caught by the handler or not, is
    refused with WorkflowError and keeps nothing. A redelivery then behaves as the model says."""
    path = tmp_path_factory.mktemp("inbox")
    conn = _consumer(path, mode)
    inbox = Inbox(conn)

    def handler(c: sqlite3.Connection, e: Event) -> None:
        for name, caught in script:
            try:
                ACTIONS[name](c)
            except sqlite3.Error:
                if not caught:
                    raise

    writes = sum(name in ("write", "with conn", "executescript") for name, _ in script)
    if all(name == "write" for name, _ in script):
        assert inbox.handle(EVENT, handler) is True
        assert inbox.seen(EVENT.event_id) and _effects(path) == writes
        assert inbox.handle(EVENT, handler) is False
    else:
        with pytest.raises(WorkflowError):
            inbox.handle(EVENT, handler)
        assert not inbox.seen(EVENT.event_id) and _effects(path) == 0
        assert inbox.handle(EVENT, lambda c, e: _write(c)) is True
        assert _effects(path) == 1
    assert not conn.in_transaction
    conn.close()


def _in_thread(call: Callable[[], object]) -> BaseException | None:
    """What ``call`` raises in another thread (a relay's), or None."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return raised[0] if raised else None


def test_a_connection_bound_to_its_thread_is_the_familys_error_elsewhere(tmp_path: Path) -> None:
    """sqlite3's default ``check_same_thread=True`` refuses a relay thread with a bare
    ProgrammingError; the inbox names the call and the way out, and changes nothing."""
    conn = sqlite3.connect(tmp_path / "app.db")
    inbox = Inbox(conn)
    calls: list[Callable[[], object]] = [
        lambda: inbox.handle(EVENT, lambda c, e: None),
        lambda: inbox.seen(EVENT.event_id),
        lambda: Inbox(conn),
    ]
    for call in calls:
        exc = _in_thread(call)
        assert isinstance(exc, WorkflowError), repr(exc)
        assert "check_same_thread=False" in str(exc)
    assert not conn.in_transaction and not inbox.seen(EVENT.event_id)
    assert inbox.handle(EVENT, lambda c, e: None) is True  # in its own thread it works
