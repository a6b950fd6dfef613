"""Where read states are written back: SQLite (WAL) or Redis, behind one small interface.

Case study: Discord's Read States: Rewriting a Go Service in Rust
(docs/case-studies/discord-read-states.md)

:class:`~designpatterns_ref.messaging.readstates.ReadStates` is the cache; a
:class:`ReadStateStore` is the durable side it reads a missing record from (``load``), writes
a batch of dirty records to in one atomic step (``write``), and asks for a user's unread
mentions (``unread``). :class:`SQLiteReadStore` keeps one ``WITHOUT ROWID`` table;
:class:`RedisReadStore` keeps one hash per user, ``<prefix>:<user>``, field ``channel``,
value ``"<last_read>:<mentions>"``, and writes a batch in one ``MULTI``/``EXEC`` (a crash
mid-batch writes all of it or none). Every Redis round trip has a deadline; an unreachable
server raises :class:`~designpatterns_ref.messaging.base.MessagingError`, and so does a
SQLite batch that fails (it is rolled back first, so the next write starts clean).

Trade-off: Redis shares the records between processes and survives the cache process, at one
round trip per miss and per batch; SQLite is local and needs no server.

>>> store = SQLiteReadStore(":memory:")
>>> store.write([("ann", "general", 1042, 0)]); store.load("ann", "general")
(1042, 0)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import (
    MessagingError,
    MessagingTypeError,
    check_id,
    check_seq,
)
from designpatterns_ref.messaging.sqlite import _open_wal, _write_transaction
from designpatterns_ref.redisclient import DEFAULT_DEADLINE_S, bounded_client, check_deadline
from designpatterns_ref.redisclient import outages_as as _outages_as

__all__ = ["ReadStateStore", "RedisReadStore", "SQLiteReadStore", "check_rows"]

Row = tuple[str, str, int, int]  # user, channel, last_read, mentions


def check_rows(rows: object) -> list[Row]:
    """``rows`` as a list of ``(user, channel, last_read, mentions)``; MessagingError if not."""
    if isinstance(rows, str | bytes) or not isinstance(rows, Sequence):
        raise MessagingTypeError(f"rows={shown(rows, 80)} must be a sequence of 4-tuples")
    out: list[Row] = []
    for row in rows:
        if not isinstance(row, tuple) or len(row) != 4:
            raise MessagingTypeError(
                f"row={shown(row, 80)} must be (user, channel, last, mentions)"
            )
        user, channel = check_id("user", row[0]), check_id("channel", row[1])
        out.append((user, channel, check_seq("last_read", row[2]), check_seq("mentions", row[3])))
    return out


@runtime_checkable
class ReadStateStore(Protocol):
    """The durable side of the read-states cache."""

    def load(self, user: str, channel: str) -> tuple[int, int] | None:
        """``(last_read, mentions)`` as last written, or None."""
        ...

    def write(self, rows: Sequence[Row]) -> None:
        """Store every row, all or none."""
        ...

    def unread(self, user: str) -> dict[str, int]:
        """``{channel: mentions}`` of ``user``'s records with mentions, sorted by channel."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


_SCHEMA = """CREATE TABLE IF NOT EXISTS read_states (
    user TEXT NOT NULL, channel TEXT NOT NULL, last_read INTEGER NOT NULL,
    mentions INTEGER NOT NULL, PRIMARY KEY (user, channel)) WITHOUT ROWID"""


class SQLiteReadStore:
    """Read states in one SQLite table (WAL, ``synchronous=NORMAL``)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        if not isinstance(path, str | Path) or (isinstance(path, str) and not path.isprintable()):
            raise MessagingTypeError(f"path={shown(path, 80)} must be a printable str or a Path")
        self.path = str(path)
        self._db = _open_wal(path, _SCHEMA)

    def load(self, user: str, channel: str) -> tuple[int, int] | None:
        """The stored record, or None. A database failure (a closed store, a dropped table)
        raises :class:`~designpatterns_ref.messaging.base.MessagingError`."""
        check_id("user", user), check_id("channel", channel)
        try:
            row = self._db.execute(
                "SELECT last_read, mentions FROM read_states WHERE user=? AND channel=?",
                (user, channel),
            ).fetchone()
        except sqlite3.Error as exc:
            raise MessagingError(f"SQLiteReadStore.load: {exc}") from exc
        return (row[0], row[1]) if row else None

    def write(self, rows: Sequence[Row]) -> None:
        """One transaction for the batch: all of it lands or none. A failure (the file locked
        by another writer past the busy timeout, a full disk) rolls the transaction back and
        raises :class:`~designpatterns_ref.messaging.base.MessagingError`; the connection
        stays usable."""
        rows = check_rows(rows)
        db = self._db
        with _write_transaction(db, "SQLiteReadStore.write"):
            db.execute("BEGIN IMMEDIATE")  # take the write lock first (waits the busy timeout)
            db.executemany("INSERT OR REPLACE INTO read_states VALUES (?, ?, ?, ?)", rows)
            db.execute("COMMIT")

    def unread(self, user: str) -> dict[str, int]:
        """Channels with mentions, sorted; MessagingError as :meth:`load`."""
        check_id("user", user)
        try:
            rows = self._db.execute(
                "SELECT channel, mentions FROM read_states WHERE user=? AND mentions>0 "
                "ORDER BY channel",
                (user,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise MessagingError(f"SQLiteReadStore.unread: {exc}") from exc
        return {c: m for c, m in rows}

    def close(self) -> None:
        """Close the database."""
        self._db.close()


@_outages_as(MessagingError, "load", "write", "unread")
class RedisReadStore:
    """Read states in Redis hashes, one per user (``client``: a URL or a redis-py client)."""

    def __init__(
        self, client: Any, *, prefix: str = "dp:rs", deadline: float = DEFAULT_DEADLINE_S
    ) -> None:
        from designpatterns_ref.messaging.directory import check_redis

        check_redis(client)
        self.prefix = check_id("prefix", prefix)
        self.deadline = check_deadline("RedisReadStore", deadline, MessagingError)
        self._r = bounded_client(client, self.deadline, decode_responses=True)

    def _key(self, user: str) -> str:
        return f"{self.prefix}:{user}"

    def load(self, user: str, channel: str) -> tuple[int, int] | None:
        """The stored record, or None."""
        check_id("user", user), check_id("channel", channel)
        raw = self._r.hget(self._key(user), channel)
        if raw is None:
            return None
        last, mentions = raw.split(":")
        return int(last), int(mentions)

    def write(self, rows: Sequence[Row]) -> None:
        """One ``MULTI``/``EXEC`` for the batch: all of it lands or none."""
        rows = check_rows(rows)
        pipe = self._r.pipeline(transaction=True)
        for user, channel, last, mentions in rows:
            pipe.hset(self._key(user), channel, f"{last}:{mentions}")
        pipe.execute()

    def unread(self, user: str) -> dict[str, int]:
        """Channels with mentions, sorted."""
        fields = self._r.hgetall(self._key(check_id("user", user)))
        counts = {c: int(v.split(":")[1]) for c, v in fields.items()}
        return {c: counts[c] for c in sorted(counts) if counts[c] > 0}

    def close(self) -> None:
        """Close the connection pool made from a URL (on your client: a no-op, the shared twin
        stays for the other stores on it and goes with your client)."""
        self._r.close()

    def __repr__(self) -> str:
        return f"RedisReadStore(prefix={self.prefix!r})"
