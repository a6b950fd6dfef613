"""FrozenCompleter: built once into a few flat arrays; the smallest structure, and read-only.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

The trade-off marisa-trie makes: give up updates, get compactness. All terms, sorted, are
stored as one UTF-8 byte string with an array of offsets (UTF-8 keeps code-point order, so
binary search on bytes finds a prefix's range); weights sit in an array of 64-bit integers;
and a segment tree of 32-bit ranks (a term's place in the global best-first order), whose high
nodes cache their 10 best ranks, answers "the best positions in this range" the same way
:class:`~designpatterns_ref.autocomplete.sorted_index.SortedPrefixIndex` does. A list of every
8th term makes the binary searches run mostly in C. No Python object
per term survives the build: a few bytes per term plus the text itself.

Trade-off: the least memory and no per-term objects to scan, but every update raises
:class:`~designpatterns_ref.autocomplete.base.ReadOnlyError`; rebuild to change it. Safe to
share between threads, since nothing ever changes.

Complexity: ``complete`` O(p log n) to find the range, then O(log n) cached lists sorted (k <=
10; O(k log n) beyond); ``weight`` and ``in`` O(p log n); memory about (term bytes + 30) bytes
per term.

```pycon
>>> frozen = FrozenCompleter([("kafka", 70), ("kotlin", 60), ("kubernetes", 90)])
>>> [c.term for c in frozen.complete("k", k=2)]
['kubernetes', 'kafka']
>>> try:
...     frozen.increment("kafka")
... except ReadOnlyError as exc:
...     print(exc)
FrozenCompleter cannot change after it is built; build a new one from the new items

```
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import NoReturn

from designpatterns_ref.autocomplete._segtree import (
    BLOCK_HEIGHT,
    CACHED,
    ascending,
    build,
    build_caches,
    smallest,
)
from designpatterns_ref.autocomplete._shared import CompleterBase
from designpatterns_ref.autocomplete.base import RankKey, ReadOnlyError, TermNotFound
from designpatterns_ref.autocomplete.text import normalize, successor

__all__ = ["FrozenCompleter"]

_EMPTY_RANK = 2**32 - 1
_STEP = 8  # one search head every _STEP terms


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class _Terms:
    """The sorted terms as a read-only sequence of UTF-8 ``bytes``, with a fast search.

    ``heads`` holds every ``_STEP``-th term as a real ``bytes`` object: a C-level binary
    search over it narrows a search to ``_STEP`` terms, and a few slices of the blob finish it.
    """

    __slots__ = ("blob", "heads", "offsets")

    def __init__(self, blob: bytes, offsets: array[int]) -> None:
        self.blob = blob
        self.offsets = offsets
        self.heads = [self[i] for i in range(0, len(self), _STEP)]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        return self.blob[self.offsets[i] : self.offsets[i + 1]]

    def text(self, i: int) -> str:
        return self[i].decode("utf-8", "surrogatepass")

    def find(self, needle: bytes, lo: int = 0, hi: int | None = None) -> int:
        """``bisect_left(self, needle, lo, hi)``, in O(log n) mostly in C."""
        hi = len(self) if hi is None else hi
        j = bisect_left(self.heads, needle)  # heads[j - 1] < needle <= heads[j]
        start = (j - 1) * _STEP + 1 if j else 0
        at = bisect_left(self, needle, start, min(j * _STEP, len(self)))
        return min(max(at, lo), hi)


class FrozenCompleter(CompleterBase):
    """Sorted UTF-8 terms, weights and a rank tree in flat arrays; see the module docstring.

    ``FrozenCompleter(items, *, casefold=False)`` takes (term, weight) pairs, a later
    duplicate replacing an earlier one.
    """

    _terms: _Terms
    _weight_of: array[int]
    _tree: array[int]  # a segment tree of ranks (places in the best-first order)
    _caches: array[int]  # the CACHED best ranks below each high node of the tree
    _position: array[int]  # where each rank sits in the sorted order
    _size: int

    def _load(self, ranked: list[tuple[str, int]]) -> None:
        if len(ranked) >= _EMPTY_RANK:
            raise ReadOnlyError(f"FrozenCompleter holds fewer than {_EMPTY_RANK} terms")
        by_rank = [term for term, _ in ranked]
        order = sorted(range(len(ranked)), key=by_rank.__getitem__)  # rank at each position
        encoded = [_encode(by_rank[rank]) for rank in order]
        ends = list(accumulate(map(len, encoded), initial=0))
        offsets = array("I" if ends[-1] < 2**32 else "Q", ends)
        self._terms = _Terms(b"".join(encoded), offsets)
        self._weight_of = array("q", [ranked[rank][1] for rank in order])
        tree, self._size = build(order, _EMPTY_RANK)
        self._caches = array("I", [_EMPTY_RANK]) * (2 * (self._size >> BLOCK_HEIGHT) * CACHED)
        build_caches(tree, self._size, self._caches)
        self._tree = array("I", tree)
        self._position = array("I", sorted(range(len(order)), key=order.__getitem__))
        self._weights = {}  # unused: the arrays are the whole structure

    # -- read-only -------------------------------------------------------------------------
    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise ReadOnlyError(
            "FrozenCompleter cannot change after it is built; build a new one from the new items"
        )

    insert = _refuse
    increment = _refuse
    remove = _refuse

    def _apply(self, term: str, old: int | None, new: int | None) -> None:
        self._refuse()

    # -- lookups -----------------------------------------------------------------------------
    def _find(self, term: str) -> int:
        """The position of ``term`` (already normalised), or -1."""
        needle = _encode(term)
        at = self._terms.find(needle)
        return at if at < len(self._terms) and self._terms[at] == needle else -1

    def weight(self, term: str) -> int:
        """The weight of ``term``; raise ``TermNotFound`` when it is absent."""
        key = self._term(term)
        at = self._find(key)
        if at < 0:
            raise TermNotFound(f"term={key!r} is not in this completer")
        return self._weight_of[at]

    def __contains__(self, term: object) -> bool:
        if not isinstance(term, str):
            return False
        return self._find(normalize(term, casefold=self._casefold)) >= 0

    def __len__(self) -> int:
        return len(self._terms)

    def items(self) -> Iterator[tuple[str, int]]:
        """Every (term, weight) pair, in alphabetical (code-point) order of the terms."""
        for i in range(len(self._terms)):
            yield self._terms.text(i), self._weight_of[i]

    def _range(self, prefix: str) -> tuple[int, int]:
        terms = self._terms
        end = successor(prefix)
        lo = terms.find(_encode(prefix))
        hi = len(terms) if end is None else terms.find(_encode(end), lo)
        return lo, hi

    def _start(self, prefix: str) -> str:
        return prefix

    def _top(self, starts: list[str], k: int, skip: set[str]) -> list[RankKey]:
        out: list[RankKey] = []
        ranges = [self._range(prefix) for prefix in starts]
        positions: Iterable[int]
        if k + len(skip) <= CACHED:  # the cached tree nodes hold the answer
            ranks = smallest(self._tree, self._size, self._caches, ranges, k + len(skip))
            positions = [self._position[r] for r in ranks if r != _EMPTY_RANK]
        else:
            positions = ascending(self._tree, self._size, ranges, _EMPTY_RANK)
        blob, offsets, weights = self._terms.blob, self._terms.offsets, self._weight_of
        for at in positions:
            term = blob[offsets[at] : offsets[at + 1]].decode("utf-8", "surrogatepass")
            if term not in skip:
                out.append((-weights[at], len(term), term))
                if len(out) == k:
                    break
        return out

    def _fuzzy_root(self, char: str) -> str:
        return char

    def _fuzzy_children(self, state: str) -> Iterable[tuple[str, str]]:
        lo, hi = self._range(state)
        n = len(state)
        out = []
        while lo < hi:
            term = self._terms.text(lo)
            if len(term) == n:
                lo += 1
                continue
            char = term[n]
            out.append((char, state + char))
            end = successor(state + char)
            lo = hi if end is None else self._terms.find(_encode(end), lo, hi)
        return out
