"""Counters against costs worked out by hand; crashes between the log write and the page write."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.storage import (
    ClusteredEngine,
    Disk,
    HeapEngine,
    Schema,
    SimulatedCrash,
    SnapshotModel,
    StorageError,
)

SCHEMA = Schema({"id": int, "a": int, "c": int}, primary_key="id", indexes=["a"])
ROW = {"id": 1, "a": 2, "c": 3}  # 24 bytes of data: three 8-byte integers


def run(engine: Any, op: Any) -> dict[str, int]:
    before = engine.counters.copy()
    tx = engine.begin()
    op(tx)
    tx.commit()
    return (engine.counters - before).as_dict()


# Heap (no full-page images). Record = 24 header + 4 per page + payload.
#   heap_insert: payload 8 + 24 = 32 -> 60; index_insert: 8 + 8 = 16 -> 44; commit: 8 -> 32.
#   heap_update: payload 14 + 24 = 38 -> 66.
HEAP_CASES = {
    "insert": (lambda tx: tx.insert(ROW), dict(wal_bytes=60 + 44 + 44 + 32,
               index_entries_written=2, pages_written=3, row_versions_written=1,
               logical_replica_bytes=21 + (7 + 24) + 26)),
    "hot update": (lambda tx: tx.update(1, {"c": 4}), dict(wal_bytes=66 + 32,
                   index_entries_written=0, pages_written=1, row_versions_written=1,
                   logical_replica_bytes=21 + (7 + 16) + 26)),
    "indexed update": (lambda tx: tx.update(1, {"a": 5}), dict(wal_bytes=66 + 2 * 44 + 32,
                       index_entries_written=2, pages_written=3, row_versions_written=1)),
    "delete": (lambda tx: tx.delete(1), dict(wal_bytes=(24 + 4 + 8) + 32,
               index_entries_written=0, pages_written=1, logical_replica_bytes=21 + 15 + 26)),
    "read": (lambda tx: tx.get(1), dict(wal_bytes=0, pages_written=0, pages_read=2,
             logical_replica_bytes=0)),
}  # fmt: skip

# Clustered. Redo record = 24 header + 4 per page + 12 + payload.
#   insert: undo (24 + 8 = 32) -> 72; record (24 bytes) -> 64; secondary (8 + 8) -> 56;
#           the insert's undo freed at commit (4) -> 40; commit (8) -> 44.
#   update of c: undo (24 + 8 pk + 8 old c = 40) -> 80; record (pk + c = 16) -> 56; commit 44.
CLUSTERED_CASES = {
    "insert": (lambda tx: tx.insert(ROW), dict(wal_bytes=72 + 64 + 56 + 40 + 44,
               undo_bytes=32, index_entries_written=2, pages_written=3)),
    "update": (lambda tx: tx.update(1, {"c": 4}), dict(wal_bytes=80 + 56 + 44, undo_bytes=40,
               index_entries_written=1, pages_written=2, logical_replica_bytes=70)),
    "indexed update": (lambda tx: tx.update(1, {"a": 5}), dict(wal_bytes=80 + 56 + 56 + 44,
                       undo_bytes=40, index_entries_written=2, pages_written=3)),
    "read": (lambda tx: tx.get(1), dict(pages_read=1, pages_written=0, wal_bytes=0)),
}  # fmt: skip


@pytest.mark.parametrize("case", list(HEAP_CASES))
def test_heap_counters_match_hand_computed_costs(case: str) -> None:
    db = HeapEngine(SCHEMA, full_page_writes=False)
    if case != "insert":
        run(db, lambda tx: tx.insert(ROW))
    op, want = HEAP_CASES[case]
    got = run(db, op)
    assert {k: got[k] for k in want} == want
    assert got["physical_replica_bytes"] == got["wal_bytes"]


@pytest.mark.parametrize("case", list(CLUSTERED_CASES))
def test_clustered_counters_match_hand_computed_costs(case: str) -> None:
    db = ClusteredEngine(SCHEMA)
    if case != "insert":
        run(db, lambda tx: tx.insert(ROW))
    op, want = CLUSTERED_CASES[case]
    got = run(db, op)
    assert {k: got[k] for k in want} == want


def test_full_page_image_on_first_touch_after_checkpoint() -> None:
    db = HeapEngine(SCHEMA, page_size=8192)
    run(db, lambda tx: tx.insert(ROW))
    db.checkpoint()
    first = run(db, lambda tx: tx.update(1, {"c": 4}))
    second = run(db, lambda tx: tx.update(1, {"c": 5}))
    assert first["full_page_images"] == 1 and second["full_page_images"] == 0
    assert first["wal_bytes"] - second["wal_bytes"] == 8192


def test_without_hot_every_index_gets_an_entry() -> None:
    schema = Schema({"id": int, "a": int, "b": int, "c": int}, primary_key="id", indexes=["a", "b"])
    db = HeapEngine(schema, hot=False)
    run(db, lambda tx: tx.insert({"id": 1, "a": 1, "b": 1, "c": 1}))
    assert run(db, lambda tx: tx.update(1, {"c": 2}))["index_entries_written"] == 3


def test_aborted_work_ships_physically_but_not_logically() -> None:
    db = HeapEngine(SCHEMA, full_page_writes=False)
    before = db.counters.copy()
    tx = db.begin()
    tx.insert(ROW)
    tx.abort()
    delta = db.counters - before
    assert delta.physical_replica_bytes == 60 + 44 + 44 + 32 and delta.logical_replica_bytes == 0


# --- crash recovery -----------------------------------------------------------------------------

ops = st.lists(
    st.tuples(
        st.sampled_from(["insert", "update", "delete"]), st.integers(0, 4), st.integers(0, 9)
    ),
    min_size=1,
    max_size=4,
)


@pytest.mark.parametrize("kind", ["heap", "clustered"])
@given(transactions=st.lists(ops, min_size=1, max_size=8), crash_at=st.integers(1, 80),
       checkpoint_after=st.integers(0, 8))  # fmt: skip
@settings(max_examples=60, deadline=None)
def test_no_committed_transaction_is_lost(
    kind: str, transactions: list[list[tuple[str, int, int]]], crash_at: int, checkpoint_after: int
) -> None:
    """Kill the engine right after it writes WAL record ``crash_at`` (before the page change);
    recover; the table equals the model with every transaction whose commit record was written.
    The disk is read, not consumed: a second recovery from it gives the same table, and the two
    recovered engines share nothing."""
    db: Any = HeapEngine(SCHEMA, page_size=1024) if kind == "heap" else ClusteredEngine(SCHEMA)
    model = SnapshotModel(SCHEMA)
    db.wal.crash_at = db.wal.lsn + crash_at
    crashed = False
    for n, txn in enumerate(transactions):
        if n == checkpoint_after:
            db.checkpoint()
        tx, mtx = db.begin(), model.begin()
        try:
            for op, key, value in txn:
                for t in (tx, mtx):
                    try:
                        if op == "insert":
                            t.insert({"id": key, "a": value, "c": value})
                        elif op == "update":
                            t.update(key, {"a": value} if value % 2 else {"c": value})
                        else:
                            t.delete(key)
                    except StorageError:
                        pass
            try:
                tx.commit()
            finally:
                mtx.commit()  # the commit record was written: it must survive
        except SimulatedCrash:
            if mtx.status == "active":
                mtx.abort()
            crashed = True
            break
    disk = db.crash()
    recovered, again = type(db).recover(disk), type(db).recover(disk)
    for engine in (recovered, again):
        assert engine.begin().scan("id") == model.rows()
        assert engine.begin().scan("a") == sorted(model.rows(), key=lambda r: (r["a"], r["id"]))
    if not crashed:
        assert db.begin().scan("id") == model.rows()
    tx = recovered.begin()  # the recovered engine keeps working
    tx.insert({"id": 99, "a": 0, "c": 0})
    tx.commit()
    assert recovered.begin().get(99) == {"id": 99, "a": 0, "c": 0}
    assert again.begin().get(99) is None


def test_page_pruning_keeps_index_entries_valid_until_vacuum() -> None:
    """A full page is pruned by a HOT update: dead HOT versions are freed at once, but a dead
    row still named by index entries keeps its line pointer ("dead") until VACUUM removes the
    entries, so a new row can never be reached through an old row's entries."""
    db = HeapEngine(SCHEMA, page_size=1024, full_page_writes=False)
    model = SnapshotModel(SCHEMA)
    for t in (db, model):
        tx = t.begin()
        tx.insert({"id": 0, "a": 0, "c": 0})
        tx.insert({"id": 1, "a": 1, "c": 0})
        tx.commit()
        tx = t.begin()
        tx.delete(1)
        tx.commit()
    for n in range(1, 40):  # fill the page with HOT versions of row 0 until it is pruned
        for t in (db, model):
            tx = t.begin()
            tx.update(0, {"c": n})
            tx.commit()
    assert "dead" in db.state.pages[0].slots
    assert db.counters.hot_updates == 39 and len(db.state.pages) == 1
    for t in (db, model):
        tx = t.begin()
        tx.insert({"id": 2, "a": 2, "c": 0})
        tx.commit()
    for index in ("id", "a"):
        assert db.begin().scan(index) == model.begin().scan(index)
    assert db.begin().get(1) is None
    db.vacuum()
    assert "dead" not in db.state.pages[0].slots
    assert sorted(e[0] for e in db.state.indexes["id"].entries) == [0, 2]
    assert db.begin().scan("a") == model.begin().scan("a")


