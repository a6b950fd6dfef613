"""The transactional outbox and the deduplicating inbox: events sent once, handled once.

Case study: Design a Food Delivery App (docs/case-studies/food-delivery.md)

A service that changes its database and then publishes an event can crash between the two: the
change is there and the event is lost (or, publishing first, the event is out and the change is
lost). The outbox writes the event into a table of the same database, in the same transaction as
the change (:meth:`~designpatterns_ref.workflows.SQLiteLog.put` does), so from the database's
point of view every event exists exactly once. A :class:`Relay` then reads unpublished rows in
order, hands them to the broker and marks them published. A crash after handing over and before
marking sends the event again, so delivery is at least once; the consumer's :class:`Inbox`
makes the handling exactly once: it records each event id in the same transaction as the
handler's own writes, and skips an id it has seen.

Complexity: one read and one update per relay batch; one primary-key insert per handled event.

>>> from designpatterns_ref.workflows.durable import MemoryLog
>>> from designpatterns_ref.workflows.base import Event
>>> log = MemoryLog()
>>> log.put("o1", "outcome", "delivered", [Event("o1:delivered", "order.delivered", "o1")])
>>> inbox = Inbox(":memory:")
>>> seen = []
>>> relay = Relay(log, lambda e: inbox.handle(e, lambda conn, ev: seen.append(ev.topic)))
>>> relay.run_once(), relay.run_once()
(1, 0)
>>> inbox.handle(Event("o1:delivered", "order.delivered", "o1"), lambda c, e: seen.append(e))
False
>>> seen
['order.delivered']
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from designpatterns_ref.errors import shown
from designpatterns_ref.workflows.base import (
    Event,
    WorkflowError,
    WorkflowTypeError,
    check_count,
    check_name,
)
from designpatterns_ref.workflows.durable import StepLog, _commit, _rollback, database

__all__ = ["Inbox", "Relay"]


class Relay:
    """Moves outbox events to ``publish`` in order, then marks them published.

    ``on_point(name)`` is called between the two (``"relay.published"``): the crash window a
    test kills the process in. :attr:`published` counts the events handed over and marked,
    one at a time, so a failure of ``publish`` in the middle of a batch leaves it exact.
    """

    def __init__(
        self,
        log: StepLog,
        publish: Callable[[Event], object],
        *,
        batch: int = 100,
        on_point: Callable[[str], object] | None = None,
    ) -> None:
        if not isinstance(log, StepLog):
            raise WorkflowTypeError(f"Relay: log={shown(log, 80)} must be a StepLog")
        if not callable(publish):
            raise WorkflowTypeError(f"Relay: publish={shown(publish, 80)} must be callable")
        if on_point is not None and not callable(on_point):
            raise WorkflowTypeError(f"Relay: on_point={shown(on_point, 80)} must be callable")
        self.log = log
        self.publish = publish
        self.batch = check_count("Relay", "batch", batch, 1, 100_000)
        self.on_point = on_point
        self.published = 0

    def run_once(self) -> int:
        """Publish one batch of pending events; the number published."""
        events = self.log.pending(self.batch)
        for event in events:
            self.publish(event)
            if self.on_point is not None:
                self.on_point("relay.published")
            self.log.mark_published([event.event_id])
            self.published += 1
        return len(events)

    def drain(self) -> int:
        """Publish until the outbox is empty; the number published."""
        total = 0
        while n := self.run_once():
            total += n
        return total


def _no_open_transaction(where: str, conn: sqlite3.Connection) -> None:
    """WorkflowError if ``conn`` has a transaction open: the inbox begins its own, and cannot
    inside one (nor commit the caller's writes, or roll them back, on the caller's behalf)."""
    if conn.in_transaction:
        raise WorkflowError(
            f"{where}: the connection has a transaction open (a write not yet committed); "
            "commit or roll it back first, or open the connection with isolation_level=None"
        )


class _TransactionGuard:
    """An SQLite authorizer that refuses every BEGIN, COMMIT and ROLLBACK (a savepoint passes)
    and notes each one: while it is set, a transaction that is open stays open."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def __call__(self, action: int, arg1: str | None, *_: str | None) -> int:
        if action == sqlite3.SQLITE_TRANSACTION:
            self.refused.append(arg1 or "?")
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def message(self, event_id: str) -> str:
        return (
            f"Inbox.handle: the handler of event_id={shown(event_id, 80)} ran "
            f"{', '.join(dict.fromkeys(self.refused))} on the inbox's transaction; refused, and "
            "nothing of this call is kept: the handler's writes and the event id commit "
            "together, so beginning, committing and rolling back are the inbox's"
        )


