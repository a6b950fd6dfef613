"""A minimum segment tree over positions, and the best-first walk that lists a range in order.

Shared by :class:`~designpatterns_ref.autocomplete.sorted_index.SortedPrefixIndex` (values are
rank keys in a list) and :class:`~designpatterns_ref.autocomplete.frozen.FrozenCompleter`
(one leaf per block of terms, its best term's ranking value, in an ``array``). Node ``i``
holds the minimum of nodes ``2i`` and ``2i + 1``; the leaves ``size .. 2 * size - 1`` hold the
values, ``empty`` where there is none.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, MutableSequence, Sequence
from heapq import heapify, heappop, heappush
from itertools import chain, compress
from operator import gt, itemgetter, le
from typing import Any

#: Nodes this high (covering 2**BLOCK_HEIGHT leaves) and above cache their best values.
BLOCK_HEIGHT = 5
#: How many values each of those nodes caches (at most 2**BLOCK_HEIGHT).
CACHED = 10


def build(
    leaves: Iterable[Any], empty: Any, make: Callable[[Iterable[Any]], Any] = list
) -> tuple[Any, int]:
    """A tree over ``leaves`` (as ``make`` builds it: a list, or an ``array``) and its leaf
    offset ``size``, in O(n).

    ``size`` is ``len(leaves)`` rounded up to a whole number of blocks of
    ``2**BLOCK_HEIGHT`` leaves, not to a power of two: the bottom-up tree is correct for any
    size (node ``i`` covers the leaves below it, and a range still splits into O(log n) whole
    nodes), and the padding stays under one block. The nodes are filled in runs ``lo .. hi - 1``
    whose children (``2 * lo .. 2 * hi - 1``) are all done, each run by one C-level pass
    (:func:`pairwise_min`), so no Python loop runs per node.
    """
    width = 1 << BLOCK_HEIGHT
    tree = make(leaves)
    n = len(tree)
    size = max(width, -(-n // width) * width)
    pad = make([empty])
    tree = pad * size + tree + pad * (size - n)
    hi = size  # nodes hi .. 2 * size - 1 are done
    while hi > 1:
        lo = (hi + 1) // 2  # so that every child, 2 * lo or more, is done
        tree[lo:hi] = make(pairwise_min(tree[2 * lo : 2 * hi]))
        hi = lo
    return tree, size


def pairwise_min(level: Sequence[Any]) -> Iterator[Any]:
    """``min(level[2i], level[2i + 1])`` for each pair of an even-length ``level``, in C.

    ``map(min, ...)`` calls a varargs builtin per pair; two ``operator`` comparisons mark
    which of each pair to keep and ``compress`` keeps it, about twice as fast.
    """
    firsts, seconds = level[0::2], level[1::2]
    keep = [False] * len(level)
    keep[0::2] = map(le, firsts, seconds)
    keep[1::2] = map(gt, firsts, seconds)
    return compress(level, keep)


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
    tree: Sequence[Any], size: int, ranges: list[tuple[int, int]], empty: Any
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


def build_caches(tree: Sequence[Any], size: int, caches: MutableSequence[Any]) -> None:
    """Fill ``caches`` (``2 * (size >> BLOCK_HEIGHT) * CACHED`` slots): the slots
    ``i * CACHED ...`` hold the ``CACHED`` smallest leaf values below node ``i``, for every
    node of height >= ``BLOCK_HEIGHT``; O(n log CACHED).

    The lowest of those nodes sort their block of leaves, the others the two cached lists of
    their children; the nodes are done in runs whose children are done (as in :func:`build`),
    each run by one ``map`` over its slices.
    """
    first = size >> BLOCK_HEIGHT  # the nodes of height BLOCK_HEIGHT are first .. 2*first-1
    width = 1 << BLOCK_HEIGHT
    blocks = map(slice, range(size, 2 * size, width), range(size + width, 2 * size + width, width))
    caches[first * CACHED : 2 * first * CACHED] = _best(map(tree.__getitem__, blocks))
    hi = first
    while hi > 1:
        lo = (hi + 1) // 2
        starts = range(2 * lo * CACHED, 2 * hi * CACHED, 2 * CACHED)
        stops = range(starts.start + 2 * CACHED, starts.stop + 2 * CACHED, 2 * CACHED)
        pairs = map(slice, starts, stops)
        caches[lo * CACHED : hi * CACHED] = _best(map(caches.__getitem__, pairs))
        hi = lo


def _best(groups: Iterable[Iterable[Any]]) -> list[Any]:
    """The ``CACHED`` smallest of each group, the groups one after the other."""
    return list(chain.from_iterable(map(_FIRST, map(sorted, groups))))


_FIRST = itemgetter(slice(0, CACHED))


def refresh_caches(
    tree: Sequence[Any], size: int, caches: MutableSequence[Any], position: int
) -> None:
    """Recompute the caches above leaf ``position`` after it changed: O(log n), stopping
    where a cache comes out unchanged."""
    first = size >> BLOCK_HEIGHT
    width = 1 << BLOCK_HEIGHT
    i = (position + size) >> BLOCK_HEIGHT
    start = size + (i - first) * width
    caches[i * CACHED : (i + 1) * CACHED] = sorted(tree[start : start + width])[:CACHED]
    i //= 2
    while i:
        best = sorted(caches[2 * i * CACHED : (2 * i + 2) * CACHED])[:CACHED]
        if best == caches[i * CACHED : (i + 1) * CACHED]:
            return
        caches[i * CACHED : (i + 1) * CACHED] = best
        i //= 2


def smallest(
    tree: Sequence[Any],
    size: int,
    caches: Sequence[Any],
    ranges: list[tuple[int, int]],
    k: int,
) -> list[Any]:
    """The ``k`` (at most ``CACHED``) smallest leaf values in ``ranges``, empty ones last.

    Each range is a ragged leaf slice at either end (under 2**BLOCK_HEIGHT leaves each) and
    O(log n) cached nodes between. The answer cannot be worse than the k-th value of any one
    cached node, so only the values up to the best such bound are kept from each cache (a
    binary search in each) and one C-level sort of those few finishes the job.
    """
    width = 1 << BLOCK_HEIGHT
    first = size >> BLOCK_HEIGHT
    parts: list[Any] = []
    nodes: list[int] = []
    for lo, hi in ranges:
        a = -(-lo // width) * width  # the first block boundary at or after lo
        b = hi // width * width  # the last block boundary at or before hi
        if b - a < width:  # a short range: its leaves are few
            parts += tree[size + lo : size + hi]
            continue
        parts += tree[size + lo : size + a]
        parts += tree[size + b : size + hi]
        lo, hi = first + a // width, first + b // width
        while lo < hi:
            if lo & 1:
                nodes.append(lo * CACHED)
                lo += 1
            if hi & 1:
                hi -= 1
                nodes.append(hi * CACHED)
            lo //= 2
            hi //= 2
    if nodes:
        bound = min(caches[start + k - 1] for start in nodes)
        for start in nodes:
            parts += caches[start : bisect_right(caches, bound, start, start + CACHED)]
    parts.sort()
    return parts[:k]
