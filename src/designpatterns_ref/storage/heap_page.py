"""The heap's pages: row versions (tuples) in fixed-size slotted pages, and what fits where.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

A page, as in PostgreSQL, has a header, an array of line pointers (``slots``) growing from
the front and the tuples themselves; a tuple is addressed by its ctid ``(page, slot)``, which
is what every index entry holds. A slot is a tuple, a redirect to the slot a HOT chain now
starts at, ``"dead"`` (pruned, its index entries waiting for VACUUM) or free. A new tuple
takes a free slot if there is one (no new line pointer) and must fit the page's free bytes,
less the reserve a fillfactor keeps for HOT updates. An index entry's ctid reaches the root of
a HOT chain (through a redirect, if the root was pruned) and, from it, the chain's newer
versions on the same page (:func:`hot_chain`). Used by
:class:`~designpatterns_ref.storage.heap.HeapEngine`.

>>> page = HeapPage(free=8192 - PAGE_HEADER)
>>> slot_for(page, 100, reserve=0), slot_for(page, 9000, reserve=0)
(0, None)
>>> old = HeapTuple(3, {"id": 1}, 32, xmax=4, next=(0, 2), hot_updated=True)
>>> new = HeapTuple(4, {"id": 1}, 32, heap_only=True)
>>> [ctid for ctid, _ in hot_chain([HeapPage([1, old, new])], (0, 0))]  # slot 0 redirects
[(0, 1), (0, 2)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.storage.base import Row, StorageError, Value, value_size

__all__ = [
    "HeapPage",
    "HeapTuple",
    "check_ctid",
    "check_fits",
    "data_size",
    "follow",
    "hot_chain",
    "recount_free",
    "slot_for",
]

PAGE_HEADER = 24
TUPLE_HEADER = 24
LINE_POINTER = 4
Ctid = tuple[int, int]


@dataclass
class HeapTuple:
    """One row version: creator ``xmin``, deleter ``xmax`` (0: none) and the newer version."""

    xmin: int
    row: Row
    size: int
    xmax: int = 0
    next: Ctid | None = None
    hot_updated: bool = False
    heap_only: bool = False


@dataclass
class HeapPage:
    """Line pointers: a tuple, a redirect (the slot a HOT chain now starts at), ``"dead"``
    (pruned; its index entries wait for VACUUM) or ``None`` (free)."""

    slots: list[HeapTuple | int | str | None] = field(default_factory=list)
    free: int = 0


def data_size(row: Mapping[str, Value]) -> int:
    """:meth:`Schema.row_size` of a row the transaction has already checked."""
    return sum(value_size(v) for v in row.values())


def slot_for(page: HeapPage, size: int, reserve: int) -> int | None:
    """The slot a tuple of ``size`` bytes would take on ``page`` while keeping ``reserve``
    bytes free, or ``None`` when it does not fit."""
    free_slot = next((i for i, t in enumerate(page.slots) if t is None), None)
    need = size + (0 if free_slot is not None else LINE_POINTER)
    if page.free - reserve < need:
        return None
    return free_slot if free_slot is not None else len(page.slots)


def check_fits(size: int, page_size: int) -> None:
    """Refuse a version no page of ``page_size`` bytes can hold."""
    if size + LINE_POINTER > page_size - PAGE_HEADER:
        raise StorageError(f"a row of {size} bytes does not fit a {page_size}-byte page")


def recount_free(page: HeapPage, page_size: int) -> None:
    """Set ``page.free``: the page less its header, its line pointers and its tuples."""
    used = sum(t.size for t in page.slots if isinstance(t, HeapTuple))
    page.free = page_size - PAGE_HEADER - LINE_POINTER * len(page.slots) - used


def check_ctid(pages: Sequence[HeapPage], ctid: object) -> Ctid:
    """``ctid`` as a ``(page, slot)`` naming a slot of ``pages``, or :class:`StorageError`."""
    if (
        not isinstance(ctid, tuple)
        or len(ctid) != 2
        or type(ctid[0]) is not int
        or type(ctid[1]) is not int
    ):
        raise StorageError(f"ctid={shown(ctid, 80)} must be a (page, slot) pair of ints")
    p, slot = ctid
    if not 0 <= p < len(pages):
        raise StorageError(
            f"ctid={shown(ctid, 80)}: page must be from 0 to {len(pages) - 1} "
            f"(the heap has {len(pages)} pages)"
        )
    if not 0 <= slot < len(pages[p].slots):
        raise StorageError(
            f"ctid={shown(ctid, 80)}: slot must be from 0 to {len(pages[p].slots) - 1} "
            f"(page {p} has {len(pages[p].slots)} slots)"
        )
    return (p, slot)


def follow(pages: Sequence[HeapPage], ctid: Ctid) -> HeapTuple:
    """The tuple at ``ctid`` (following a redirect); ``ctid`` comes from the heap itself and
    holds a tuple (unchecked)."""
    slot = pages[ctid[0]].slots[ctid[1]]
    if isinstance(slot, int):
        slot = pages[ctid[0]].slots[slot]
    assert isinstance(slot, HeapTuple)
    return slot


def hot_chain(pages: Sequence[HeapPage], ctid: Ctid) -> list[tuple[Ctid, HeapTuple]]:
    """What an index entry at ``ctid`` reaches: the root (through a redirect) and its HOT
    successors on the same page, in order; ``[]`` for a free or dead slot. ``ctid`` names a
    slot the heap has (unchecked: see :func:`check_ctid`)."""
    page = pages[ctid[0]]
    slot: Any = page.slots[ctid[1]]
    at = ctid
    if isinstance(slot, int):
        at = (ctid[0], slot)
        slot = page.slots[slot]
    out = []
    while isinstance(slot, HeapTuple):
        out.append((at, slot))
        if not slot.hot_updated or slot.next is None:
            break
        at = slot.next
        slot = page.slots[at[1]]
    return out