@pytest.mark.parametrize(
    "config",
    [
        dict(hot=True, fillfactor=100, full_page_writes=True),
        dict(hot=False, fillfactor=100, full_page_writes=True),
        dict(hot=True, fillfactor=50, full_page_writes=False),
        dict(hot=False, fillfactor=10, full_page_writes=False),
    ],
)
@pytest.mark.parametrize("checkpoint", [False, True])
def test_recovery_keeps_the_engines_configuration(config: dict[str, Any], checkpoint: bool) -> None:
    """HOT, fillfactor and full-page writes are written with the pages (PostgreSQL keeps
    fillfactor in the catalog and full_page_writes in the checkpoint record): recovering, with
    or without a checkpoint since the start, gives back the engine as configured, and it
    behaves so (no HOT update when HOT was off)."""
    db = HeapEngine(SCHEMA, page_size=1024, **config)
    tx = db.begin()
    tx.insert(ROW)
    tx.commit()
    if checkpoint:
        db.checkpoint()
    recovered = HeapEngine.recover(db.crash())
    again = HeapEngine.recover(recovered.crash())  # and after a second crash
    for engine in (recovered, again):
        got = (engine.hot, engine.fillfactor, engine.wal.full_page_writes, engine.state.page_size)
        assert got == (config["hot"], config["fillfactor"], config["full_page_writes"], 1024)
    delta = run(again, lambda tx: tx.update(1, {"c": 4}))
    assert delta["hot_updates"] == (1 if config["hot"] else 0)
    assert delta["index_entries_written"] == (0 if config["hot"] else 2)
    assert (delta["full_page_images"] > 0) is config["full_page_writes"]


@pytest.mark.parametrize("kind", ["heap", "clustered"])
@pytest.mark.parametrize("log", [5, None, (1,), ("x",), [()]], ids=repr)
def test_recover_refuses_a_disk_whose_log_holds_no_records(kind: str, log: Any) -> None:
    """A Disk with a good image but a log that is no tuple of records is refused, naming the
    disk (a TypeError or AttributeError deep in replay before)."""
    db: Any = HeapEngine(SCHEMA) if kind == "heap" else ClusteredEngine(SCHEMA)
    tx = db.begin()
    tx.insert(ROW)
    tx.commit()
    disk = db.crash()
    with pytest.raises(StorageError, match=r"^disk=.* must be a Disk from \w+Engine.crash"):
        type(db).recover(Disk(disk.image, log))
    assert type(db).recover(disk).begin().get(1) == ROW
