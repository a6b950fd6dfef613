"""Where read states are written back: SQLite (WAL) or Redis, behind one small interface.

Case study: Discord's Read States: Rewriting a Go Service in Rust
(docs/case-studies/discord-read-states.md)

:class:`~designpatterns_ref.messaging.readstates.ReadStates` is the cache; a
:class:`ReadStateStore` is the durable side it reads a missing record from (``load``), writes
a batch of dirty records to in one atomic step (``write``), and asks for a user's unread
mentions (``unread``). :class:`SQLiteReadStore` keeps one ``WITHOUT ROWID`` table;
:class:`RedisReadStore` keeps one hash per user, ``<prefix>:<user>``, field ``channel``,
value ``"<last_read>:<mentions>"``, and writes a batch in one Lua script (checks first, then
writes: a crash or a refusal mid-batch writes all of it or none). Every Redis round trip has
a deadline; an unreachable server raises
:class:`~designpatterns_ref.messaging.base.MessagingError`, and so does a SQLite batch that
fails (it is rolled back first, so the next write starts clean).

A write merges, it does not overwrite: a row lands only when it is ahead of the stored record,
ordering records by marker, then by mentions (``(500, 0)`` is ahead of ``(300, 9)``). So a
marker never moves back, whatever order several writers' batches arrive in, and writing the
same batch twice (a retry after a lost answer) changes nothing more than writing it once.
Two caches sharing a store therefore never undo each other's acks; but a record they both
changed keeps one of the two versions, so a mention counted by a cache whose copy of the
marker is behind the stored one is not added: exact mention counts need one cache per user
(as Discord routes each user's read states to one node).

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
        """Merge every row, all or none: each lands only when it is ahead of the stored
        record (a larger marker, or the same marker and more mentions)."""
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


_MERGE = """INSERT INTO read_states VALUES (?, ?, ?, ?)
    ON CONFLICT (user, channel) DO UPDATE
    SET last_read = excluded.last_read, mentions = excluded.mentions
    WHERE (excluded.last_read, excluded.mentions) > (read_states.last_read, read_states.mentions)"""


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
        """One transaction for the batch, each row merged (it lands only when ahead of the
        stored record): all of it lands or none. A failure (the file locked by another writer
        past the busy timeout, a full disk) rolls the transaction back and raises
        :class:`~designpatterns_ref.messaging.base.MessagingError`; the connection stays
        usable."""
        rows = check_rows(rows)
        db = self._db
        with _write_transaction(db, "SQLiteReadStore.write"):
            db.execute("BEGIN IMMEDIATE")  # take the write lock first (waits the busy timeout)
            db.executemany(_MERGE, rows)
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

    #: Merge a batch: KEYS are the rows' hashes, ARGV holds channel, marker, mentions per
    #: row. Numbers compare as decimal strings (length, then digits): a marker may exceed
    #: the 2**53 a Lua number holds exactly. Every record is read and checked before the
    #: first write, so a refused batch writes nothing.
    MERGE_SCRIPT = """
local function ahead(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local seen, out = {}, {}
for i = 1, #KEYS do
  local channel, last, mentions = ARGV[3*i-2], ARGV[3*i-1], ARGV[3*i]
  local id = KEYS[i] .. '\0' .. channel
  local cur = seen[id]
  if cur == nil then cur = redis.call('HGET', KEYS[i], channel) or '0:0' end
  local l, m = string.match(cur, '^(%d+):(%d+)$')
  if not l then return redis.error_reply('malformed read state ' .. id .. ': ' .. cur) end
  if ahead(last, l) or (last == l and ahead(mentions, m)) then
    cur = last .. ':' .. mentions
    out[id] = {KEYS[i], channel, cur}
  end
  seen[id] = cur
end
for _, w in pairs(out) do redis.call('HSET', w[1], w[2], w[3]) end
return 0
"""

    def __init__(
        self, client: Any, *, prefix: str = "dp:rs", deadline: float = DEFAULT_DEADLINE_S
    ) -> None:
        from designpatterns_ref.messaging.directory import check_redis

        check_redis(client)
        self.prefix = check_id("prefix", prefix)
        self.deadline = check_deadline("RedisReadStore", deadline, MessagingError)
        self._r = bounded_client(client, self.deadline, decode_responses=True)
        self._merge = self._r.register_script(self.MERGE_SCRIPT)

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
        """One script for the batch, each row merged (it lands only when ahead of the stored
        record): all of it lands or none."""
        rows = check_rows(rows)
        if not rows:
            return
        args: list[object] = []
        for _, channel, last, mentions in rows:
            args += [channel, str(last), str(mentions)]
        import redis

        try:
            self._merge(keys=[self._key(user) for user, *_ in rows], args=args)
        except redis.ResponseError as exc:  # an outage is named by the class decorator
            raise MessagingError(f"RedisReadStore.write: Redis refused it: {exc}") from exc

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
