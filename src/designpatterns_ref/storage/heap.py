"""Heap MVCC, PostgreSQL's way: an append-only heap of row versions and indexes of ctids.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

Every version of a row is a tuple in a fixed-size heap page, stamped with ``xmin`` (the
transaction that created it) and ``xmax`` (the one that deleted or replaced it). Every index
entry, primary key included, points at a tuple's physical place, its ctid ``(page, slot)``.
An update never changes a tuple: it sets the old one's ``xmax`` and appends a new version,
so every index needs a new entry pointing at the new ctid: with N secondary indexes an
update of one unindexed column writes N + 1 index entries (Uber's write amplification).
A HOT (heap-only tuple) update, possible when no indexed value changes and the new version
fits on the same page, writes no index entry: the old tuple points at the new one and index
lookups follow that chain inside the page. Dead versions stay until :meth:`HeapEngine.vacuum`
removes the ones no running snapshot can see, with their index entries (bloat until then).

Visibility is PostgreSQL's: a snapshot is ``(xmin, xmax, running)``; a version is visible if
its ``xmin`` is this transaction or committed before the snapshot, and its ``xmax`` is unset,
aborted, or not yet committed for this snapshot. A write to a key some concurrent transaction
wrote raises :class:`~designpatterns_ref.storage.base.WriteConflict` (first writer wins).

This module is the engine: where versions go (HOT or not), the WAL records that write them,
VACUUM, checkpoints and recovery. The rest has a module each: the visibility rule and the
transaction in :mod:`~designpatterns_ref.storage.heap_visibility`, pages, slots and HOT chains
in :mod:`~designpatterns_ref.storage.heap_page`, and VACUUM's plan in
:mod:`~designpatterns_ref.storage.vacuum`.

Complexity: a key lookup is one primary-index descent plus one heap page; an update is
O(indexes) entries without HOT, O(1) with it; vacuum reads every page.

>>> from designpatterns_ref.storage.base import Schema
>>> schema = Schema({"id": int, "city": str, "trips": int}, primary_key="id", indexes=["city"])
>>> db = HeapEngine(schema, full_page_writes=False)
>>> tx = db.begin(); tx.insert({"id": 1, "city": "Oslo", "trips": 0}); tx.commit()
>>> before = db.counters.copy()
>>> tx = db.begin(); tx.update(1, {"trips": 1}); tx.commit()
True
>>> (db.counters - before).index_entries_written      # HOT: the index is not touched
0
>>> tx = db.begin(); tx.update(1, {"city": "Bergen"}); tx.commit()
True
>>> db.begin().scan("city")
[{'id': 1, 'city': 'Bergen', 'trips': 1}]
>>> db.stats()["dead_versions"], db.vacuum()["removed"], db.stats()["dead_versions"]
(2, 2, 0)
"""

from __future__ import annotations

from collections.abc import Mapping
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
from designpatterns_ref.storage.heap_page import (
    PAGE_HEADER,
    TUPLE_HEADER,
    Ctid,
    HeapPage,
    HeapTuple,
    check_ctid,
    check_fits,
    data_size,
    follow,
    hot_chain,
    recount_free,
    slot_for,
)
from designpatterns_ref.storage.heap_visibility import HeapTransaction
from designpatterns_ref.storage.wal import Disk, Record, Wal, recovery_image

__all__ = ["HeapEngine", "HeapTransaction", "HeapTuple"]


@dataclass
class HeapState:
    """Everything a checkpoint writes: pages, indexes, commit log, next transaction id, and
    the engine's settings (PostgreSQL keeps fillfactor in the catalog and full_page_writes in
    the checkpoint record), so :meth:`HeapEngine.recover` restarts the engine as configured."""

    schema: Schema
    page_size: int
    hot: bool = True
    fillfactor: int = 100
    full_page_writes: bool = True
    pages: list[HeapPage] = field(default_factory=list)
    indexes: dict[str, CountedIndex] = field(default_factory=dict)
    clog: dict[int, bool] = field(default_factory=dict)  # xid -> committed (False: aborted)
    next_xid: int = 3  # PostgreSQL's first normal transaction id


