"""The heap's pages: row versions (tuples) in fixed-size slotted pages, and what fits where.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

A page, as in PostgreSQL, has a header, an array of line pointers (``slots``) growing from
the front and the tuples themselves; a tuple is addressed by its ctid ``(page, slot)``, which
is what every index entry holds. A slot is a tuple, a redirect to the slot a HOT chain now
starts at, ``"dead"`` (pruned, its index entries waiting for VACUUM) or free. A new tuple
takes a free slot if there is one (no new line pointer) and must fit the page's free bytes,
less the reserve a fillfactor keeps for HOT updates. Used by
:class:`~designpatterns_ref.storage.heap.HeapEngine`.

>>> page = HeapPage(free=8192 - PAGE_HEADER)
>>> slot_for(page, 100, reserve=0), slot_for(page, 9000, reserve=0)
(0, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from designpatterns_ref.storage.base import Row, StorageError, Value, value_size

__all__ = ["HeapPage", "HeapTuple", "check_fits", "data_size", "slot_for"]

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
