"""SortedPrefixIndex: a sorted list where a prefix is a range, plus a range-maximum tree.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

Sort the terms and every prefix becomes a contiguous range, found by two binary searches
(:func:`~designpatterns_ref.autocomplete.text.successor` gives the end). The top k of a range
is a range-maximum question, the idea of Hsu and Ottaviano's "RMQ trie" (WWW 2013). A segment
tree over the sorted positions holds the best rank key of every node, and the nodes covering
32 positions or more also cache their 10 best keys. A range is then a ragged slice at each end
plus O(log n) cached lists, and one C-level sort of those few hundred keys gives the top 10,
however many terms the range holds; a larger k walks the tree best first, O(log n) per result.

Positions must stay put for the tree, so the index is log-structured, like an LSM tree in
miniature: the bulk of the terms sit in a sorted run under the segment tree; terms added later
go to a small ``SortedList`` buffer (from ``sortedcontainers``) that queries scan and merge;
removed terms leave an empty leaf. When buffer and holes outgrow about sqrt(n), run and buffer
are merged and the tree rebuilt.

Trade-off: a weight change of a known term is one O(log n) tree update; a new term costs
O(log n) plus its share of the periodic O(n) rebuild (amortised O(sqrt n)); memory is a list
and a tree of 2n references. Choose it when the vocabulary is mostly fixed and weights move.

Complexity: ``complete`` O(p log n) to find the range, then O(log n) cached lists sorted for
k <= 10 (O(k log n) beyond), plus b buffered matches; weight changes O(log n); new terms
amortised O(sqrt n).

```pycon
>>> index = SortedPrefixIndex([("java", 80), ("javascript", 95), ("julia", 30)])
>>> index.insert("jax", 90)  # buffered until the next rebuild
>>> [c.term for c in index.complete("ja", k=3)]
['javascript', 'jax', 'java']

```
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from heapq import merge
from itertools import islice
from math import isqrt
from operator import neg

from sortedcontainers import SortedList

from designpatterns_ref.autocomplete._segtree import (
    BLOCK_HEIGHT,
    CACHED,
    ascending,
    build,
    build_caches,
    refresh_caches,
    smallest,
    update,
)
from designpatterns_ref.autocomplete._shared import CompleterBase
from designpatterns_ref.autocomplete.base import RankKey, _rank_key
from designpatterns_ref.autocomplete.text import successor

__all__ = ["SortedPrefixIndex"]

#: The value of an empty leaf: greater than every rank key (whose first item is <= 0).
_EMPTY: RankKey = (1, 0, "")


def next_chars(terms: list[str], prefix: str, lo: int, hi: int) -> Iterator[str]:
    """The distinct characters that follow ``prefix`` in ``terms[lo:hi]`` (all start with it)."""
    n = len(prefix)
    i = lo
    while i < hi:
        term = terms[i]
        if len(term) == n:
            i += 1
            continue
        char = term[n]
        yield char
        end = successor(prefix + char)
        i = hi if end is None else bisect_left(terms, end, i, hi)


class SortedPrefixIndex(CompleterBase):
    """A sorted run with a segment tree of rank keys, plus a buffer; see the module docstring.

    ``SortedPrefixIndex(items=(), *, casefold=False)`` takes (term, weight) pairs.
    """

    _run: list[str]
    _tree: list[RankKey]
    _caches: list[RankKey]
    _size: int
    _buffer: SortedList
    _holes: int

    def _build(self, weights: dict[str, int], alphabetical: list[str]) -> None:
        self._rebuild(weights, alphabetical)

    def _rebuild(self, weights: dict[str, int], run: list[str] | None = None) -> None:
        """Bulk build: the sorted run, its rank keys (made in C-level passes) and the tree."""
        self._weights = weights
        self._run = sorted(weights) if run is None else run
        negated = map(neg, map(weights.__getitem__, self._run))
        keys: list[RankKey] = list(zip(negated, map(len, self._run), self._run, strict=True))
        self._tree, self._size = build(keys, _EMPTY)
        self._caches = [_EMPTY] * (2 * (self._size >> BLOCK_HEIGHT) * CACHED)
        build_caches(self._tree, self._size, self._caches)
        self._buffer = SortedList()
        self._holes = 0

    def _range(self, prefix: str) -> tuple[int, int]:
        end = successor(prefix)
        run = self._run
        lo = bisect_left(run, prefix)
        return lo, (len(run) if end is None else bisect_left(run, end, lo))

    def _apply(self, term: str, old: int | None, new: int | None) -> None:
        run = self._run
        at = bisect_left(run, term)
        if at < len(run) and run[at] == term:  # in the run: one tree update
            update(self._tree, self._size, at, _EMPTY if new is None else _rank_key(term, new))
            refresh_caches(self._tree, self._size, self._caches, at)
            self._holes += (new is None) - (old is None)
        elif old is None:
            self._buffer.add(term)
        elif new is None:
            self._buffer.remove(term)
        if len(self._buffer) + self._holes > max(64, isqrt(len(run))):
            weights = dict(self._weights)
            if new is None:
                del weights[term]
            else:
                weights[term] = new
            self._rebuild(weights)

    def _start(self, prefix: str) -> str:
        return prefix

    def _top(self, starts: list[str], k: int, skip: set[str]) -> list[RankKey]:
        tree, size = self._tree, self._size
        ranges = [self._range(prefix) for prefix in starts]
        weights = self._weights
        buffered = sorted(
            _rank_key(term, weights[term])
            for prefix in starts
            for term in self._buffer.irange(prefix, successor(prefix), inclusive=(True, False))
        )
        found: Iterable[RankKey]
        if k + len(skip) <= CACHED:  # the cached tree nodes hold the answer
            found = smallest(tree, size, self._caches, ranges, k + len(skip))
        else:
            found = (tree[i + size] for i in ascending(tree, size, ranges, _EMPTY))
        merged = merge(found, buffered) if buffered else found
        best = (key for key in merged if key[2] not in skip and key != _EMPTY)
        return list(islice(best, k))

    def _fuzzy_root(self, char: str) -> str:
        return char

    def _fuzzy_children(self, state: str) -> Iterable[tuple[str, str]]:
        lo, hi = self._range(state)
        chars = set(next_chars(self._run, state, lo, hi))
        n = len(state)
        for term in self._buffer.irange(state, successor(state), inclusive=(True, False)):
            if len(term) > n:
                chars.add(term[n])
        return [(char, state + char) for char in sorted(chars)]