class HeapEngine:
    """PostgreSQL-style storage: a heap of versions, indexes of ctids, HOT and VACUUM."""

    def __init__(
        self,
        schema: Schema,
        *,
        page_size: int = 8192,
        hot: bool = True,
        fillfactor: int = 100,
        full_page_writes: bool = True,
    ) -> None:
        if not isinstance(schema, Schema):
            raise StorageError(f"schema={shown(schema, 80)} must be a Schema")
        check_page_size(page_size)
        for name, flag in (("hot", hot), ("full_page_writes", full_page_writes)):
            if type(flag) is not bool:
                raise StorageError(f"{name}={shown(flag, 80)} must be True or False")
        if type(fillfactor) is not int or not 10 <= fillfactor <= 100:
            raise StorageError(f"fillfactor={shown(fillfactor, 80)} must be an int from 10 to 100")
        self.schema = schema
        self.hot = hot
        self.fillfactor = fillfactor
        self.counters = Counters()
        self.state = HeapState(schema, page_size, hot, fillfactor, full_page_writes)
        for column in (schema.primary_key, *schema.indexes):
            self.state.indexes[column] = CountedIndex(column, page_size=page_size)
        self.wal = Wal(self.counters, page_size=page_size, full_page_writes=full_page_writes)
        self.active: dict[int, HeapTransaction] = {}
        self._op_pages: set[Any] = set()
        self.writers: set[int] = set()  # transactions that have logged a change
        self.wal.checkpoint(self.state)

    # transactions -----------------------------------------------------------------------
    def begin(self) -> HeapTransaction:
        """Start a transaction; it sees what was committed before this moment."""
        xid = self.state.next_xid
        self.state.next_xid += 1
        running = frozenset(self.active)
        tx = HeapTransaction(self, xid, running, min(running | {xid}), xid)
        self.active[xid] = tx
        return tx

    def _end(self, tx: HeapTransaction) -> None:
        """Forget a finished transaction (called by it)."""
        self.active.pop(tx.xid, None)
        self.writers.discard(tx.xid)
        self.wal.flush()

    # logging and applying ---------------------------------------------------------------
    def _log(self, kind: str, xid: int, *args: Any, payload: int, pages: list[Any] = []) -> None:  # noqa: B006
        """Append a record to the WAL, count its pages, then apply it to the pages."""
        record = self.wal.append(kind, xid, *args, payload=payload, pages=pages)
        self._op_pages.update(pages)
        if kind not in ("commit", "abort"):
            self.writers.add(xid)
        self._apply(record)

    def _finish_op(self) -> None:
        """Count the distinct pages the operation just finished has written."""
        self.counters.pages_written += len(self._op_pages)
        self._op_pages.clear()

    def _apply(self, record: Record) -> None:
        """Apply one WAL record to the state (live, and again during recovery)."""
        s, args = self.state, record.args
        if record.kind == "heap_insert":
            (p, slot), row, heap_only = args
            self._put(
                p, slot, HeapTuple(record.xid, dict(row), self._size(row), heap_only=heap_only)
            )
        elif record.kind == "heap_update":
            old_ctid, new_ctid, row, hot = args
            old = follow(self.state.pages, old_ctid)
            old.xmax, old.next, old.hot_updated = record.xid, new_ctid, hot
            new = HeapTuple(record.xid, dict(row), self._size(row), heap_only=hot)
            self._put(new_ctid[0], new_ctid[1], new)
        elif record.kind == "heap_delete":
            follow(self.state.pages, args[0]).xmax = record.xid
        elif record.kind == "index_insert":
            s.indexes[args[0]].insert(args[1])
        elif record.kind == "index_delete":
            for entry in args[1]:
                s.indexes[args[0]].discard(entry)
        elif record.kind == "prune":
            page = s.pages[args[0]]
            for slot, new in args[1]:
                if new == "unlink":
                    t = page.slots[slot]
                    assert isinstance(t, HeapTuple)
                    t.next, t.hot_updated = None, False
                else:
                    page.slots[slot] = new
            recount_free(page, self.state.page_size)
        elif record.kind in ("commit", "abort"):
            s.clog[record.xid] = record.kind == "commit"

    def _size(self, row: Mapping[str, Value]) -> int:
        return TUPLE_HEADER + data_size(row)

    def _put(self, p: int, slot: int, t: HeapTuple) -> None:
        while len(self.state.pages) <= p:
            self.state.pages.append(HeapPage(free=self.state.page_size - PAGE_HEADER))
        page = self.state.pages[p]
        while len(page.slots) <= slot:
            page.slots.append(None)
        page.slots[slot] = t
        recount_free(page, self.state.page_size)

    def tuple_at(self, ctid: Ctid) -> HeapTuple:
        """The tuple at ``ctid`` (following a redirect), or :class:`StorageError`.

        ``ctid`` is ``(page, slot)``: two non-negative ints naming a slot the heap has; a slot
        that holds no tuple (free, or pruned and dead) is refused too.
        """
        p, slot = check_ctid(self.state.pages, ctid)
        found = self.state.pages[p].slots[slot]
        if isinstance(found, int):
            found = self.state.pages[p].slots[found]
        if not isinstance(found, HeapTuple):
            raise StorageError(f"ctid={shown(ctid)} holds no tuple (the slot is free or dead)")
        return found

    def chain(self, ctid: Ctid) -> list[tuple[Ctid, HeapTuple]]:
        """What an index entry at ``ctid`` reaches: the root and its HOT successors, in order.

        ``ctid`` is checked as in :meth:`tuple_at`; a free or dead slot reaches nothing (``[]``).
        """
        return hot_chain(self.state.pages, check_ctid(self.state.pages, ctid))

    # placing versions --------------------------------------------------------------------
    def _room(self, page: HeapPage, size: int, *, fill: bool) -> int | None:
        """The slot a tuple of ``size`` bytes would take on ``page``, if it fits (keeping the
        fillfactor's reserve free when ``fill``)."""
        reserve = self.state.page_size * (100 - self.fillfactor) // 100 if fill else 0
        return slot_for(page, size, reserve)

    def _check_fits(self, size: int) -> None:
        """Refuse a version no page can hold, before anything is pruned or logged."""
        check_fits(size, self.state.page_size)

    def _place(self, size: int) -> Ctid:
        """Where a new (non-HOT) version goes: a page with room, or a new page at the end.

        A page whose free bytes are short of the tuple is skipped unread; one with exactly
        enough may still take it in a free line pointer (no new pointer needed).
        """
        pages = self.state.pages
        for p in [len(pages) - 1, *range(len(pages) - 1)] if pages else []:
            if pages[p].free >= size:
                slot = self._room(pages[p], size, fill=True)
                if slot is not None:
                    return (p, slot)
        self._check_fits(size)
        return (len(pages), 0)

    def _write_insert(self, xid: int, row: Row) -> None:
        """Log and apply a new tuple and one entry in every index."""
        size = self._size(row)
        self._check_fits(size)
        ctid = self._place(size)
        self._log("heap_insert", xid, ctid, row, False, payload=8 + data_size(row),
                 pages=[("heap", ctid[0])])  # fmt: skip
        self.counters.row_versions_written += 1
        self._index_all(xid, row, ctid)

    def _write_update(self, xid: int, old: Ctid, row: Row, changes: Row) -> None:
        """Log and apply a new version: HOT on the same page if allowed, else with new entries."""
        size = self._size(row)
        self._check_fits(size)  # a refused update prunes nothing and logs nothing
        before = follow(self.state.pages, old).row
        hot_ok = self.hot and all(row[c] == before[c] for c in self.schema.indexes)
        slot = self._room(self.state.pages[old[0]], size, fill=False) if hot_ok else None
        if hot_ok and slot is None and self._prune(xid, old[0]):
            slot = self._room(self.state.pages[old[0]], size, fill=False)
        new = (old[0], slot) if slot is not None else self._place(size)
        pages = sorted({("heap", old[0]), ("heap", new[0])})
        self._log("heap_update", xid, old, new, row, slot is not None,
                 payload=14 + data_size(row), pages=pages)  # fmt: skip
        self.counters.row_versions_written += 1
        if slot is None:
            self._index_all(xid, row, new)
        else:
            self.counters.hot_updates += 1

    def _prune(self, xid: int, p: int) -> bool:
        """Prune one full page's dead HOT versions in passing (no index touched)."""
        from designpatterns_ref.storage.vacuum import plan_vacuum

        horizon = self.horizon()
        plans, _, removed = plan_vacuum(
            [self.state.pages[p]], lambda t: self._dead(t, horizon), first=p, prune_only=True
        )
        for page, changes in plans:
            self._log("prune", xid, page, changes, payload=8 + 4 * len(changes),
                     pages=[("heap", page)])  # fmt: skip
        return removed > 0

    def _index_all(self, xid: int, row: Row, ctid: Ctid) -> None:
        for column in (self.schema.primary_key, *self.schema.indexes):
            index = self.state.indexes[column]
            entry = (row[column], ctid)
            leaf = ("index", column, index.leaf_of(entry))
            self._log("index_insert", xid, column, entry, payload=8 + value_size(row[column]),
                     pages=[leaf])  # fmt: skip
            self.counters.index_entries_written += 1

    # vacuum, checkpoint, crash ---------------------------------------------------------
    def horizon(self) -> int:
        """The oldest transaction id some running snapshot may still treat as running."""
        return min((tx.snap_xmin for tx in self.active.values()), default=self.state.next_xid)

    def _dead(self, t: HeapTuple, horizon: int) -> bool:
        clog = self.state.clog
        if clog.get(t.xmin) is False:
            return True
        return t.xmax != 0 and clog.get(t.xmax) is True and t.xmax < horizon

    def vacuum(self) -> dict[str, int]:
        """Remove versions no snapshot can see and their index entries; returns what it did."""
        from designpatterns_ref.storage.vacuum import plan_vacuum

        horizon = self.horizon()
        self.counters.pages_read += len(self.state.pages)
        plans, removed_roots, removed = plan_vacuum(
            self.state.pages, lambda t: self._dead(t, horizon)
        )
        for column, index in self.state.indexes.items():
            self.counters.pages_read += index.leaves()
            doomed = tuple(e for e in index.entries if e[1] in removed_roots)
            if doomed:
                leaves = sorted({("index", column, index.leaf_of(e)) for e in doomed})
                self._log(
                    "index_delete", 0, column, doomed, payload=8 + 6 * len(doomed), pages=leaves
                )
        for p, changes in plans:
            self._log("prune", 0, p, changes, payload=8 + 4 * len(changes), pages=[("heap", p)])
        self._finish_op()
        self.wal.flush()
        return {"removed": removed, "pages": len(plans), "horizon": horizon}

    def stats(self) -> dict[str, int]:
        """Pages, live and dead versions (dead: invisible to every future snapshot), free bytes."""
        horizon = self.state.next_xid
        tuples = [t for p in self.state.pages for t in p.slots if isinstance(t, HeapTuple)]
        dead = sum(self._dead(t, horizon) for t in tuples)
        return {
            "pages": len(self.state.pages),
            "versions": len(tuples),
            "dead_versions": dead,
            "live_versions": len(tuples) - dead,
            "free_bytes": sum(p.free for p in self.state.pages),
            "index_entries": sum(len(i) for i in self.state.indexes.values()),
        }

    def checkpoint(self) -> None:
        """Write every page to disk; the log starts afresh (full page images again)."""
        self.wal.checkpoint(self.state)

    def crash(self) -> Disk:
        """Kill the engine: what survives is the last checkpoint and the flushed log."""
        return self.wal.crash()

    @classmethod
    def recover(cls, disk: Disk) -> HeapEngine:
        """Restart from ``disk``: replay the log; transactions with no commit record abort.

        The engine comes back with the settings it was built with (``page_size``, ``hot``,
        ``fillfactor``, ``full_page_writes``): they are part of the checkpoint image. ``disk``
        is left as it was (replay runs on a copy): it recovers the same way again.
        """
        state: HeapState = recovery_image(disk, HeapState, "HeapEngine")
        engine = cls(state.schema, page_size=state.page_size, hot=state.hot,
                     fillfactor=state.fillfactor,
                     full_page_writes=state.full_page_writes)  # fmt: skip
        engine.state = state
        for record in disk.log:
            engine._apply(record)
            state.next_xid = max(state.next_xid, record.xid + 1)
        for xid in range(3, state.next_xid):
            state.clog.setdefault(xid, False)
        engine.wal.checkpoint(state)
        return engine
