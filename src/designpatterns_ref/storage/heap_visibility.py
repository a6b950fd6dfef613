"""A transaction on the heap: PostgreSQL's visibility rule and first-writer-wins conflicts.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

A snapshot is ``(xmin, xmax, running)``: the oldest transaction still running when it began,
the first transaction id not yet assigned then, and the ids running at that moment. A
transaction's own writes, and those committed before the snapshot (an id below ``xmax``, not
running, committed in the commit log), are what it sees. A row version (tuple) is visible if
its creator ``xmin`` is seen and its deleter ``xmax`` is unset, aborted or not seen. A key's
versions are all those its primary-index entries reach, HOT successors included; a write to
a key one of whose versions a concurrent transaction (neither seen nor aborted) wrote is a
conflict, which :class:`~designpatterns_ref.storage.mvcc.TransactionBase` turns into
:class:`~designpatterns_ref.storage.base.WriteConflict` (first writer wins). The writes
themselves, and how they reach pages and indexes, are
:class:`~designpatterns_ref.storage.heap.HeapEngine`'s.

Complexity: a key's versions cost one primary-index descent plus one heap page per entry;
visibility is O(1) per version.

>>> from designpatterns_ref.storage import HeapEngine, Schema
>>> db = HeapEngine(Schema({"id": int, "v": int}, primary_key="id"))
>>> tx = db.begin(); tx.insert({"id": 1, "v": 0}); tx.commit()
>>> old = db.begin()                     # its snapshot: version 1 only
>>> tx = db.begin(); tx.update(1, {"v": 1}); tx.commit()
True
>>> old.get(1), db.begin().get(1)
({'id': 1, 'v': 0}, {'id': 1, 'v': 1})
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from designpatterns_ref.errors import shown
from designpatterns_ref.storage.base import Row, StorageError, Value
from designpatterns_ref.storage.heap_page import Ctid, HeapTuple, hot_chain
from designpatterns_ref.storage.mvcc import TransactionBase
from designpatterns_ref.storage.wal import COMMIT_RECORD

if TYPE_CHECKING:  # pragma: no cover
    from designpatterns_ref.storage.heap import HeapEngine

__all__ = ["HeapTransaction"]


class HeapTransaction(TransactionBase):
    """A transaction on a :class:`HeapEngine` (snapshot isolation)."""

    engine: HeapEngine

    def _visible(self, t: HeapTuple) -> bool:
        if not self._sees(t.xmin):
            return False
        return t.xmax == 0 or not self._sees(t.xmax)

    def _sees(self, xid: int) -> bool:
        if xid == self.xid:
            return True
        committed = self.engine.state.clog.get(xid)
        return committed is True and xid < self.snap_xmax and xid not in self.running

    def _concurrent(self, xid: int) -> bool:
        """Whether ``xid`` is another transaction's write this snapshot does not include."""
        return (
            xid != 0
            and xid != self.xid
            and self.engine.state.clog.get(xid) is not False
            and not self._sees(xid)
        )

    def _versions(self, key: Value) -> list[tuple[Ctid, HeapTuple]]:
        db = self.engine
        found = []
        pages: set[int] = set()
        for _, ctid in db.state.indexes[db.schema.primary_key].matching(key):
            found.extend(hot_chain(db.state.pages, ctid))
            pages.add(ctid[0])
        db.counters.pages_read += db.state.indexes[db.schema.primary_key].height() + len(pages)
        return found

    def _find(self, key: Value) -> tuple[Ctid, HeapTuple] | None:
        return next(((c, t) for c, t in self._versions(key) if self._visible(t)), None)

    def _conflicts(self, key: Value, versions: list[tuple[Ctid, HeapTuple]]) -> bool:
        return any(self._concurrent(t.xmin) or self._concurrent(t.xmax) for _, t in versions)

    def _get(self, key: Value) -> Row | None:
        found = self._find(key)
        return dict(found[1].row) if found else None

    def _insert(self, row: Row) -> bool:
        versions = self._versions(row[self.engine.schema.primary_key])
        if self._conflicts(row[self.engine.schema.primary_key], versions):
            return False
        if any(self._visible(t) for _, t in versions):
            raise StorageError(f"key={shown(row[self.engine.schema.primary_key])} already exists")
        self.engine._write_insert(self.xid, row)
        return True

    def _update(self, key: Value, changes: Row) -> bool | None:
        versions = self._versions(key)
        old = next(((c, t) for c, t in versions if self._visible(t)), None)
        if old is None:
            return False
        if self._conflicts(key, versions):
            return None
        self.engine._write_update(self.xid, old[0], {**old[1].row, **changes}, changes)
        return True

    def _delete(self, key: Value) -> bool | None:
        versions = self._versions(key)
        old = next(((c, t) for c, t in versions if self._visible(t)), None)
        if old is None:
            return False
        if self._conflicts(key, versions):
            return None
        self.engine._log("heap_delete", self.xid, old[0], payload=8, pages=[("heap", old[0][0])])
        return True

    def _scan(self, index: str, low: Value | None, high: Value | None) -> list[Row]:
        db = self.engine
        entries = db.state.indexes[index].range(low, high)
        db.counters.pages_read += db.state.indexes[index].range_pages(len(entries))
        out: list[Row] = []
        for _, ctid in entries:
            db.counters.pages_read += 1  # the heap page the entry points at
            out.extend(dict(t.row) for _, t in hot_chain(db.state.pages, ctid) if self._visible(t))
        return out

    def _finish(self, commit: bool) -> None:
        if self.xid in self.engine.writers:  # a read-only transaction logs nothing
            self.engine._log("commit" if commit else "abort", self.xid, payload=COMMIT_RECORD)
