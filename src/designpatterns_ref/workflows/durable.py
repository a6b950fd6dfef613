"""Durable execution: every step's result is written to a log before the next step starts.

Case study: Design a Food Delivery App (docs/case-studies/food-delivery.md)

The idea behind Temporal and DBOS, in miniature. A workflow is ordinary code whose every step
goes through the log: a step already recorded is not run again, its recorded result is replayed.
A worker killed at any point restarts, replays the log up to where it died and carries on, so a
completed step's side effect never happens twice. One gap is left, and no log can close it:
between a side effect (a charge) and the record of it, a crash loses the record, so the step
runs again on restart; the remote side must therefore take an idempotency key (the workflow id
and step name) and answer a repeat with the first answer. Events the step wants to announce are
written in the same transaction as its record (the transactional outbox, see
:mod:`~designpatterns_ref.workflows.outbox`), so a step is recorded and announced, or neither.

:class:`SQLiteLog` is the durable log (WAL, ``synchronous=FULL`` by default: a record survives
power loss once :meth:`put` returns); :class:`MemoryLog` is the same interface without
durability, the baseline the benchmark compares against.

Complexity: O(1) lookups and one transaction (one fsync at ``FULL``) per recorded step.

>>> log = SQLiteLog(":memory:")
>>> log.get("order-1", "do:charge") is MISSING
True
>>> log.put("order-1", "do:charge", ["ok", {"amount": 1250}])
>>> log.get("order-1", "do:charge")
['ok', {'amount': 1250}]
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from designpatterns_ref.errors import shown
from designpatterns_ref.workflows.base import (
    Event,
    WorkflowError,
    WorkflowTypeError,
    check_count,
    check_name,
)

__all__ = ["MISSING", "MemoryLog", "SQLiteLog", "StepLog", "Synchronous"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: What :meth:`StepLog.get` returns for a step that has no record.
MISSING: Any = _Missing()

Synchronous = Literal["OFF", "NORMAL", "FULL"]


@runtime_checkable
class StepLog(Protocol):
    """Where a workflow's step results (and the events they announce) are recorded.

    Results are JSON values: the orchestrator hands a log each record already put through
    JSON, so a log that stores it as given, or encodes it as the two logs here do, gives back
    a value equal to the one the run that recorded it went on with.
    """

    def get(self, workflow_id: str, key: str) -> Any:
        """The recorded result, or :data:`MISSING`."""
        ...

    def put(self, workflow_id: str, key: str, result: Any, events: Sequence[Event] = ()) -> None:
        """Record ``result`` and queue ``events`` in the outbox, atomically.

        A key already recorded, or an event id already in the outbox or given twice, is
        refused with :class:`~designpatterns_ref.workflows.WorkflowError` and nothing is kept.
        """
        ...

    def pending(self, limit: int = 100) -> list[Event]:
        """Outbox events not yet marked published, oldest first.

        Each as the log gives it back: its data's values through JSON and its names sorted
        (an event whose data names a field twice is refused by :meth:`put`).
        """
        ...

    def mark_published(self, event_ids: Sequence[str]) -> None:
        """Mark outbox events as published."""
        ...


def _encode(where: str, result: Any) -> str:
    try:
        return json.dumps(result, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise WorkflowTypeError(
            f"{where}: result={shown(result, 80)} must be JSON (dicts, lists, str, finite numbers, "
            f"bools, None): {exc}"
        ) from None


def _check_events(where: str, events: Sequence[Event]) -> list[tuple[str, str, str, str]]:
    """The outbox rows of ``events``; WorkflowError if one is not an Event or an id repeats
    (the outbox holds an id once, so a second event of the same id would be lost)."""
    if not isinstance(events, list | tuple):
        raise WorkflowTypeError(f"{where}: events={shown(events, 80)} must be a list of Event")
    rows = []
    ids: set[str] = set()
    for event in events:
        if not isinstance(event, Event):
            raise WorkflowTypeError(f"{where}: event {shown(event, 80)} must be an Event")
        event_id = check_name(where, "event_id", event.event_id)
        if event_id in ids:
            raise WorkflowError(
                f"{where}: event_id={shown(event_id, 80)} appears twice in events; "
                "each event of a call needs an id of its own"
            )
        ids.add(event_id)
        names = [name for name, _ in event.data]
        if len(set(names)) != len(names):
            raise WorkflowError(
                f"{where}: event {shown(event_id, 80)} data={shown(event.data, 80)} names a "
                "field twice; the outbox keeps one value a name"
            )
        rows.append(
            (
                event_id,
                check_name(where, "topic", event.topic),
                check_name(where, "order_id", event.order_id),
                _encode(where, dict(event.data)),
            )
        )
    return rows


def _event(row: Sequence[str]) -> Event:
    """The event of an outbox row, as every log gives it back: its data through JSON (a tuple
    is a list), the names in sorted order."""
    event_id, topic, order_id, data = row
    return Event(event_id, topic, order_id, tuple(sorted(json.loads(data).items())))


def _check_ids(where: str, workflow_id: object, key: object) -> None:
    check_name(where, "workflow_id", workflow_id)
    check_name(where, "key", key)


def _check_list(where: str, event_ids: object) -> None:
    if not isinstance(event_ids, list | tuple):
        raise WorkflowTypeError(f"{where}: event_ids={shown(event_ids, 80)} must be a list")
    for i in event_ids:
        check_name(where, "event_id", i)


@contextmanager
def database(where: str) -> Iterator[None]:
    """Run the library's own statements: whatever sqlite3 raises (a closed handle, a connection
    used outside the thread that made it, a file another writer keeps locked past the timeout,
    a full disk, a damaged file) becomes :class:`~designpatterns_ref.workflows.WorkflowError`
    naming the call. A failed statement leaves no write behind: each call's writes are one
    transaction, rolled back on failure."""
    try:
        yield
    except sqlite3.ProgrammingError as exc:
        if "thread" in str(exc):  # sqlite3 refused before running anything
            raise WorkflowError(
                f"{where}: the connection was made in another thread with check_same_thread=True "
                "(sqlite3's default), which refuses every other thread; connect with "
                "check_same_thread=False to share it between threads"
            ) from None
        if "closed" in str(exc):
            raise WorkflowError(f"{where}: the database is closed") from None
        raise WorkflowError(f"{where}: the database refused the statement: {exc}") from exc
    except sqlite3.Error as exc:
        raise WorkflowError(f"{where}: the database failed: {exc}") from exc


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not rolled it back already."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _commit(conn: sqlite3.Connection) -> None:
    """Commit, or roll back and raise: a COMMIT that fails (an I/O error, a full disk) may
    leave the transaction open, and its writes would then read as recorded until the process
    dies and lose them, and block every later write of this connection."""
    try:
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


class MemoryLog:
    """The step log in a dictionary: the same interface, no durability (a baseline)."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, str], str] = {}
        self._outbox: dict[str, tuple[Event, bool]] = {}

    def get(self, workflow_id: str, key: str) -> Any:
        if workflow_id.__class__ is not str or key.__class__ is not str:
            _check_ids("MemoryLog.get", workflow_id, key)
        raw = self._steps.get((workflow_id, key))
        return MISSING if raw is None else json.loads(raw)

    def put(self, workflow_id: str, key: str, result: Any, events: Sequence[Event] = ()) -> None:
        check_name("MemoryLog.put", "workflow_id", workflow_id)
        check_name("MemoryLog.put", "key", key)
        raw = _encode("MemoryLog.put", result)
        rows = _check_events("MemoryLog.put", events)
        if (workflow_id, key) in self._steps:
            raise WorkflowError(
                f"MemoryLog.put: {shown(workflow_id)}/{shown(key)} is already recorded"
            )
        if any(e.event_id in self._outbox for e in events):
            raise WorkflowError("MemoryLog.put: an event id is already in the outbox")
        self._steps[(workflow_id, key)] = raw
        for row in rows:
            self._outbox[row[0]] = (_event(row), False)

    def pending(self, limit: int = 100) -> list[Event]:
        check_count("MemoryLog.pending", "limit", limit, 1, 10**9)
        return [e for e, done in self._outbox.values() if not done][:limit]

    def mark_published(self, event_ids: Sequence[str]) -> None:
        _check_list("MemoryLog.mark_published", event_ids)
        for event_id in event_ids:
            if event_id in self._outbox:
                self._outbox[event_id] = (self._outbox[event_id][0], True)

    def __len__(self) -> int:
        return len(self._steps)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS steps(
    workflow_id TEXT NOT NULL, key TEXT NOT NULL, result TEXT NOT NULL,
    PRIMARY KEY (workflow_id, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, topic TEXT NOT NULL,
    order_id TEXT NOT NULL, data TEXT NOT NULL, published INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(published, seq);
"""


class SQLiteLog:
    """The durable step log and its outbox, in one SQLite database (``":memory:"`` allowed).

    Safe to share between threads (one lock around the connection); one worker per workflow.
    """

    def __init__(self, path: str | Path, *, synchronous: Synchronous = "FULL") -> None:
        if not isinstance(path, str | Path) or (isinstance(path, str) and not path):
            raise WorkflowTypeError(f"SQLiteLog: path={shown(path, 80)} must be a non-empty path")
        if synchronous not in ("OFF", "NORMAL", "FULL"):
            raise WorkflowError(
                f"SQLiteLog: synchronous={shown(synchronous, 80)} must be 'OFF', 'NORMAL' or 'FULL'"
            )
        try:
            self._conn = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=30
            )
        except (sqlite3.Error, ValueError) as exc:
            raise WorkflowError(f"SQLiteLog: cannot open path={shown(path, 80)}: {exc}") from None
        self._lock = threading.Lock()
        self.path = str(path)
        try:  # the first statements read the file: one that is not a database fails here
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise WorkflowError(
                f"SQLiteLog: path={shown(path, 80)} is not a database: {exc}"
            ) from None

    def get(self, workflow_id: str, key: str) -> Any:
        if workflow_id.__class__ is not str or key.__class__ is not str:
            _check_ids("SQLiteLog.get", workflow_id, key)
        try:
            with self._lock, database("SQLiteLog.get"):
                row = self._conn.execute(
                    "SELECT result FROM steps WHERE workflow_id = ? AND key = ?",
                    (workflow_id, key),
                ).fetchone()
        except UnicodeEncodeError:
            _check_ids("SQLiteLog.get", workflow_id, key)
            raise
        return MISSING if row is None else json.loads(row[0])

    def put(self, workflow_id: str, key: str, result: Any, events: Sequence[Event] = ()) -> None:
        check_name("SQLiteLog.put", "workflow_id", workflow_id)
        check_name("SQLiteLog.put", "key", key)
        raw = _encode("SQLiteLog.put", result)
        rows = _check_events("SQLiteLog.put", events)
        with self._lock, database("SQLiteLog.put"):
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT INTO steps(workflow_id, key, result) VALUES (?, ?, ?)",
                    (workflow_id, key, raw),
                )
                conn.executemany(
                    "INSERT INTO outbox(event_id, topic, order_id, data) VALUES (?, ?, ?, ?)", rows
                )
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK")
                raise WorkflowError(
                    f"SQLiteLog.put: {shown(workflow_id)}/{shown(key)} or one of its events is "
                    "already "
                    f"recorded ({exc})"
                ) from None
            except BaseException:
                _rollback(conn)
                raise
            _commit(conn)

    def pending(self, limit: int = 100) -> list[Event]:
        check_count("SQLiteLog.pending", "limit", limit, 1, 10**9)
        with self._lock, database("SQLiteLog.pending"):
            rows = self._conn.execute(
                "SELECT event_id, topic, order_id, data FROM outbox WHERE published = 0 "
                "ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [_event(row) for row in rows]

    def mark_published(self, event_ids: Sequence[str]) -> None:
        _check_list("SQLiteLog.mark_published", event_ids)
        with self._lock, database("SQLiteLog.mark_published"):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "UPDATE outbox SET published = 1 WHERE event_id = ?", [(i,) for i in event_ids]
                )
            except BaseException:
                _rollback(self._conn)
                raise
            _commit(self._conn)

    def results(self, workflow_id: str) -> dict[str, Any]:
        """Every recorded step of one workflow, by key."""
        check_name("SQLiteLog.results", "workflow_id", workflow_id)
        with self._lock, database("SQLiteLog.results"):
            rows = self._conn.execute(
                "SELECT key, result FROM steps WHERE workflow_id = ?", (workflow_id,)
            ).fetchall()
        return {k: json.loads(r) for k, r in rows}

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()
