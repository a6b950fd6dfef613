"""A key-value table on SQLite with DynamoDB's semantics: keys, two indexes, conditions, TTL.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

An item is a JSON object with a partition key ``pk`` and a sort key ``sk``; it may carry
``gsi1pk``/``gsi1sk`` and ``gsi2pk``/``gsi2sk`` to appear in the two global secondary indexes,
and a TTL attribute (epoch seconds). :meth:`KeyValueTable.put` takes a ``condition`` evaluated
on the current item inside one write transaction (SQLite's ``BEGIN IMMEDIATE``, which takes
the file's write lock before the item is read), so "write only if absent or expired" is atomic,
as a DynamoDB ``ConditionExpression`` is: across threads, and across tables opened on the same
file (several function instances sharing one table). A file table runs in WAL mode, so readers
never hold a writer up; a writer that finds the file locked by another waits up to
``busy_timeout`` seconds, then gets :class:`ServerlessUnavailable` with nothing written.
Expired items are *not* hidden: like DynamoDB's TTL, deletion happens later (:meth:`sweep`), so
readers compare the TTL themselves.
A condition may read the table, but not write it or close it: such a call inside a condition
raises :class:`ServerlessError` (a write would join the conditional write's transaction and be
rolled back with it when the condition then failed: reported done, yet lost).
:meth:`query` reads one partition of the table or of an index, by an index seek, never a scan
(:meth:`query_plan` shows SQLite's plan). Trade-off: access patterns must be known up front;
anything else is a scan. Cost: O(log n + k) per query, O(log n) per put.

>>> t = KeyValueTable()
>>> t.put({"pk": "P#1", "sk": "A", "n": 1})
>>> t.put({"pk": "P#1", "sk": "A", "n": 2}, condition=lambda old: old is None)
Traceback (most recent call last):
...
designpatterns_ref.serverless.base.ConditionFailed: condition failed for ('P#1', 'A')
>>> len(t.query("P#1")), t.query("P#1")[0].get("n")
(1, 1)
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from designpatterns_ref.clock import Clock, read_seconds, system_clock
from designpatterns_ref.errors import shown
from designpatterns_ref.serverless.base import (
    ConditionFailed,
    ServerlessError,
    ServerlessTypeError,
    ServerlessUnavailable,
    check_name,
    check_payload,
    check_seconds,
)

__all__ = ["INDEXES", "Condition", "KeyValueTable"]

#: The table's key columns per index: ``None`` is the base table.
INDEXES: dict[str | None, tuple[str, str]] = {
    None: ("pk", "sk"),
    "gsi1": ("gsi1pk", "gsi1sk"),
    "gsi2": ("gsi2pk", "gsi2sk"),
}
_KEY_ATTRS = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")

#: A condition on the current item (``None`` when absent): True lets the write happen.
Condition = Callable[[dict[str, Any] | None], bool]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL, sk TEXT NOT NULL, body TEXT NOT NULL,
    gsi1pk TEXT, gsi1sk TEXT, gsi2pk TEXT, gsi2sk TEXT, expires REAL,
    PRIMARY KEY (pk, sk)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS gsi1 ON items (gsi1pk, gsi1sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS gsi2 ON items (gsi2pk, gsi2sk) WHERE gsi2pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS ttl ON items (expires) WHERE expires IS NOT NULL;
"""


