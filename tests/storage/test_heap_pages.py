"""Heap page boundaries: where a new version lands, against the rule the page module states.

A new (non-HOT) version goes to the first page, last page first, where
:func:`~designpatterns_ref.storage.heap_page.slot_for` finds it a slot (a free line pointer
needs only the tuple's bytes, a new one four more) while keeping the fillfactor's reserve;
only when no page has room does the heap grow by a page.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.storage import HeapEngine, Schema, SnapshotModel
from designpatterns_ref.storage.heap_page import TUPLE_HEADER, slot_for

SCHEMA = Schema({"id": int, "b": str, "c": str}, primary_key="id")
OVERHEAD = TUPLE_HEADER + 8 + 1 + 1  # a row of this schema with two empty strings
PAGE = 1024

steps = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 5), st.integers(0, 512)),
        st.tuples(st.just("delete"), st.integers(0, 5), st.just(0)),
        st.tuples(st.just("vacuum"), st.just(0), st.just(0)),
        # a row sized to a page's free bytes, give or take a line pointer: the boundary
        st.tuples(st.just("fit"), st.integers(0, 5), st.integers(-4, 0)),
    ),
    min_size=1,
    max_size=40,
)


def expected_ctid(db: HeapEngine, size: int) -> tuple[int, int]:
    """The stated rule, written out: last page first, then the others in order."""
    pages = db.state.pages
    reserve = PAGE * (100 - db.fillfactor) // 100
    for p in [len(pages) - 1, *range(len(pages) - 1)] if pages else []:
        slot = slot_for(pages[p], size, reserve)
        if slot is not None:
            return (p, slot)
    return (len(pages), 0)


@given(steps=steps, fillfactor=st.sampled_from([100, 70]))
@settings(max_examples=300, deadline=None)
def test_a_new_version_takes_the_first_page_with_room(
    steps: list[tuple[str, int, int]], fillfactor: int
) -> None:
    db = HeapEngine(SCHEMA, page_size=PAGE, fillfactor=fillfactor, full_page_writes=False)
    model = SnapshotModel(SCHEMA)
    for op, key, length in steps:
        if op == "vacuum":
            db.vacuum()
            continue
        if op == "fit":
            pages = db.state.pages
            if not pages:
                continue
            op, length = "insert", pages[key % len(pages)].free - OVERHEAD + length
            if not 0 <= length <= 512:
                continue
        row = {"id": key, "b": "x" * min(length, 256), "c": "y" * max(length - 256, 0)}
        present = model.begin().get(key) is not None
        if op == "insert" and not present:
            want = expected_ctid(db, OVERHEAD + length)
            before = len(db.state.indexes["id"])
        for t in (db, model):
            tx: Any = t.begin()
            if op == "insert" and not present:
                tx.insert(row)
            elif op == "delete":
                tx.delete(key)
            tx.commit()
        if op == "insert" and not present:
            assert len(db.state.indexes["id"]) == before + 1
            assert (key, want) in db.state.indexes["id"].entries, (want, db.state.pages)
    assert db.begin().scan("id") == model.rows()


def test_a_freed_line_pointer_takes_a_tuple_that_fills_the_page_exactly() -> None:
    """After VACUUM frees a slot, a tuple of exactly the page's free bytes fits there: a free
    line pointer costs nothing more (it went to a new page before)."""
    db = HeapEngine(SCHEMA, page_size=PAGE, full_page_writes=False)
    tx = db.begin()
    for key in range(4):
        tx.insert({"id": key, "b": "x" * 200, "c": ""})
    tx.commit()
    tx = db.begin()
    tx.delete(0)
    tx.commit()
    db.vacuum()
    page = db.state.pages[0]
    assert page.slots[0] is None
    fill = page.free - OVERHEAD
    tx = db.begin()
    tx.insert({"id": 9, "b": "y" * fill, "c": ""})
    tx.commit()
    assert (9, (0, 0)) in db.state.indexes["id"].entries
    assert len(db.state.pages) == 1 and page.free == 0
