"""Purge leaves nothing behind: no delete-marked row, undo record or secondary entry that no
version holds, whatever aborted in between and wherever a crash cut a purge short."""

from __future__ import annotations

from typing import Any

import pytest

from designpatterns_ref.storage import ClusteredEngine, Schema
from designpatterns_ref.storage.wal import SimulatedCrash

SCHEMA = Schema({"id": int, "city": str}, primary_key="id", indexes=["city"])


def write(db: ClusteredEngine, op: str, *args: Any) -> Any:
    tx = db.begin()
    getattr(tx, op)(*args)
    tx.commit()
    return tx


def assert_clean(db: ClusteredEngine) -> None:
    """After two purges with nothing running: only the live rows and their entries are left."""
    db.purge()
    db.purge()
    stats = db.stats()
    assert stats["delete_marked"] == stats["history_length"] == 0, stats
    live = db.begin().scan("id")
    assert sorted(db.state.secondary["city"].entries) == sorted((r["city"], r["id"]) for r in live)


def test_a_delete_mark_restored_after_its_undo_was_freed_is_purged() -> None:
    """Delete, re-insert (kept open), purge frees the delete's undo, the re-insert aborts: the
    restored delete-marked row is reachable from no undo record, and purge still removes it."""
    db = ClusteredEngine(SCHEMA)
    write(db, "insert", {"id": 1, "city": "Oslo"})
    write(db, "delete", 1)
    again = db.begin()
    again.insert({"id": 1, "city": "Rome"})
    assert db.purge()["freed"] == 1
    again.abort()
    assert db.stats()["delete_marked"] == 1
    assert db.purge()["removed_rows"] == 1
    assert_clean(db)


def test_an_aborted_write_drops_an_entry_it_shared_with_a_purged_version() -> None:
    """Oslo -> Rome committed; an open update back to Oslo reuses the old version's entry; purge
    frees that version; the update aborts: nothing holds ("Oslo", 1) any more."""
    db = ClusteredEngine(SCHEMA)
    write(db, "insert", {"id": 1, "city": "Oslo"})
    write(db, "update", 1, {"city": "Rome"})
    back = db.begin()
    back.update(1, {"city": "Oslo"})
    db.purge()
    back.abort()
    assert_clean(db)
    assert db.begin().get(1) == {"id": 1, "city": "Rome"}


def _history() -> ClusteredEngine:
    """Rows deleted, updated in their indexed column, deleted and re-inserted: work for purge."""
    db = ClusteredEngine(SCHEMA)
    for i in range(4):
        write(db, "insert", {"id": i, "city": f"c{i}"})
    write(db, "update", 0, {"city": "moved"})
    write(db, "delete", 1)
    write(db, "delete", 2)
    write(db, "insert", {"id": 2, "city": "back"})
    write(db, "update", 3, {"city": "c0"})
    write(db, "delete", 3)
    return db


@pytest.mark.parametrize("after", range(1, 16))
def test_a_crash_at_any_record_of_a_purge_leaves_nothing_behind(after: int) -> None:
    db = _history()
    want = db.begin().scan("id")
    db.wal.crash_at = db.wal.lsn + after
    try:
        db.purge()
    except SimulatedCrash:
        db = ClusteredEngine.recover(db.crash())
    assert db.begin().scan("id") == want
    assert_clean(db)
    assert db.begin().scan("id") == want
