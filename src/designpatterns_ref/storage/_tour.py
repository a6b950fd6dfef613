"""``dpref tour storage``: one update, counted page by page on both engines; then the long reader.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)
"""

from __future__ import annotations

from collections.abc import Callable

from designpatterns_ref.storage.base import Schema, WriteConflict
from designpatterns_ref.storage.clustered import ClusteredEngine
from designpatterns_ref.storage.heap import HeapEngine
from designpatterns_ref.storage.workload import long_reader, secondary_reads, write_amplification

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Tell the story in numbers, deterministically, in about a second."""
    schema = Schema(
        {"id": int, "rider": int, "driver": int, "city": str, "status": str, "fare": int},
        primary_key="id",
        indexes=["rider", "driver", "city"],
    )
    out(f"A trips table with 3 secondary indexes: {schema}")
    engines: dict[str, HeapEngine | ClusteredEngine] = {
        "heap, no HOT": HeapEngine(schema, hot=False, full_page_writes=False),
        "heap with HOT": HeapEngine(schema, fillfactor=90, full_page_writes=False),
        "clustered": ClusteredEngine(schema),
    }
    for name, db in engines.items():
        tx = db.begin()
        tx.insert({"id": 1, "rider": 7, "driver": 42, "city": "SF", "status": "open", "fare": 0})
        tx.commit()
        before = db.counters.copy()
        tx = db.begin()
        tx.update(1, {"fare": 1250})
        tx.commit()
        d = db.counters - before
        out(f"  {name:14} update fare: {d.index_entries_written} index entries, "
            f"{d.pages_written} pages, {d.wal_bytes} WAL bytes, {d.undo_bytes} undo bytes, "
            f"{d.logical_replica_bytes} bytes to a logical replica")  # fmt: skip
    out("  The heap writes a new version and, without HOT, a new entry in all 4 indexes")
    out("  (primary key included): every index points at a physical place. HOT keeps the")
    out("  new version on the same page and touches no index; the clustered engine changes")
    out("  the row in place and keeps the old value in its undo log.")

    rows = write_amplification(10, rows=100, updates=100)
    out("\nIndex entries per update of an unindexed column, by number of secondary indexes:")
    out("  N   heap  heap+HOT  clustered")
    for r in rows[::2]:
        out(f"  {r['indexes']:<3} {r['heap']:5.1f} {r['heap_hot']:9.1f} {r['clustered']:10.1f}")

    heap = engines["heap with HOT"]
    a, b = heap.begin(), heap.begin()
    a.update(1, {"status": "paid"})
    try:
        b.update(1, {"status": "cancelled"})
    except WriteConflict as exc:
        out(f"\nTwo concurrent updates of trip 1: the second writer gets WriteConflict ({exc}).")
    a.commit()

    out("\nA reader keeps its snapshot while 100 updates a round run; clean-up after each round:")
    for r in long_reader(rows=100, rounds=3, updates=100):
        state = "reader open " if r["reader_open"] else "reader ended"
        out(f"  round {r['round']} ({state}): heap dead versions {r['heap_dead_versions']:4}, "
            f"heap pages {r['heap_pages']:3}; undo records {r['undo_records']:4}")  # fmt: skip
    out("  Neither VACUUM nor purge may free what the open snapshot might still read.")

    out("\nReading rows through a secondary index:")
    for r in secondary_reads(rows=2000, lookups=100):
        out(f"  {r['engine']:10} {r['pages_per_row_via_secondary']:.2f} pages per row "
            f"(a primary-key lookup: {r['pages_per_key_lookup']:.2f})")  # fmt: skip
    out("  The heap goes from the index straight to the tuple; the clustered engine finds the")
    out("  primary key in the secondary index, then descends the primary tree: Uber's price.")
