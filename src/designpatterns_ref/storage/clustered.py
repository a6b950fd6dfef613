"""Clustered index and undo log, InnoDB's way: rows live in the primary key's B+tree.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

The table *is* its primary-key B+tree: each leaf record holds the whole row, the id of the
transaction that last wrote it (``DB_TRX_ID``) and a roll pointer into the undo log
(``DB_ROLL_PTR``). An update changes the record in place and first copies the old values of
the changed columns into an undo record; an older snapshot rebuilds the version it should
see by walking roll pointers back until the writer is one it sees. Secondary indexes hold
``(value, primary key)``, never a location, so an update of an unindexed column writes one
record and one undo record whatever the number of indexes (Uber's argument), but a read
through a secondary index needs a second descent, of the primary tree (the cost they accepted).
Purge frees undo records no running snapshot needs and removes delete-marked rows and stale
secondary entries; a long-running reader holds the purge back and the undo log grows.

Snapshot isolation here is the same as the heap engine's (first writer wins). InnoDB's own
REPEATABLE READ is weaker for writes: an UPDATE there changes the latest committed version,
not the snapshot's, so it never raises a conflict (a lost update is possible).

Complexity: a key lookup is one descent plus one undo page per version walked back; an update
is O(changed indexed columns) index entries.

>>> from designpatterns_ref.storage.base import Schema
>>> schema = Schema({"id": int, "city": str, "trips": int}, primary_key="id", indexes=["city"])
>>> db = ClusteredEngine(schema)
>>> tx = db.begin(); tx.insert({"id": 1, "city": "Oslo", "trips": 0}); tx.commit()
>>> reader = db.begin()
>>> tx = db.begin(); tx.update(1, {"trips": 5}); tx.commit()
True
>>> fresh = db.begin()
>>> reader.get(1)["trips"], fresh.get(1)["trips"]    # the reader's version comes from undo
(0, 5)
>>> fresh.commit()
>>> db.stats()["history_length"], db.purge()["freed"]     # held back by the reader
(1, 0)
>>> reader.commit(); db.purge()["freed"], db.stats()["history_length"]
(1, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.storage.base import (
    Counters,
    Row,
    Schema,
    StorageError,
    Value,
    check_page_size,
    value_size,
)
from designpatterns_ref.storage.btree import CountedIndex
from designpatterns_ref.storage.mvcc import TransactionBase
from designpatterns_ref.storage.wal import COMMIT_RECORD, Disk, Record, Wal, recovery_image

__all__ = ["ClusteredEngine", "ClusteredTransaction", "UndoRecord"]

UNDO_HEADER = 24
REDO_HEADER = 12


@dataclass
class ClusteredRecord:
    """A leaf record of the primary B+tree: the row, its writer, its roll pointer."""

    row: Row
    trx_id: int
    roll_ptr: int | None
    deleted: bool = False


@dataclass
class UndoRecord:
    """The version a write replaced (``old`` is ``None`` for an insert), and its size."""

    trx_id: int
    key: Value
    old: Row | None
    old_trx_id: int
    old_roll_ptr: int | None
    old_deleted: bool
    size: int
    added: tuple[tuple[str, tuple[Value, Value]], ...] = ()


@dataclass
class ClusteredState:
    """Everything a checkpoint writes."""

    schema: Schema
    page_size: int
    primary: CountedIndex
    secondary: dict[str, CountedIndex]
    rows: dict[Value, ClusteredRecord] = field(default_factory=dict)
    undo: dict[int, UndoRecord] = field(default_factory=dict)
    trx_undo: dict[int, list[int]] = field(default_factory=dict)
    committed: dict[int, bool] = field(default_factory=dict)
    next_undo: int = 1
    undo_tail: int = 0
    next_xid: int = 1


class ClusteredTransaction(TransactionBase):
    """A transaction on a :class:`ClusteredEngine` (snapshot isolation)."""

    engine: ClusteredEngine

    def _sees(self, xid: int) -> bool:
        if xid == self.xid:
            return True
        return (
            self.engine.state.committed.get(xid) is True
            and xid < self.snap_xmax
            and xid not in self.running
        )

    def _version(self, key: Value, descend: bool = True) -> Row | None:
        """Descend the primary tree, then walk the undo chain back to a version we see."""
        db = self.engine
        db.counters.pages_read += db.state.primary.height() if descend else 0
        rec = db.state.rows.get(key)
        if rec is None:
            return None
        row, trx, ptr, deleted = rec.row, rec.trx_id, rec.roll_ptr, rec.deleted
        while not self._sees(trx):
            undo = db.state.undo.get(ptr) if ptr is not None else None
            if undo is None or undo.old is None:
                return None
            db.counters.pages_read += 1
            row, trx, ptr, deleted = undo.old, undo.old_trx_id, undo.old_roll_ptr, undo.old_deleted
        return None if deleted else dict(row)

    def _conflicts(self, key: Value) -> bool:
        rec = self.engine.state.rows.get(key)
        return rec is not None and rec.trx_id != self.xid and not self._sees(rec.trx_id)

    def _get(self, key: Value) -> Row | None:
        return self._version(key)

    def _insert(self, row: Row) -> bool:
        key = row[self.engine.schema.primary_key]
        if self._conflicts(key):
            return False
        if self._version(key) is not None:
            raise StorageError(f"key={shown(key)} already exists")
        self.engine._write(self.xid, key, row, set(row))
        return True

    def _update(self, key: Value, changes: Row) -> bool | None:
        old = self._version(key)
        if old is None:
            return False
        if self._conflicts(key):
            return None
        self.engine._write(self.xid, key, {**old, **changes}, set(changes))
        return True

    def _delete(self, key: Value) -> bool | None:
        old = self._version(key)
        if old is None:
            return False
        if self._conflicts(key):
            return None
        self.engine._write(self.xid, key, old, set(), delete=True)
        return True

    def _scan(self, index: str, low: Value | None, high: Value | None) -> list[Row]:
        db = self.engine
        tree = db.state.primary if index == db.schema.primary_key else db.state.secondary[index]
        entries = tree.range(low, high)
        db.counters.pages_read += tree.range_pages(len(entries))
        primary = index == db.schema.primary_key
        keys = [e[0] for e in entries] if primary else list(dict.fromkeys(e[1] for e in entries))
        out = []
        for key in keys:
            row = self._version(key, descend=not primary)  # secondary: a second descent
            if row is None:
                continue
            value = row[index]
            if (low is None or low <= value) and (high is None or value < high):  # type: ignore[operator]
                out.append(row)
        return out

    def _finish(self, commit: bool) -> None:
        db = self.engine
        if self.xid not in db.writers:  # a read-only transaction logs nothing
            return
        if not commit:
            db._rollback(self.xid)
            db._log("abort", self.xid, payload=COMMIT_RECORD)
            return
        mine = db.state.trx_undo.get(self.xid, [])
        inserts = tuple(no for no in mine if db.state.undo[no].old is None)
        db._log("commit", self.xid, payload=COMMIT_RECORD)
        if inserts:  # an insert's undo record only served a rollback: free it once committed
            db._log("undo_free", self.xid, inserts, payload=4 * len(inserts))


class ClusteredEngine:
    """InnoDB-style storage: a clustered primary B+tree, an undo log, purge."""

    def __init__(self, schema: Schema, *, page_size: int = 16384) -> None:
        if not isinstance(schema, Schema):
            raise StorageError(f"schema={shown(schema, 80)} must be a Schema")
        check_page_size(page_size)
        self.schema = schema
        self.counters = Counters()
        row_guess = 24 + sum(8 if k is int else 24 for k in schema.columns.values())
        self.state = ClusteredState(
            schema,
            page_size,
            CountedIndex(schema.primary_key, page_size=page_size, entry_size=row_guess),
            {c: CountedIndex(c, page_size=page_size) for c in schema.indexes},
        )
        self.wal = Wal(self.counters, page_size=page_size, full_page_writes=False)
        self.active: dict[int, ClusteredTransaction] = {}
        self._op_pages: set[Any] = set()
        self.writers: set[int] = set()  # transactions that have logged a change
        self.wal.checkpoint(self.state)

    def begin(self) -> ClusteredTransaction:
        """Start a transaction with a read view of what is committed now."""
        xid = self.state.next_xid
        self.state.next_xid += 1
        running = frozenset(self.active)
        tx = ClusteredTransaction(self, xid, running, min(running | {xid}), xid)
        self.active[xid] = tx
        return tx

    def _end(self, tx: ClusteredTransaction) -> None:
        """Forget a finished transaction (called by it)."""
        self.active.pop(tx.xid, None)
        self.writers.discard(tx.xid)
        self.wal.flush()

    def _log(self, kind: str, xid: int, *args: Any, payload: int, pages: list[Any] = []) -> None:  # noqa: B006
        """Append a redo record, count its pages, then apply it."""
        record = self.wal.append(kind, xid, *args, payload=REDO_HEADER + payload, pages=pages)
        self._op_pages.update(pages)
        if kind not in ("commit", "abort"):
            self.writers.add(xid)
        self._apply(record)

    def _finish_op(self) -> None:
        """Count the distinct pages the operation just finished has written."""
        self.counters.pages_written += len(self._op_pages)
        self._op_pages.clear()

    def _apply(self, record: Record) -> None:
        """Apply one redo record to the state (live, and again during recovery)."""
        s, a = self.state, record.args
        if record.kind == "rec_write":
            key, row, trx, ptr, deleted = a
            if key not in s.rows:
                s.primary.insert((key,))
            s.rows[key] = ClusteredRecord(dict(row), trx, ptr, deleted)
        elif record.kind == "rec_remove":
            del s.rows[a[0]]
            s.primary.remove((a[0],))
        elif record.kind == "sec_insert":
            s.secondary[a[0]].insert(a[1])
        elif record.kind == "sec_delete":
            for entry in a[1]:
                s.secondary[a[0]].discard(entry)
        elif record.kind == "undo_append":
            no, undo = a
            s.undo[no] = UndoRecord(*undo)
            s.trx_undo.setdefault(record.xid, []).append(no)
            s.next_undo, s.undo_tail = no + 1, s.undo_tail + s.undo[no].size
        elif record.kind == "undo_free":
            for no in a[0]:
                s.undo.pop(no, None)
        elif record.kind in ("commit", "abort"):
            s.committed[record.xid] = record.kind == "commit"
            s.trx_undo.pop(record.xid, None)

    def _leaf(self, key: Value) -> tuple[str, int]:
        return ("primary", self.state.primary.leaf_of((key,)))

    def _write(
        self, xid: int, key: Value, row: Row, changed: set[str], delete: bool = False
    ) -> None:
        """Write ``row`` in place for ``xid``: an undo record first, then the leaf record."""
        s = self.state
        rec = s.rows.get(key)
        pk_size = value_size(key)
        if rec is None:
            old, old_trx, old_ptr, old_deleted, size = None, 0, None, False, UNDO_HEADER + pk_size
        else:
            old, old_trx, old_ptr, old_deleted = (
                dict(rec.row),
                rec.trx_id,
                rec.roll_ptr,
                rec.deleted,
            )
            cols = set(row) if rec.deleted else changed
            size = UNDO_HEADER + pk_size + sum(value_size(rec.row[c]) for c in cols if c in rec.row)
        added = []
        for column in self.schema.indexes:
            entry = (row[column], key)
            if not delete and entry not in s.secondary[column].entries:
                added.append((column, entry))
        no = s.next_undo
        undo = (xid, key, old, old_trx, old_ptr, old_deleted, size, tuple(added))
        self._log(
            "undo_append", xid, no, undo, payload=size, pages=[("undo", s.undo_tail // s.page_size)]
        )
        self.counters.undo_bytes += size
        data = sum(value_size(row[c]) for c in changed | {self.schema.primary_key})
        leaf = [self._leaf(key)]
        self._log("rec_write", xid, key, row, xid, no, delete, payload=data, pages=leaf)
        self.counters.row_versions_written += 1
        self.counters.index_entries_written += 1  # the clustered record is the primary's entry
        for column, entry in added:
            index = s.secondary[column]
            self._log("sec_insert", xid, column, entry, payload=value_size(entry[0]) + pk_size,
                     pages=[("index", column, index.leaf_of(entry))])  # fmt: skip
            self.counters.index_entries_written += 1

    def _chain(self, row: Row | None, ptr: int | None, freeing: frozenset[int]) -> list[Row]:
        """The versions a record holding ``row`` and roll pointer ``ptr`` carries: ``row``, then
        each undo record's old row, back to one freed (or in ``freeing``, about to be)."""
        out = [] if row is None else [row]
        while ptr is not None and ptr in self.state.undo and ptr not in freeing:
            undo = self.state.undo[ptr]
            if undo.old is not None:
                out.append(undo.old)
            ptr = undo.old_roll_ptr
        return out

    def _drop_stale(
        self, xid: int, key: Value, values: dict[str, set[Value]], kept: list[Row]
    ) -> None:
        """Delete the secondary entries ``(value, key)`` of ``values`` that no version in
        ``kept`` (what the record will carry once the caller's change is made) still holds.

        Callers log this *before* the change to the record, so a crash in between leaves the
        record as it was and the same step is taken again (on recovery, or by the next purge);
        the other order would leave entries that nothing leads back to."""
        for column, candidates in values.items():
            needed = {version[column] for version in kept}
            stale = tuple((v, key) for v in candidates - needed)
            stale = tuple(e for e in stale if e in self.state.secondary[column].entries)
            if stale:
                leaves = sorted(
                    {("index", column, self.state.secondary[column].leaf_of(e)) for e in stale}
                )
                self._log("sec_delete", xid, column, stale, payload=8 * len(stale), pages=leaves)

    def _rollback(self, xid: int) -> None:
        """Undo ``xid``'s writes, newest first, restoring each record from its undo record.

        The entries of the version undone that the restored versions do not hold go first
        (every indexed value of it, not only those it added: an entry it shared with an older
        version whose undo a purge has freed since is nobody's once it is gone)."""
        s = self.state
        numbers = list(s.trx_undo.get(xid, []))
        for no in reversed(numbers):
            undo = s.undo.get(no)
            rec = s.rows.get(undo.key) if undo is not None else None
            if undo is None or rec is None or rec.roll_ptr != no:
                continue  # a crash came between this undo record and the write it guards
            values: dict[str, set[Value]] = {c: {rec.row[c]} for c in self.schema.indexes}
            for column, entry in undo.added:
                values[column].add(entry[0])
            kept = self._chain(undo.old, undo.old_roll_ptr, frozenset())
            self._drop_stale(xid, undo.key, values, kept)
            if undo.old is None:
                self._log("rec_remove", xid, undo.key, payload=value_size(undo.key),
                         pages=[self._leaf(undo.key)])  # fmt: skip
            else:
                self._log("rec_write", xid, undo.key, undo.old, undo.old_trx_id, undo.old_roll_ptr,
                         undo.old_deleted, payload=UNDO_HEADER + value_size(undo.key),
                         pages=[self._leaf(undo.key)])  # fmt: skip
        if numbers:
            self._log("undo_free", xid, tuple(numbers), payload=4 * len(numbers))

    def horizon(self) -> int:
        """The oldest transaction id a running read view may not see."""
        return min((tx.snap_xmin for tx in self.active.values()), default=self.state.next_xid)

    def purge(self) -> dict[str, int]:
        """Free the undo no read view needs; remove delete-marked rows and stale entries.

        A delete-marked record whose delete every read view sees is removed whether or not an
        undo record still leads to it: a rollback can restore a delete mark after the undo of the
        delete was freed (a re-insert over the deleted row, aborted after a purge). The records
        and secondary entries go first, the undo last, each a redo record of its own: a crash
        in between leaves undo a later purge frees again, never a record or an entry that
        nothing leads to any more.
        """
        s, horizon = self.state, self.horizon()
        old = [no for no, u in s.undo.items()
               if s.committed.get(u.trx_id) is True and u.trx_id < horizon]  # fmt: skip
        freeing = frozenset(old)
        self.counters.pages_read += len(old)
        keys: dict[Value, dict[str, set[Value]]] = {}
        for no in old:
            undo = s.undo[no]
            per = keys.setdefault(undo.key, {c: set() for c in self.schema.indexes})
            for column in self.schema.indexes:
                if undo.old is not None:
                    per[column].add(undo.old[column])
        for key, marked in s.rows.items():
            if marked.deleted and marked.trx_id < horizon and s.committed.get(marked.trx_id):
                keys.setdefault(key, {c: set() for c in self.schema.indexes})
        removed = 0
        for key, values in keys.items():
            rec = s.rows.get(key)
            if (
                rec is not None
                and rec.deleted
                and rec.trx_id < horizon
                and s.committed.get(rec.trx_id) is True
            ):
                for column in self.schema.indexes:
                    values[column].add(rec.row[column])
                self._drop_stale(0, key, values, [])
                self._log("rec_remove", 0, key, payload=value_size(key), pages=[self._leaf(key)])
                removed += 1
            elif rec is not None:
                self._drop_stale(0, key, values, self._chain(rec.row, rec.roll_ptr, freeing))
            else:
                self._drop_stale(0, key, values, [])
        if old:
            self._log("undo_free", 0, tuple(old), payload=4 * len(old))
        self._finish_op()
        self.wal.flush()
        return {"freed": len(old), "removed_rows": removed, "horizon": horizon}

    def stats(self) -> dict[str, int]:
        """Rows, delete-marked rows, undo records (history length) and their bytes, pages."""
        s = self.state
        update_undo = [u for u in s.undo.values() if s.committed.get(u.trx_id) is True]
        return {
            "rows": sum(not r.deleted for r in s.rows.values()),
            "delete_marked": sum(r.deleted for r in s.rows.values()),
            "history_length": len(update_undo),
            "undo_bytes": sum(u.size for u in s.undo.values()),
            "pages": s.primary.leaves(),
            "index_entries": len(s.primary) + sum(len(i) for i in s.secondary.values()),
        }

    def checkpoint(self) -> None:
        """Write every page to disk; the redo log starts afresh."""
        self.wal.checkpoint(self.state)

    def crash(self) -> Disk:
        """Kill the engine: what survives is the last checkpoint and the flushed redo log."""
        return self.wal.crash()

    @classmethod
    def recover(cls, disk: Disk) -> ClusteredEngine:
        """Restart from ``disk``: redo the log, then roll back every unfinished transaction.

        ``disk`` is left as it was (replay runs on a copy): it recovers the same way again.
        """
        state: ClusteredState = recovery_image(disk, ClusteredState, "ClusteredEngine")
        engine = cls(state.schema, page_size=state.page_size)
        engine.state = state
        for record in disk.log:
            engine._apply(record)
            state.next_xid = max(state.next_xid, record.xid + 1)
        for xid in sorted(state.trx_undo, reverse=True):
            engine._rollback(xid)
            engine._log("abort", xid, payload=COMMIT_RECORD)
        for xid in range(1, state.next_xid):
            state.committed.setdefault(xid, False)
        engine._finish_op()
        engine.wal.checkpoint(state)
        return engine