class KeyValueTable:
    """One SQLite table of JSON items keyed by (pk, sk), two secondary indexes, TTL and locks."""

    def __init__(
        self,
        path: str = ":memory:",
        *,
        ttl_attribute: str = "ttl",
        clock: Clock = system_clock,
        busy_timeout: float = 5.0,
    ) -> None:
        check_name("path", path, max_len=4096)
        if "\x00" in path:
            raise ServerlessError(f"path={shown(path, 60)} must not contain a NUL character")
        check_name("ttl_attribute", ttl_attribute, max_len=64)
        if ttl_attribute in _KEY_ATTRS:
            raise ServerlessError(
                f"ttl_attribute={shown(ttl_attribute)} is a key attribute; it must be another"
            )
        if not callable(clock):
            raise ServerlessTypeError(f"clock={shown(clock)} must be callable")
        busy = check_seconds("busy_timeout", busy_timeout)
        if busy > 3600:
            raise ServerlessError(f"busy_timeout={shown(busy_timeout)} must be at most 3600 s")
        self.path = path
        self.ttl_attribute = ttl_attribute
        self.clock = clock
        self._lock = threading.RLock()
        self._closed = False
        self._in_condition = False  # a condition is being evaluated (under the lock)
        try:
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=busy
            )
        except sqlite3.Error as exc:
            raise ServerlessError(f"path={shown(path, 60)} cannot be opened: {exc}") from None
        # The schema in one write transaction: tables opened at once on a new file queue at
        # its lock (a bare CREATE would read, then fail to write without waiting). The first
        # statement reads the file: one that is not a database fails here.
        try:
            with self._conn("KeyValueTable") as db:  # WAL: readers never block the writer
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
            with self._conn("KeyValueTable", write=True) as db:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
        except ServerlessUnavailable as exc:
            self._db.close()
            cause = exc.__cause__
            if getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY:
                raise
            raise ServerlessError(
                f"path={shown(path, 60)} is not a usable SQLite database: {cause}"
            ) from None

    @contextmanager
    def _conn(self, where: str, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock: refused once closed; a write runs in one
        ``BEGIN IMMEDIATE`` transaction (committed at the end, rolled back if anything raises),
        and a database failure (locked past the busy timeout, damaged) is raised as
        :class:`ServerlessUnavailable`."""
        with self._lock:
            if self._closed:
                reopen = f"KeyValueTable({shown(self.path, 60)})"
                raise ServerlessError(f"{where}: the table is closed; open a new {reopen}")
            if write:
                self._refuse_in_condition(where)
            outer = write and not self._db.in_transaction  # a condition may read the table
            try:
                if outer:
                    self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    if outer:
                        self._db.execute("ROLLBACK")
                    raise
                if outer:
                    self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if outer and self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise ServerlessUnavailable(f"{where}: the database failed: {exc}") from exc

    def _refuse_in_condition(self, where: str) -> None:
        if self._in_condition:
            raise ServerlessError(
                f"{where}: refused inside a condition, which may only read the table (a write"
                " there would share the conditional write's transaction and its rollback)"
            )

    def _holds(self, condition: Condition, old: dict[str, Any] | None) -> bool:
        """``condition(old)``, with writes and close refused while it runs."""
        self._in_condition = True
        try:
            return bool(condition(old))
        finally:
            self._in_condition = False

    def _check_item(self, item: object) -> tuple[str, list[Any]]:
        body = check_payload("item", item, max_bytes=400 * 1024)  # DynamoDB's item limit
        assert isinstance(item, dict)
        for attr in ("pk", "sk"):
            if attr not in item:
                raise ServerlessError(
                    f"item={body[:60]} has no {shown(attr)}: every item needs pk, sk"
                )
        keys = []
        for attr in _KEY_ATTRS:
            value = item.get(attr)
            if value is not None or attr in ("pk", "sk"):
                check_name(f"item[{attr!r}]", value, max_len=1024)
            keys.append(value)
        for n in ("1", "2"):
            if (item.get(f"gsi{n}pk") is None) != (item.get(f"gsi{n}sk") is None):
                raise ServerlessError(f"item gives only one of gsi{n}pk, gsi{n}sk; give both")
        ttl = item.get(self.ttl_attribute)
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float)):
            raise ServerlessTypeError(
                f"item[{shown(self.ttl_attribute)}]={shown(ttl)} must be seconds"
            )
        if ttl is not None and not -1e15 <= ttl <= 1e15:
            raise ServerlessError(
                f"item[{shown(self.ttl_attribute)}]={shown(ttl, 40)} must be epoch seconds"
            )
        keys.append(None if ttl is None else float(ttl))
        return body, keys

    @staticmethod
    def _row(db: sqlite3.Connection, pk: str, sk: str) -> dict[str, Any] | None:
        row = db.execute("SELECT body FROM items WHERE pk=? AND sk=?", (pk, sk)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        """The item at (pk, sk), expired or not (TTL deletes lazily), or None."""
        check_name("pk", pk, max_len=1024)
        check_name("sk", sk, max_len=1024)
        with self._conn("KeyValueTable.get") as db:
            return self._row(db, pk, sk)

    def put(self, item: dict[str, Any], *, condition: Condition | None = None) -> None:
        """Write ``item`` whole, if ``condition(current item or None)`` holds (atomically).
        The condition may read the table; a write or close inside it raises
        :class:`ServerlessError`."""
        body, keys = self._check_item(item)
        if condition is not None and not callable(condition):
            raise ServerlessTypeError(f"condition={shown(condition)} must be callable or None")
        with self._conn("KeyValueTable.put", write=True) as db:
            if condition is not None:
                old = self._row(db, keys[0], keys[1])
                if not self._holds(condition, old):
                    raise ConditionFailed(f"condition failed for {shown((keys[0], keys[1]))}", old)
            db.execute(
                "INSERT OR REPLACE INTO items (body, pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk,"
                " expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (body, *keys),
            )

    def delete(self, pk: str, sk: str, *, condition: Condition | None = None) -> bool:
        """Delete (pk, sk) if ``condition`` holds; True when an item was there."""
        check_name("pk", pk, max_len=1024)
        check_name("sk", sk, max_len=1024)
        if condition is not None and not callable(condition):
            raise ServerlessTypeError(f"condition={shown(condition)} must be callable or None")
        with self._conn("KeyValueTable.delete", write=True) as db:
            old = self._row(db, pk, sk)
            if condition is not None and not self._holds(condition, old):
                raise ConditionFailed(f"condition failed for {shown((pk, sk))}", old)
            db.execute("DELETE FROM items WHERE pk=? AND sk=?", (pk, sk))
            return old is not None

    def _where(self, index: str | None, sk_from: str | None, sk_to: str | None) -> str:
        if not (index is None or isinstance(index, str)) or index not in INDEXES:
            raise ServerlessError(f"index={shown(index)} must be one of {list(INDEXES)}")
        for name, value in (("sk_from", sk_from), ("sk_to", sk_to)):
            if value is not None:
                check_name(name, value, max_len=1024)
        pk_col, sk_col = INDEXES[index]
        where = f"{pk_col} = ?"
        if sk_from is not None:
            where += f" AND {sk_col} >= ?"
        if sk_to is not None:
            where += f" AND {sk_col} < ?"
        return f"SELECT body FROM items WHERE {where} ORDER BY {sk_col}, pk, sk"

    def query(
        self,
        pk: str,
        *,
        index: str | None = None,
        sk_from: str | None = None,
        sk_to: str | None = None,
    ) -> list[dict[str, Any]]:
        """Items of one partition ``pk`` of the table or ``index``, sk in [sk_from, sk_to)."""
        check_name("pk", pk, max_len=1024)
        sql = self._where(index, sk_from, sk_to)
        args = [a for a in (pk, sk_from, sk_to) if a is not None]
        with self._conn("KeyValueTable.query") as db:
            return [json.loads(r[0]) for r in db.execute(sql, args)]

    def query_plan(self, index: str | None = None) -> str:
        """SQLite's plan for :meth:`query` on ``index`` (a SEARCH on an index, never a SCAN)."""
        sql = self._where(index, "a", "b")
        with self._conn("KeyValueTable.query_plan") as db:
            rows = db.execute("EXPLAIN QUERY PLAN " + sql, ("p", "a", "b")).fetchall()
        return " | ".join(str(r[-1]) for r in rows)

    def scan(self) -> list[dict[str, Any]]:
        """Every item (the brute-force read the access patterns avoid)."""
        with self._conn("KeyValueTable.scan") as db:
            return [json.loads(r[0]) for r in db.execute("SELECT body FROM items")]

    def sweep(self) -> int:
        """The TTL process: delete items whose TTL is before now (DynamoDB: less than the
        current time; at the TTL instant an item stays); return how many."""
        now = read_seconds(self.clock, ServerlessError, "KeyValueTable.sweep")
        with self._conn("KeyValueTable.sweep", write=True) as db:
            return db.execute("DELETE FROM items WHERE expires < ?", (now,)).rowcount

    def __len__(self) -> int:
        with self._conn("KeyValueTable.__len__") as db:
            return int(db.execute("SELECT count(*) FROM items").fetchone()[0])

    def close(self) -> None:
        """Close the SQLite connection. Closing twice does nothing; any other call after it
        raises :class:`ServerlessError`, as does closing inside a condition (the conditional
        write is then refused, nothing written)."""
        with self._lock:
            self._refuse_in_condition("KeyValueTable.close")
            self._closed = True
            self._db.close()
