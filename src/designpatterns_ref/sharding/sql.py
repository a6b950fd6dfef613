"""Shard databases for the Vitess miniature: SQLite files (the default) or real PostgreSQL.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

Each shard is a database of its own holding one table, ``orders(id, customer, ksid, amount)``
keyed by ``(id, customer)`` (an order is identified by its customer and its number, so the key
holds the sharding key: one order lives on exactly one shard, and rows of two shards never
collide when a merge puts them in one), and a change log,
``changes(seq, op, id, customer, ksid, amount)``, written in the same transaction as every row
change. The change log plays the part of MySQL's binlog in Vitess: online resharding copies the
rows, then replays the log from the position it noted before copying. Its order must be commit
order, so writes to one shard are serialised (SQLite does that by itself; on
PostgreSQL each write transaction takes a transaction-scoped advisory lock first). A row in
``denied_writes`` fences the shard: the router refuses writes *and reads* on it (a cut-over's
source, like Vitess's denied tables after ``SwitchTraffic``, whose query rule fails every query
on the table at the source, a ``SELECT`` too; and a resharding's target until its cut-over,
fenced by ``create(shard, fence=...)`` in the transaction that creates its tables). The table
keeps its name from when it fenced only writes. Two more tables hold a resharding's state: on
a target its progress rows (``resharding``), on a source the job moving its rows (``outgoing``),
both under the job's id (see :mod:`~designpatterns_ref.sharding.jobs`).

:class:`SQLiteShards` keeps one WAL-mode file per shard in a folder; :class:`PostgresShards` one
database per shard on a server (psycopg 3). Both hand each thread its own connection, and open
a new one when the old one is closed or broken, or when the shard was dropped since (by any
thread: each drop bumps the shard's generation number, which every thread's connection is
checked against), so no thread goes on with a connection to a dropped database.

Complexity: O(1) per connection lookup; the SQL is the cost.

>>> import tempfile
>>> shards = SQLiteShards(tempfile.mkdtemp())
>>> shards.create("-80")
>>> shards.query("-80", "SELECT count(*) FROM orders")
[(0,)]
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding.base import ShardingError
from designpatterns_ref.sqliteconn import AutocommitConnection

__all__ = ["PostgresShards", "Run", "SQLiteShards", "ShardDatabases"]

_SCHEMA = (
    # an order is (id, customer): the key holds the sharding key, so one order lives on one
    # shard and two shards' rows never collide when a merge puts them together
    "CREATE TABLE IF NOT EXISTS orders (id BIGINT NOT NULL, customer TEXT NOT NULL, "
    "ksid TEXT NOT NULL, amount BIGINT NOT NULL, PRIMARY KEY (id, customer))",
    # on a resharding's target: the copy cursor (the last (id, customer) copied from
    # ``source``), the log position applied and the phase, of the resharding ``job``
    "CREATE TABLE IF NOT EXISTS resharding (job TEXT NOT NULL, source TEXT NOT NULL, "
    "copied_id BIGINT NOT NULL, copied_customer TEXT NOT NULL, applied_seq BIGINT NOT NULL, "
    "phase TEXT NOT NULL, PRIMARY KEY (job, source))",
    # on a resharding's source: the resharding ``job`` moving its rows, and its target shards
    "CREATE TABLE IF NOT EXISTS outgoing (job TEXT PRIMARY KEY, targets TEXT NOT NULL)",
    # a row here fences the shard: it serves no more routed writes or reads, its rows now live
    # on ``moved_to``
    "CREATE TABLE IF NOT EXISTS denied_writes (moved_to TEXT PRIMARY KEY)",
)
# fails to prepare on a shard made before orders were keyed by (id, customer)
_KEY_PROBE = (
    "INSERT INTO orders (id, customer, ksid, amount) SELECT 0, 'x', 'x', 0 WHERE 1 = 0 "
    "ON CONFLICT (id, customer) DO NOTHING",
    "SELECT copied_customer FROM resharding WHERE 1 = 0",
    "SELECT job FROM resharding WHERE 1 = 0",
)
_SHARD_NAME = re.compile(r"[0-9a-f]{0,16}-[0-9a-f]{0,16}")
# a fence row: where the rows went (shard names), or "from:" and where they still come from
_FENCE = re.compile(rf"(from:)?{_SHARD_NAME.pattern}(,{_SHARD_NAME.pattern}){{0,255}}")


def _check_fence(fence: object) -> None:
    if fence is not None and (not isinstance(fence, str) or not _FENCE.fullmatch(fence)):
        raise ShardingError(
            f"fence={shown(fence, 80)} must be shard names joined by commas (like '-80,80-'), "
            "optionally after 'from:'"
        )


def _check(shard: object) -> str:
    if not isinstance(shard, str) or not _SHARD_NAME.fullmatch(shard):
        raise ShardingError(f"shard={shown(shard)} must be a range name like '-80' or '80-'")
    return shard


class ShardDatabases:
    """One database per shard; ``transaction(shard)`` yields a cursor-like ``execute``.

    The driver's errors (``sqlite3.Error``, ``psycopg.Error``) do not leave this class: opening
    a shard and running a transaction raise :class:`ShardingError` naming the shard and where
    it lives (a transaction that fails is rolled back first, so it leaves nothing behind).
    """

    placeholder = "?"
    driver_errors: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        self._local = threading.local()
        # Each thread keeps its own connections; a drop() in any thread bumps the shard's
        # generation, so every thread reconnects instead of using a connection to a database
        # that is gone (an unlinked SQLite file, a PostgreSQL backend the drop terminated).
        self._generation: dict[str, int] = {}
        self._generation_lock = threading.Lock()

    def _connect(self, shard: str) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def _changes_ddl(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def where(self, shard: str) -> str:  # pragma: no cover - interface
        """Where the shard's database lives (a file, a database name), for error messages."""
        raise NotImplementedError

    def _failed(self, shard: str, doing: str, exc: BaseException) -> ShardingError:
        return ShardingError(
            f"{type(self).__name__}: shard={shown(shard)} at {shown(self.where(shard))} "
            f"{doing}: {type(exc).__name__}: {str(exc).partition(chr(10))[0]}"
        )

    def _conn(self, shard: str) -> Any:
        """This thread's connection to ``shard``: a new one if it has none, if the shard was
        dropped since (by any thread) or if its connection is closed or broken."""
        conns: dict[str, tuple[Any, int]] = self._local.__dict__.setdefault("conns", {})
        generation = self._generation.get(_check(shard), 0)
        cached = conns.get(shard)
        if cached is not None:
            conn, made_in = cached
            if made_in == generation and self._usable(conn):
                return conn
            del conns[shard]
            with suppress(Exception):  # closing a connection to a database that is gone
                conn.close()
        try:
            conn = self._connect(shard)
        except self.driver_errors as exc:
            raise self._failed(shard, "cannot be opened", exc) from None
        conns[shard] = (conn, generation)
        return conn

    def _usable(self, conn: Any) -> bool:
        """Whether a cached connection can still be used (not closed, not broken)."""
        return True

    def _forget(self, shard: str) -> None:
        """Before a drop: close this thread's connection and make every thread reconnect."""
        with self._generation_lock:
            self._generation[shard] = self._generation.get(shard, 0) + 1
        cached = self._local.__dict__.get("conns", {}).pop(shard, None)
        if cached is not None:
            cached[0].close()

    def sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def create(
        self,
        shard: str,
        *,
        fence: str | None = None,
        rows: Sequence[tuple[str, Sequence[Any]]] = (),
    ) -> None:
        """Create the shard's database (if needed) and its tables.

        With ``fence``, a ``denied_writes`` row holding it goes in with the tables, in the same
        transaction (ordered with the shard's writers): the tables never exist unfenced.
        ``fence`` is shard names joined by commas, optionally after ``"from:"``. ``rows`` are
        more ``(statement, params)`` run in that transaction (a resharding's progress rows, so
        a target never exists without them). A shard whose tables an older version made
        (``orders`` keyed by ``id`` alone, progress rows without a job) is refused with
        :class:`ShardingError`.
        """
        _check_fence(fence)
        with self.transaction(shard, serial=fence is not None) as run:
            for ddl in (*_SCHEMA, self._changes_ddl()):
                run(ddl)
            for probe in _KEY_PROBE:
                try:
                    run(probe)
                except Exception as old:  # the driver's error: the statement cannot prepare
                    raise ShardingError(
                        f"shard {shown(shard)} was made by an older version: its orders are not "
                        "keyed by (id, customer) or its resharding rows name no job "
                        f"({type(old).__name__}: {old}); recreate it"
                    ) from None
            if fence is not None:
                run(
                    "INSERT INTO denied_writes (moved_to) VALUES (?) ON CONFLICT DO NOTHING",
                    (fence,),
                )
            for statement, params in rows:
                run(statement, params)

    def drop(self, shard: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def exists(self, shard: str) -> bool:  # pragma: no cover - interface
        """Whether the shard's database exists (asked of the file system or the server's
        catalog, never by opening it: opening a missing SQLite file would create it)."""
        raise NotImplementedError

    def has_table(self, shard: str, table: str) -> bool:
        """Whether ``table`` exists in the shard's (existing) database."""
        return bool(self.query(shard, self._table_probe, (table,)))

    _table_probe = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"

    @contextmanager
    def transaction(self, shard: str, *, serial: bool = False) -> Iterator[Any]:
        """A transaction on ``shard``; ``serial`` orders it with the shard's other writers."""
        conn = self._conn(shard)
        try:
            run = Run(self, conn.cursor())
            self._begin(conn, run, serial)
            try:
                yield run
            except BaseException:
                with suppress(*self.driver_errors):  # a broken connection cannot roll back
                    conn.rollback()
                raise
            conn.commit()
        except self.driver_errors as exc:
            raise self._failed(shard, "failed a transaction", exc) from None

    def _begin(self, conn: Any, run: Any, serial: bool) -> None:
        pass

    def query(self, shard: str, text: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one read-only statement and return its rows."""
        with self.transaction(shard) as run:
            return [tuple(r) for r in run(text, params)]

    def close(self) -> None:
        """Close this thread's connections."""
        for conn, _ in self._local.__dict__.pop("conns", {}).values():
            conn.close()


class Run:
    """A transaction's statement runner: ``run(sql, params)`` returns rows; ``run.many`` batches."""

    def __init__(self, databases: ShardDatabases, cursor: Any) -> None:
        self._db = databases
        self._cur = cursor

    def __call__(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        self._cur.execute(self._db.sql(text), tuple(params))
        return list(self._cur.fetchall()) if self._cur.description else []

    def many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement over many parameter rows (a pipeline on PostgreSQL)."""
        if rows:
            self._cur.executemany(self._db.sql(text), [tuple(r) for r in rows])


class SQLiteShards(ShardDatabases):
    """Shards as SQLite files ``<folder>/<shard>.db`` in WAL mode."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        super().__init__()
        if not isinstance(folder, str | os.PathLike) or isinstance(folder, bytes):
            raise ShardingError(f"folder={shown(folder)} must be a path (str or os.PathLike)")
        try:
            self.folder = Path(folder)
            is_dir = self.folder.is_dir()
        except (OSError, ValueError):
            is_dir = False
        if not is_dir:
            raise ShardingError(f"folder={shown(folder)} is not a folder")

    driver_errors = (sqlite3.Error,)

    def path(self, shard: str) -> Path:
        return self.folder / f"{_check(shard)}.db"

    def where(self, shard: str) -> str:
        return str(self.path(shard))

    def _connect(self, shard: str) -> Any:
        path = self.path(shard)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:  # SQLite opens lazily: a file that is no database fails at the first statement
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ShardingError(
                f"SQLiteShards: shard={shown(shard)} at {shown(str(path))} is not a usable SQLite "
                f"database: {exc}"
            ) from None
        return AutocommitConnection(conn)

    def _changes_ddl(self) -> str:
        return (
            "CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "op TEXT NOT NULL, id BIGINT NOT NULL, customer TEXT, ksid TEXT, amount BIGINT)"
        )

    def _begin(self, conn: Any, run: Any, serial: bool) -> None:
        conn.raw.execute("BEGIN IMMEDIATE" if serial else "BEGIN")

    def _usable(self, conn: Any) -> bool:
        try:
            return bool(conn.raw.total_changes >= 0)  # raises ProgrammingError once closed
        except sqlite3.ProgrammingError:
            return False

    def drop(self, shard: str) -> None:
        self._forget(_check(shard))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path(shard)}{suffix}").unlink(missing_ok=True)

    def exists(self, shard: str) -> bool:
        return self.path(shard).exists()


class PostgresShards(ShardDatabases):
    """Shards as databases ``s_<range>`` on a PostgreSQL server (``admin_url`` may create them)."""

    placeholder = "%s"

    def __init__(self, admin_url: str, *, prefix: str = "s") -> None:
        super().__init__()
        if not isinstance(admin_url, str) or not admin_url.startswith(
            ("postgresql://", "postgres://")
        ):
            raise ShardingError(f"admin_url={shown(admin_url)} must be a postgresql:// URL")
        if not isinstance(prefix, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,20}", prefix):
            raise ShardingError(f"prefix={shown(prefix)} must be a short lower-case identifier")
        import psycopg

        self.driver_errors = (psycopg.Error,)
        self.admin_url = admin_url
        self.prefix = prefix

    def database(self, shard: str) -> str:
        return f"{self.prefix}_{_check(shard).replace('-', '_')}"

    def url(self, shard: str) -> str:
        return f"{self.admin_url.rsplit('/', 1)[0]}/{self.database(shard)}"

    def where(self, shard: str) -> str:
        return f"database {self.database(shard)}"

    _table_probe = "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?"

    def _admin(self, shard: str, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run ``statement`` (about ``shard``'s database) through the admin URL; a database
        that already exists is left alone (``CREATE DATABASE`` has no ``IF NOT EXISTS``)."""
        import psycopg

        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                cur = conn.execute(statement.encode(), tuple(params) or None)
                return list(cur.fetchall()) if cur.description else []
        except psycopg.errors.DuplicateDatabase:
            return []
        except psycopg.Error as exc:
            raise self._failed(shard, "cannot be managed through admin_url", exc) from None

    def exists(self, shard: str) -> bool:
        """True at once if this thread holds a usable connection to the shard (made since its
        last drop); else asked of ``pg_database`` through the admin URL."""
        cached = self._local.__dict__.get("conns", {}).get(_check(shard))
        current = cached is not None and cached[1] == self._generation.get(shard, 0)
        if current and self._usable(cached[0]):
            return True
        rows = self._admin(
            shard, "SELECT 1 FROM pg_database WHERE datname = %s", (self.database(shard),)
        )
        return bool(rows)

    def _connect(self, shard: str) -> Any:
        import psycopg

        return psycopg.connect(self.url(shard))

    def _changes_ddl(self) -> str:
        return (
            "CREATE TABLE IF NOT EXISTS changes (seq BIGSERIAL PRIMARY KEY, op TEXT NOT NULL, "
            "id BIGINT NOT NULL, customer TEXT, ksid TEXT, amount BIGINT)"
        )

    def create(
        self,
        shard: str,
        *,
        fence: str | None = None,
        rows: Sequence[tuple[str, Sequence[Any]]] = (),
    ) -> None:
        _check_fence(fence)  # before the database is made: a refused call changes nothing
        self._admin(shard, f"CREATE DATABASE {self.database(shard)}")
        super().create(shard, fence=fence, rows=rows)

    def _begin(self, conn: Any, run: Any, serial: bool) -> None:
        if serial:  # one writer at a time per shard: change-log order is commit order
            run("SELECT pg_advisory_xact_lock(7207)")

    def _usable(self, conn: Any) -> bool:
        return not (conn.closed or conn.broken)

    def drop(self, shard: str) -> None:
        self._forget(_check(shard))
        self._admin(shard, f"DROP DATABASE IF EXISTS {self.database(shard)} WITH (FORCE)")
