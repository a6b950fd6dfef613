"""What every engine's transaction shares: checks, conflicts, ordering, logical change capture.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

:class:`TransactionBase` holds a transaction's snapshot (its id, the ids running when it began
and the bounds PostgreSQL calls ``xmin`` / ``xmax``), validates every argument before touching
anything (a refused call writes nothing), turns an engine's "conflict" answer into an abort
and :class:`~designpatterns_ref.storage.base.WriteConflict`, records the committed row changes
a logical replica would receive, and returns scans ordered by (indexed value, primary key).
The engines supply ``_get``, ``_insert``, ``_update``, ``_delete``, ``_scan`` and ``_finish``.

Complexity: O(columns) of checking per call on top of the engine's own work.

>>> from designpatterns_ref.storage import ClusteredEngine, Schema
>>> db = ClusteredEngine(Schema({"id": int, "v": int}, primary_key="id"))
>>> tx = db.begin(); tx.insert({"id": 1, "v": 0}); tx.commit()
>>> tx.status
'committed'
>>> tx.get(1)
Traceback (most recent call last):
...
designpatterns_ref.storage.base.TransactionClosed: transaction 1 is committed; begin a new one
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.storage.base import (
    Row,
    TransactionClosed,
    Value,
    WriteConflict,
)
from designpatterns_ref.storage.wal import logical_transaction_size

__all__ = ["TransactionBase"]


class TransactionBase:
    """The engine-independent half of a snapshot-isolated transaction."""

    engine: Any

    def __init__(
        self, engine: Any, xid: int, running: frozenset[int], snap_xmin: int, snap_xmax: int
    ) -> None:
        self.engine = engine
        self.xid = xid
        self.running = running
        self.snap_xmin = snap_xmin
        self.snap_xmax = snap_xmax
        self.status = "active"
        self.changes: list[tuple[str, Row | Value]] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.xid} {self.status}>"

    def _open(self) -> None:
        if self.status != "active":
            raise TransactionClosed(f"transaction {self.xid} is {self.status}; begin a new one")

    def _done(self) -> None:
        self.engine._finish_op()

    def get(self, key: Value) -> Row | None:
        """The row with primary key ``key`` as this snapshot sees it, or ``None``."""
        self._open()
        key = self.engine.schema.check_key(key)
        try:
            return self._get(key)
        finally:
            self._done()

    def insert(self, row: Mapping[str, Value]) -> None:
        """Add a row (every column). A visible row with the same key: :class:`StorageError`."""
        self._open()
        checked = self.engine.schema.check_row(row)
        try:
            if not self._insert(checked):
                self._conflict(checked[self.engine.schema.primary_key])
            self.changes.append(("insert", checked))
        finally:
            self._done()

    def update(self, key: Value, changes: Mapping[str, Value]) -> bool:
        """Set some columns of the row ``key``; ``False`` if this snapshot has no such row."""
        self._open()
        key = self.engine.schema.check_key(key)
        checked = self.engine.schema.check_changes(changes)
        try:
            done = self._update(key, checked)
            if done is None:
                self._conflict(key)
            if done:
                self.changes.append(("update", {self.engine.schema.primary_key: key, **checked}))
            return bool(done)
        finally:
            self._done()

    def delete(self, key: Value) -> bool:
        """Delete the row ``key``; ``False`` if this snapshot has no such row."""
        self._open()
        key = self.engine.schema.check_key(key)
        try:
            done = self._delete(key)
            if done is None:
                self._conflict(key)
            if done:
                self.changes.append(("delete", key))
            return bool(done)
        finally:
            self._done()

    def scan(self, index: str, low: Value | None = None, high: Value | None = None) -> list[Row]:
        """Rows whose ``index`` column lies in ``[low, high)`` (``None``: unbounded).

        ``index`` is the primary-key column or an indexed column; rows come ordered by that
        column, then by primary key.
        """
        self._open()
        schema = self.engine.schema
        index = schema.check_index(index)
        lo = schema.check_bound("low", low, index)
        hi = schema.check_bound("high", high, index)
        try:
            rows = self._scan(index, lo, hi)
        finally:
            self._done()
        pk = schema.primary_key
        return sorted(rows, key=lambda r: (r[index], r[pk]))

    def commit(self) -> None:
        """Make this transaction's writes durable and visible to later snapshots."""
        self._open()
        self._finish(True)
        self._done()
        self.status = "committed"
        counters = self.engine.counters
        counters.commits += 1
        counters.logical_replica_bytes += logical_transaction_size(self.changes)
        self.engine._end(self)

    def abort(self) -> None:
        """Throw this transaction's writes away."""
        self._open()
        self._rollback()

    def _rollback(self) -> None:
        self._finish(False)
        self._done()
        self.status = "aborted"
        self.engine.counters.aborts += 1
        self.engine._end(self)

    def _conflict(self, key: Value) -> None:
        self._rollback()
        raise WriteConflict(
            f"key={shown(key)} was written by a concurrent transaction; transaction {self.xid} "
            "is aborted (first writer wins); retry it"
        )

    # what an engine provides ------------------------------------------------------------
    def _get(self, key: Value) -> Row | None:
        raise NotImplementedError

    def _insert(self, row: Row) -> bool:
        raise NotImplementedError

    def _update(self, key: Value, changes: Row) -> bool | None:
        raise NotImplementedError

    def _delete(self, key: Value) -> bool | None:
        raise NotImplementedError

    def _scan(self, index: str, low: Value | None, high: Value | None) -> list[Row]:
        raise NotImplementedError

    def _finish(self, commit: bool) -> None:
        raise NotImplementedError
