"""The append-only event log: SQLite (embedded, the default) or a real PostgreSQL.

Case study: Design a Real-Time Bed Logistics System (docs/case-studies/bed-logistics.md)

One table, ``bed_events``: a global ``position`` (the order of arrival), the ``event_id``
(unique: appending an event twice is a no-op, appending a different event under a used id is
refused), the ``stream`` (the care home) and the event's ``version`` within its stream, unique
per stream. :meth:`EventLog.append` takes ``expected_version``: the stream's version the writer
last saw. If another writer appended since, the whole batch is refused with
:class:`ConcurrencyError` and nothing is written (optimistic concurrency: no lock is held
between reading and writing). ``expected_version=None`` appends whatever the version (the path
for a home's own, already-decided events arriving late).

Appends to one stream take turns, from any number of connections or processes: SQLite's
``BEGIN IMMEDIATE`` holds the whole database, and on PostgreSQL each append first takes a
transaction-scoped advisory lock on its stream, so a second session waits, then reads the
first one's rows. Without it, two READ COMMITTED sessions read the same version and collide
on ``UNIQUE (stream, version)``. So an append with ``expected_version=None`` always lands, and
an event redelivered at the same moment by two sessions is stored once (the second counts it
as a duplicate). An event id is unique across streams, so PostgreSQL appends also lock their
event ids (in one global order, so no two appends deadlock): one id sent to two streams at the
same moment lands once, and the other append is refused as reusing it.
:meth:`EventLog.read_stream` gives one stream's events with their versions, for a reader
catching up from the version it last applied. A second table, ``stream_seen``, keeps when each
stream's writer was last heard from (:meth:`EventLog.mark_seen`, :meth:`EventLog.seen`), so
that every service sharing the log flags the same silent homes.

Complexity: O(batch) rows per append, one transaction (holding its stream's lock), one id
look-up per 500 events and one batched insert; :meth:`EventLog.read` streams the log in
position order.

>>> from designpatterns_ref.capacity.base import BedEvent
>>> log = SQLiteEventLog()
>>> log.append("elm", [BedEvent("e1", "admitted", "elm/a/1", at=1.0)], expected_version=0)
AppendResult(version=1, appended=1, duplicates=0)
>>> log.append("elm", [BedEvent("e1", "admitted", "elm/a/1", at=1.0)])  # delivered twice
AppendResult(version=1, appended=0, duplicates=1)
>>> len(log), log.version("elm")
(1, 1)
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from designpatterns_ref.capacity.base import (
    BedEvent,
    CapacityError,
    ConcurrencyError,
    check_name,
)
from designpatterns_ref.errors import shown

__all__ = ["AppendResult", "EventLog", "PostgresEventLog", "SQLiteEventLog"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bed_events (position {serial} PRIMARY KEY, "
    "event_id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, version INTEGER NOT NULL, "
    "kind TEXT NOT NULL, bed TEXT NOT NULL, to_bed TEXT, at DOUBLE PRECISION NOT NULL, "
    "UNIQUE (stream, version))"
)
#: When each stream's writer was last heard from, on the clock of the service that heard it
#: (an accepted batch or a heartbeat): shared, so every service on the log flags the same homes.
_SEEN_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS stream_seen (stream TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL)"
)
_COLUMNS = "event_id, kind, bed, at, to_bed"
#: The first key of PostgreSQL advisory locks taken on streams (the second is the stream's hash).
_LOCK_SPACE = 0x6265  # "be"
#: The first key of the advisory locks taken on event ids (the second is the id's hash).
_ID_LOCK_SPACE = 0x6269  # "bi"


@dataclass(frozen=True)
class AppendResult:
    """The stream's version after an append, and how many events were new or duplicates
    (``appended + duplicates`` is the batch's length: an event sent twice in one batch is
    stored once and counted once as a duplicate)."""

    version: int
    appended: int
    duplicates: int


def _check_batch(stream: object, events: object, expected: object) -> list[BedEvent]:
    check_name("stream", stream)
    if isinstance(events, str | bytes) or not isinstance(events, Sequence):
        raise CapacityError(f"events={shown(events)} must be a sequence of BedEvent")
    unique: dict[str, BedEvent] = {}
    for e in events:
        if not isinstance(e, BedEvent):
            raise CapacityError(f"event={shown(e)} must be a BedEvent")
        if unique.setdefault(e.event_id, e) != e:
            raise CapacityError(f"event_id={shown(e.event_id)} is used twice for different events")
    if expected is not None and (
        isinstance(expected, bool) or not isinstance(expected, int) or not 0 <= expected < 2**62
    ):
        raise CapacityError(f"expected_version={shown(expected)} must be None or an int >= 0")
    return list(unique.values())


class EventLog:
    """The SQL shared by both engines; subclasses supply connections and placeholders."""

    placeholder = "?"
    integrity_errors: tuple[type[BaseException], ...] = (sqlite3.IntegrityError,)
    database_errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def _conn(self) -> Any:
        raise NotImplementedError

    def _begin(self, conn: Any) -> None:
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    def _lock_stream(self, cur: Any, stream: str) -> None:
        """Hold the stream until the transaction ends (SQLite's BEGIN IMMEDIATE already
        holds the whole database)."""

    def _lock_ids(self, cur: Any, ids: list[str]) -> None:
        """Hold these event ids until the transaction ends, whatever their stream (SQLite's
        BEGIN IMMEDIATE already holds the whole database)."""

    def append(
        self, stream: str, events: Sequence[BedEvent], *, expected_version: int | None = None
    ) -> AppendResult:
        """Append ``events`` to ``stream`` in one transaction (all or nothing). A database
        failure (the file locked by another writer past the busy timeout, a full disk)
        rolls back and raises :class:`CapacityError`."""
        batch = _check_batch(stream, events, expected_version)
        with self._transaction(
            f"append to stream={shown(stream)} failed",
            clash=f"stream={shown(stream)} was appended to concurrently; read and retry",
        ) as conn:
            return self._append(conn, stream, batch, expected_version, len(events))

    @contextlib.contextmanager
    def _transaction(
        self, failed: str, *, clash: str | None = None, begin: bool = True
    ) -> Iterator[Any]:
        """The connection, under the lock, in one transaction (opened by ``_begin`` unless
        ``begin`` is false) committed when the block ends. On any error it is rolled back; a
        unique-key clash raises :class:`ConcurrencyError` with ``clash`` (when given), another
        database error :class:`CapacityError` with ``failed`` and the error."""
        with self._lock:
            conn = self._conn()
            try:
                if begin:
                    self._begin(conn)
                yield conn
                conn.commit()
            except BaseException as exc:
                self._rollback(conn)
                if clash is not None and isinstance(exc, self.integrity_errors):
                    raise ConcurrencyError(clash) from None
                if isinstance(exc, self.database_errors):
                    raise CapacityError(f"{failed}: {exc}") from exc
                raise

    def _rollback(self, conn: Any) -> None:
        """Roll back after a failure, never raising a database error of its own: on a closed or
        lost connection the rollback fails too, and the failure to report is the first one."""
        with contextlib.suppress(*self.database_errors):
            conn.rollback()

    def _append(
        self, conn: Any, stream: str, batch: list[BedEvent], expected: int | None, delivered: int
    ) -> AppendResult:
        """Insert ``batch`` (distinct ids) after the checks; ``delivered`` events were sent."""
        cur = conn.cursor()
        self._lock_stream(cur, stream)  # one appender per stream: read, check, insert
        self._lock_ids(cur, [e.event_id for e in batch])  # and per event id, across streams
        cur.execute(self._sql("SELECT max(version) FROM bed_events WHERE stream = ?"), (stream,))
        version = cur.fetchone()[0] or 0
        if expected is not None and expected != version:
            raise ConcurrencyError(
                f"expected_version={expected} but stream={shown(stream)} is at version {version}"
            )
        stored: dict[str, tuple[BedEvent, str]] = {}
        for i in range(0, len(batch), 500):  # one look-up per 500 ids, not one per event
            ids = [e.event_id for e in batch[i : i + 500]]
            marks = ", ".join("?" * len(ids))
            cur.execute(
                self._sql(f"SELECT {_COLUMNS}, stream FROM bed_events WHERE event_id IN ({marks})"),
                ids,
            )
            for row in cur.fetchall():
                stored[row[0]] = (BedEvent(*row[:5]), row[5])
        rows = []
        for e in batch:
            if e.event_id in stored:
                if stored[e.event_id] != (e, stream):
                    raise CapacityError(
                        f"event_id={shown(e.event_id)} is already used by a different event"
                    )
                continue
            version += 1
            rows.append((stream, version, e.event_id, e.kind, e.bed, e.at, e.to_bed))
        if rows:
            cur.executemany(
                self._sql(
                    f"INSERT INTO bed_events (stream, version, {_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                rows,
            )
        return AppendResult(version, len(rows), delivered - len(rows))

    def mark_seen(self, stream: str, at: float) -> None:
        """Record that ``stream``'s writer was heard from at ``at`` (seconds); an earlier time
        than the one recorded changes nothing. A database failure raises CapacityError."""
        check_name("stream", stream)
        try:
            seen = math.nan if isinstance(at, bool) else float(at)
        except (TypeError, ValueError, OverflowError):
            seen = math.nan
        if not isinstance(at, int | float) or not math.isfinite(seen):
            raise CapacityError(f"at={shown(at)} must be a finite number of seconds")
        with self._transaction(f"marking stream={shown(stream)} seen failed") as conn:
            conn.cursor().execute(
                self._sql(
                    "INSERT INTO stream_seen (stream, at) VALUES (?, ?) "
                    "ON CONFLICT (stream) DO UPDATE SET at = CASE "
                    "WHEN excluded.at > stream_seen.at THEN excluded.at "
                    "ELSE stream_seen.at END"
                ),
                (stream, seen),
            )

    def seen(self) -> dict[str, float]:
        """The latest time each stream's writer was heard from (streams never heard: absent)."""
        return {
            row[0]: float(row[1]) for row in self._fetch("SELECT stream, at FROM stream_seen", ())
        }

    def version(self, stream: str) -> int:
        """The number of events in ``stream`` (0 for a stream never written)."""
        check_name("stream", stream)
        return int(self._one("SELECT max(version) FROM bed_events WHERE stream = ?", stream) or 0)

    def __len__(self) -> int:
        return int(self._one("SELECT count(*) FROM bed_events"))

    def _one(self, sql: str, *params: object) -> Any:
        return self._fetch(sql, params)[0][0]

    def _fetch(self, sql: str, params: Sequence[object]) -> list[Any]:
        """The rows of one read, in a transaction of its own, rolled back if the statement
        fails: a failed statement leaves a PostgreSQL connection refusing everything until a
        rollback, and the log must stay usable after an error. A database failure (the file
        held by another process past the busy timeout, a closed log, a lost connection, a
        dropped table) raises :class:`CapacityError`."""
        with self._transaction("reading the event log failed", begin=False) as conn:
            cur = conn.cursor()
            cur.execute(self._sql(sql), params)
            return list(cur.fetchall())

    def read_stream(self, stream: str, after_version: int = 0) -> Iterator[tuple[int, BedEvent]]:
        """``(version, event)`` for each event of ``stream`` after ``after_version``, in
        version order: what a reader that has applied the stream up to that version lacks."""
        check_name("stream", stream)
        if (
            isinstance(after_version, bool)
            or not isinstance(after_version, int)
            or not 0 <= after_version < 2**62
        ):
            raise CapacityError(f"after_version={shown(after_version)} must be an int >= 0")
        rows = self._fetch(
            f"SELECT version, {_COLUMNS} FROM bed_events WHERE stream = ? AND version > ? "
            "ORDER BY version",
            (stream, after_version),
        )
        return iter([(int(row[0]), BedEvent(*row[1:])) for row in rows])

    def read(self, after: int = 0, batch: int = 10_000) -> Iterator[BedEvent]:
        """Every event in arrival order after position ``after`` (0: from the start), fetched
        ``batch`` at a time.

        A position is the row's arrival number. SQLite numbers rows 1, 2, 3, ...; PostgreSQL's
        sequence skips the numbers of an append that rolled back (a crash before the commit),
        so there a count of the events already read is a resume point that may give some of
        them again (a projection ignores them as duplicates), never one that skips an event.
        """
        for name, value in (("after", after), ("batch", batch)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
                raise CapacityError(f"{name}={shown(value)} must be an int >= 0")
        if batch == 0:
            raise CapacityError("batch=0 must be >= 1")
        return self._read(after, batch)  # checked now, not when the caller first iterates

    def _read(self, after: int, batch: int) -> Iterator[BedEvent]:
        position = after
        while True:
            rows = self._fetch(
                f"SELECT position, {_COLUMNS} FROM bed_events WHERE position > ? "
                "ORDER BY position LIMIT ?",
                (position, batch),
            )
            for row in rows:
                yield BedEvent(*row[1:])
            if len(rows) < batch:
                return
            position = rows[-1][0]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn().close()


class SQLiteEventLog(EventLog):
    """The log in a SQLite file (``":memory:"`` by default), WAL mode, one connection."""

    def __init__(self, path: str = ":memory:") -> None:
        super().__init__()
        check_name("path", path)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise CapacityError(f"path={shown(path)} cannot be opened: {exc}") from None
        try:  # the first statements read the file: one that is not a database fails here
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA.format(serial="INTEGER"))
            self._db.execute(_SEEN_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise CapacityError(
                f"path={shown(path)} is not a usable SQLite database: {exc}"
            ) from None
        self.path = path

    def _conn(self) -> Any:
        return self._db

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def __repr__(self) -> str:
        return f"SQLiteEventLog({self.path!r})"


class PostgresEventLog(EventLog):
    """The log in a PostgreSQL database (psycopg 3, imported when used)."""

    placeholder = "%s"

    def __init__(self, url: str) -> None:
        super().__init__()
        check_name("url", url)
        import psycopg

        self.integrity_errors = (psycopg.errors.IntegrityError,)
        self.database_errors = (psycopg.Error,)
        try:
            self._db = psycopg.connect(url)
        except psycopg.Error as exc:
            raise CapacityError(f"url cannot be opened: {type(exc).__name__}") from None
        try:  # a role without CREATE on the schema fails here: close what was opened
            self._db.execute(_SCHEMA.format(serial="BIGSERIAL"))
            self._db.execute(_SEEN_SCHEMA)
            self._db.commit()
        except psycopg.Error as exc:
            self._db.close()
            why = str(exc).partition("\n")[0]  # the first line: the rest points into the DDL
            raise CapacityError(
                f"url cannot hold the log's tables: {type(exc).__name__}: {why}"
            ) from None
        self.url = url

    def _conn(self) -> Any:
        return self._db

    def _begin(self, conn: Any) -> None:
        pass  # psycopg opens a transaction with the first statement

    def _lock_stream(self, cur: Any, stream: str) -> None:
        # READ COMMITTED lets two sessions read the same max(version) and collide on
        # UNIQUE(stream, version): a transaction-scoped advisory lock on the stream's hash
        # makes the second wait for the first to commit, then read its rows. (Two streams
        # whose hashes collide merely wait for each other.)
        cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_SPACE, stream))

    def _lock_ids(self, cur: Any, ids: list[str]) -> None:
        # An event id is unique across streams, whose locks do not cover it: two sessions
        # appending one id to two streams would both find it unused, and the second would
        # wait on the unique index, then fail (or deadlock, with two ids in opposite orders).
        # Locking the ids' hashes first, in ascending order (so no two sessions wait on each
        # other in a cycle), makes the second wait, then find the first's row.
        keys = sorted(
            {
                int.from_bytes(blake2b(i.encode(), digest_size=4).digest(), "big", signed=True)
                for i in ids
            }
        )
        cur.execute(
            "SELECT pg_advisory_xact_lock(%s, k) FROM unnest(%s::integer[]) AS k",
            (_ID_LOCK_SPACE, keys),
        )

    def __repr__(self) -> str:
        return "PostgresEventLog(...)"