class Inbox:
    """A consumer's record of handled event ids, in the consumer's own SQLite database.

    Given a connection rather than a path, the inbox shares it with the handlers, which write
    through it; each :meth:`handle` runs in a transaction of its own, so a connection with a
    transaction open (Python's default mode leaves one open after a write until ``commit()``)
    is refused with :class:`~designpatterns_ref.workflows.WorkflowError`, here and in
    :meth:`handle`, and the caller's transaction is left as it was. Any ``isolation_level`` will
    do. The inbox may be shared between threads (a lock serialises its calls); a connection
    given to it is then one made with ``check_same_thread=False``, for sqlite3's default
    refuses every thread but its own (a WorkflowError that says so), and whoever else uses
    that connection takes care not to run statements while :meth:`handle` does.
    """

    def __init__(self, path: str | Path | sqlite3.Connection) -> None:
        if isinstance(path, sqlite3.Connection):
            with database("Inbox"):
                _no_open_transaction("Inbox", path)
            self.conn = path
        elif isinstance(path, str | Path) and str(path):
            try:
                self.conn = sqlite3.connect(
                    str(path), isolation_level=None, check_same_thread=False
                )
            except (sqlite3.Error, ValueError) as exc:
                raise WorkflowError(f"Inbox: cannot open path={shown(path, 80)}: {exc}") from None
        else:
            raise WorkflowTypeError(f"Inbox: path={shown(path, 80)} must be a path or a connection")
        self._lock = threading.Lock()
        with database("Inbox"):
            try:  # the first statement reads the file: one that is not a database fails here
                self.conn.execute("CREATE TABLE IF NOT EXISTS inbox(event_id TEXT PRIMARY KEY)")
            except sqlite3.DatabaseError as exc:
                if "not a database" not in str(exc):
                    raise
                raise WorkflowError(
                    f"Inbox: path={shown(path, 80)} is not a database: {exc}"
                ) from None

    def handle(self, event: Event, handler: Callable[[sqlite3.Connection, Event], object]) -> bool:
        """Run ``handler(conn, event)`` once per event id, in one transaction with the id.

        Returns False (and runs nothing) for an id already handled. An exception from the
        handler rolls both back and reaches the caller. The transaction is the inbox's: while
        the handler runs, SQLite refuses its ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` (also those
        of ``conn.commit()``, ``conn.rollback()``, ``with conn:`` and ``executescript``;
        savepoints are allowed), and the call is refused with
        :class:`~designpatterns_ref.workflows.WorkflowError` keeping nothing, neither the id nor
        the handler's writes, even if the handler caught the refusal. So is a handler that
        deletes the id. The refusal works through the connection's authorizer, which the inbox
        sets while the handler runs and clears after: one the caller set is gone.
        """
        if not isinstance(event, Event):
            raise WorkflowTypeError(f"Inbox.handle: event={shown(event, 80)} must be an Event")
        if not callable(handler):
            raise WorkflowTypeError(f"Inbox.handle: handler={shown(handler, 80)} must be callable")
        guard = _TransactionGuard()
        with self._lock:
            conn = self.conn
            with database("Inbox.handle"):  # the inbox's statements; not the handler's
                _no_open_transaction("Inbox.handle", conn)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute("INSERT INTO inbox(event_id) VALUES (?)", (event.event_id,))
                except sqlite3.IntegrityError:
                    conn.execute("ROLLBACK")
                    return False
                except BaseException:
                    _rollback(conn)
                    raise
                conn.set_authorizer(guard)
            try:
                handler(conn, event)
            except BaseException as exc:
                with database("Inbox.handle"):
                    conn.set_authorizer(None)
                    _rollback(conn)  # unless SQLite rolled back already (INSERT OR ROLLBACK)
                if guard.refused:
                    raise WorkflowError(guard.message(event.event_id)) from exc
                raise
            with database("Inbox.handle"):
                conn.set_authorizer(None)
                problem = self._broken(conn, event.event_id, guard)
                if problem is None:
                    _commit(conn)
                    return True
                _rollback(conn)
            raise WorkflowError(problem)

    @staticmethod
    def _broken(conn: sqlite3.Connection, event_id: str, guard: _TransactionGuard) -> str | None:
        """Why the transaction the handler leaves cannot commit as the handled event, or None."""
        if guard.refused:  # the handler caught the refusal and went on
            return guard.message(event_id)
        if not conn.in_transaction:
            return (
                f"Inbox.handle: SQLite rolled back the transaction of event_id="
                f"{shown(event_id, 80)} while its handler ran (a statement with ON CONFLICT "
                "ROLLBACK, or a failure such as a full disk) and the handler went on; the event "
                "id is not recorded, so a redelivery runs the handler again, and a write the "
                "handler made after the rollback committed on its own"
            )
        row = conn.execute("SELECT 1 FROM inbox WHERE event_id = ?", (event_id,)).fetchone()
        if row is None:
            return (
                f"Inbox.handle: the handler of event_id={shown(event_id, 80)} removed the event "
                "id from the inbox; refused, and nothing of this call is kept"
            )
        return None

    def seen(self, event_id: str) -> bool:
        """Whether ``event_id`` was handled."""
        check_name("Inbox.seen", "event_id", event_id)
        with self._lock, database("Inbox.seen"):
            row = self.conn.execute(
                "SELECT 1 FROM inbox WHERE event_id = ?", (event_id,)
            ).fetchone()
        return row is not None
