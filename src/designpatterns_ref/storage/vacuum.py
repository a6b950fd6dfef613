"""VACUUM's plan for a heap: which slots to free, which HOT chains to redirect or cut.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

A version is dead when no snapshot, running or future, can see it: its creator aborted, or
its deleter committed before the oldest running snapshot began. Index entries point at the
root of a HOT chain, so a chain is cut carefully: when some of its versions survive, the
root's line pointer becomes a *redirect* to the first survivor (the index entries stay valid
and no index is touched); only when the whole chain is dead is the root freed and its index
entries deleted. A survivor whose successor died (an aborted update) is unlinked.

Complexity: O(slots) over the heap; the engine then deletes the freed roots' index entries.

>>> from designpatterns_ref.storage.heap_page import HeapPage, HeapTuple
>>> old = HeapTuple(3, {"id": 1}, 32, xmax=4, next=(0, 1), hot_updated=True)
>>> new = HeapTuple(4, {"id": 1}, 32, heap_only=True)
>>> plans, roots, removed = plan_vacuum([HeapPage([old, new])], lambda t: t is old)
>>> plans, roots, removed                  # slot 0 now redirects to slot 1
([(0, ((0, 1),))], set(), 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from designpatterns_ref.storage.heap_page import HeapPage, HeapTuple

__all__ = ["plan_vacuum"]


def _chain(page: HeapPage, start: int) -> list[int]:
    out: list[int] = []
    slot = start
    while True:
        t = page.slots[slot]
        if t is None or isinstance(t, int | str) or slot in out:
            return out
        out.append(slot)
        if not t.hot_updated or t.next is None:
            return out
        slot = t.next[1]


def plan_vacuum(
    pages: Sequence[HeapPage],
    dead: Callable[[HeapTuple], bool],
    *,
    first: int = 0,
    prune_only: bool = False,
) -> tuple[list[tuple[int, tuple[tuple[int, Any], ...]]], set[tuple[int, int]], int]:
    """Per page, the ``(slot, new)`` changes (``None`` free, an int redirect, ``"unlink"``).

    Returns ``(plans, roots, removed)``: the per-page changes, the root ctids whose index
    entries must go, and how many versions are removed. ``prune_only`` is the page pruning an
    update does when a page is full: it cannot touch indexes, so a wholly dead chain's root
    becomes a ``"dead"`` line pointer (its space freed, its slot kept for VACUUM).
    ``first`` numbers the pages given.
    """
    plans = []
    roots: set[tuple[int, int]] = set()
    removed = 0
    for p, page in enumerate(pages, start=first):
        changes: dict[int, Any] = {}
        reached: set[int] = set()
        for slot, item in enumerate(page.slots):
            if item == "dead" and not prune_only:
                changes[slot] = None
                roots.add((p, slot))
                continue
            if (
                item is None
                or isinstance(item, str)
                or (not isinstance(item, int) and item.heap_only)
            ):
                continue
            members = _chain(page, item if isinstance(item, int) else slot)
            reached.update(members)
            survivors = [m for m in members if not dead(_tuple(page, m))]
            for m in members:
                if m not in survivors:
                    changes[m] = None
            if not survivors:
                changes[slot] = "dead" if prune_only else None
                roots.add((p, slot))
                continue
            if survivors[0] != slot and page.slots[slot] != survivors[0]:
                changes[slot] = survivors[0]
            last = _tuple(page, survivors[-1])
            if last.hot_updated and last.next is not None and last.next[1] not in survivors:
                changes[survivors[-1]] = "unlink"
        for slot, item in enumerate(page.slots):
            orphan = item is not None and not isinstance(item, int | str) and slot not in reached
            if orphan and dead(item):  # type: ignore[arg-type]  # its updater aborted
                changes[slot] = None
        removed += sum(
            1
            for s, c in changes.items()
            if c != "unlink" and not isinstance(page.slots[s], int | str)
        )
        if changes:
            plans.append((p, tuple(sorted(changes.items(), key=lambda sc: sc[0]))))
    return plans, roots, removed


def _tuple(page: HeapPage, slot: int) -> HeapTuple:
    t = page.slots[slot]
    assert t is not None and not isinstance(t, int | str)
    return t
