"""A minimum segment tree over positions, and the best-first walk that lists a range in order.

Shared by :class:`~designpatterns_ref.autocomplete.sorted_index.SortedPrefixIndex` (values are
rank keys in a list) and :class:`~designpatterns_ref.autocomplete.frozen.FrozenCompleter`
(values are integer ranks in an ``array``). Node ``i`` holds the minimum of nodes ``2i`` and
``2i + 1``; the leaves ``size .. 2 * size - 1`` hold the values, ``empty`` where there is none.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableSequence
from heapq import heapify, heappop, heappush
from typing import Any


def build(leaves: list[Any], empty: Any) -> tuple[list[Any], int]:
    """A tree (as a list) over ``leaves`` and its leaf offset ``size``, in O(n)."""
    size = 1
    while size < len(leaves):
        size *= 2
    tree = [empty] * (2 * size)
    tree[size : size + len(leaves)] = leaves
    for i in range(size - 1, 0, -1):
        left, right = tree[2 * i], tree[2 * i + 1]
        tree[i] = left if left < right else right
    return tree, size


def update(tree: MutableSequence[Any], size: int, position: int, value: Any) -> None:
    """Set one leaf and fix its ancestors, stopping where nothing changes: O(log n)."""
    i = position + size
    tree[i] = value
    i //= 2
    while i:
        left, right = tree[2 * i], tree[2 * i + 1]
        best = left if left < right else right
        if tree[i] == best:
            return
        tree[i] = best
        i //= 2


def ascending(
    tree: MutableSequence[Any], size: int, ranges: list[tuple[int, int]], empty: Any
) -> Iterator[int]:
    """Yield the positions in ``ranges`` (half-open, disjoint) by increasing value.

    The ranges are first cut into O(log n) whole subtrees; a heap then holds the subtrees not
    yet listed. Popping the smallest and walking down to its minimum leaf yields the next
    position, pushing the sibling passed at each level. O(log n) per position yielded.
    """
    heap: list[tuple[Any, int]] = []
    for lo, hi in ranges:
        lo += size
        hi += size
        while lo < hi:
            if lo & 1:
                heap.append((tree[lo], lo))
                lo += 1
            if hi & 1:
                hi -= 1
                heap.append((tree[hi], hi))
            lo //= 2
            hi //= 2
    heapify(heap)
    while heap:
        value, i = heappop(heap)
        if value == empty:
            return
        while i < size:
            i *= 2
            if tree[i] == value:
                other = i + 1
            else:
                other, i = i, i + 1
            if tree[other] != empty:
                heappush(heap, (tree[other], other))
        yield i - size
