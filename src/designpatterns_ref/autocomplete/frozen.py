"""FrozenCompleter: built once into a few flat arrays; the smallest structure, and read-only.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

The trade-off marisa-trie makes: give up updates, get compactness. All terms, sorted, are
stored as one UTF-8 byte string with an array of offsets (UTF-8 keeps code-point order, so
binary search on bytes finds a prefix's range); a segment tree of 32-bit ranks (a term's place
in the global best-first order), whose high nodes cache their 10 best ranks, answers "the best
positions in this range" the same way
:class:`~designpatterns_ref.autocomplete.sorted_index.SortedPrefixIndex` does; an array maps a
rank back to its position. Ranks are ordered by weight, so the weights are stored once per
distinct value with the first rank that carries it (534 values for 300,000 English words). A
list of every 16th term makes the binary searches run mostly in C. No Python object per term
survives the build: about 22 bytes per term plus the text itself (8 for the tree, 4 each for
the offset and the position, the rest for the cached lists and the search heads).

The build runs in C-level passes, none a Python loop per term (:func:`_arrays`): one sort of
the terms, ranks dealt into buckets of small integer keys, one encode of the whole text split
at NUL bytes, the tree filled a run of nodes at a time. ``save(path)`` writes the arrays as
they are (:mod:`~designpatterns_ref.autocomplete.storage`) and ``load(path, mmap=True)`` maps
the file read-only and reads the arrays in place through ``memoryview`` objects: loading costs
a checksum of the file, and processes that map the same file share one copy of it.

Trade-off: the least memory and no per-term objects to scan, but every update raises
:class:`~designpatterns_ref.autocomplete.base.ReadOnlyError`; rebuild to change it. Safe to
share between threads, since nothing ever changes.

Complexity: ``complete`` O(p log n) to find the range, then O(log n) cached lists sorted (k <=
10; O(k log n) beyond); ``weight`` and ``in`` O(p log n); memory about (term bytes + 22)
bytes per term; ``load`` O(file size) for the checksum, with nothing copied when mapped.

```pycon
>>> frozen = FrozenCompleter([("kafka", 70), ("kotlin", 60), ("kubernetes", 90)])
>>> [c.term for c in frozen.complete("k", k=2)]
['kubernetes', 'kafka']
>>> try:
...     frozen.increment("kafka")
... except ReadOnlyError as exc:
...     print(exc)
FrozenCompleter cannot change after it is built; build a new one from the new items
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "tech.dpac")
>>> frozen.save(path)
>>> FrozenCompleter.load(path, mmap=True).complete("ko")
[Completion(term='kotlin', weight=60, distance=0)]

```
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, chain, count, islice, repeat
from operator import add, eq, floordiv, methodcaller
from typing import Any, NoReturn

from designpatterns_ref.autocomplete import storage
from designpatterns_ref.autocomplete._segtree import (
    BLOCK_HEIGHT,
    CACHED,
    ascending,
    build,
    build_caches,
    smallest,
)
from designpatterns_ref.autocomplete._shared import CompleterBase
from designpatterns_ref.autocomplete.base import (
    AutocompleteTypeError,
    RankKey,
    ReadOnlyError,
    StorageError,
    TermNotFound,
)
from designpatterns_ref.autocomplete.text import normalize, successor

__all__ = ["FrozenCompleter"]

_EMPTY_RANK = 2**32 - 1
_STEP = 16  # one search head every _STEP terms
_SECTIONS = ("blob", "offs", "tree", "cach", "posn", "wval", "wrnk")
_encode = methodcaller("encode", "utf-8", "surrogatepass")


def _arrays(terms: list[str], weights: list[int]) -> tuple[Any, ...]:
    """The arrays of a FrozenCompleter (the arguments of ``_adopt``) from checked terms and
    weights, a later duplicate replacing an earlier one.

    Every step is a C-level pass over the terms (``sorted``, ``map``, ``zip``, ``compress``,
    ``bytes.split``), none a Python loop per term:

    - one sort of the positions by term gives the terms and their weights in code-point order,
      and a comparison of neighbours finds duplicates (then a dict keeps the later ones);
    - a term's rank is its place in the order of (weight down, length up, position): each term
      gets the small integer key ``heaviness * (longest + 1) + length``, the positions are
      dealt into one bucket per key (in key order, keeping position order), and the buckets
      read one after another give the position of each rank; a counter per bucket numbers its
      positions and gives the rank of each position;
    - the text is joined with NUL between the terms, encoded once and split at the NUL bytes
      (UTF-8 writes a NUL byte only for a NUL), which gives the blob, the byte offsets and the
      search heads; a term that holds a NUL itself makes it encode term by term.
    """
    n = len(terms)
    order = sorted(range(n), key=terms.__getitem__)
    alphabetical = list(map(terms.__getitem__, order))
    by_position = list(map(weights.__getitem__, order))
    if any(map(eq, alphabetical, islice(alphabetical, 1, None))):  # duplicates: later wins
        table = dict(zip(terms, weights, strict=True))
        return _arrays(list(table), list(table.values()))
    distinct = sorted(set(by_position), reverse=True)  # the weights, heaviest first
    stride = max(map(len, terms), default=0) + 1
    heaviness = dict(zip(distinct, range(0, len(distinct) * stride, stride), strict=True))
    keys = list(map(add, map(heaviness.__getitem__, by_position), map(len, alphabetical)))
    buckets: dict[int, list[int]] = {key: [] for key in sorted(set(keys))}
    deque(map(list.append, map(buckets.__getitem__, keys), range(n)), maxlen=0)
    position = list(chain.from_iterable(buckets.values()))
    starts = list(accumulate(map(len, buckets.values()), initial=0))[:-1]  # first ranks
    counters = dict(zip(buckets, map(count, starts), strict=True))
    rank_at = map(next, map(counters.__getitem__, keys))
    # the first rank of each weight: the start of its first bucket (dict keeps the last write)
    weight_of = map(floordiv, reversed(buckets), repeat(stride))
    first_rank = dict(zip(weight_of, reversed(starts), strict=True))
    firsts = list(map(first_rank.__getitem__, range(len(distinct))))
    tree, size = build(rank_at, _EMPTY_RANK, _ranks)
    caches = [_EMPTY_RANK] * (2 * (size >> BLOCK_HEIGHT) * CACHED)
    build_caches(tree, size, caches)
    joined = "\0".join(alphabetical)
    encoded = joined.encode("utf-8", "surrogatepass")
    if n and joined.count("\0") == n - 1:  # no term holds a NUL
        parts = encoded.split(b"\0")
        blob = encoded.replace(b"\0", b"")
    else:
        parts = list(map(_encode, alphabetical))
        blob = b"".join(parts)
    offsets = array("I" if len(blob) < 2**32 else "Q", accumulate(map(len, parts), initial=0))
    return (
        blob,
        0,
        offsets,
        tree,
        _ranks(caches),
        _ranks(position),
        array("q", distinct),
        _ranks(firsts),
        parts[::_STEP],
    )


def _ranks(values: Iterable[int]) -> array[int]:
    return array("I", values)


class _Terms:
    """The sorted terms as a read-only sequence of UTF-8 ``bytes``, with a fast search.

    ``blob[base + offsets[i] : base + offsets[i + 1]]`` is term ``i``: ``blob`` is the joined
    bytes of a fresh build, or the whole file (``bytes`` or ``mmap``) of a loaded one, whose
    slices are ``bytes`` too. ``heads`` holds every ``_STEP``-th term as a real ``bytes``
    object: a C-level binary search over it narrows a search to ``_STEP`` terms, and a few
    slices of the blob finish it.
    """

    __slots__ = ("base", "blob", "heads", "offsets")

    def __init__(
        self, blob: Any, base: int, offsets: Sequence[int], heads: list[bytes] | None = None
    ) -> None:
        self.blob = blob
        self.base = base
        self.offsets = offsets
        self.heads = [self[i] for i in range(0, len(self), _STEP)] if heads is None else heads

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        base = self.base
        data: bytes = self.blob[base + self.offsets[i] : base + self.offsets[i + 1]]
        return data

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
    """Sorted UTF-8 terms and a rank tree in flat arrays; see the module docstring.

    ``FrozenCompleter(items, *, casefold=False)`` takes (term, weight) pairs, a later
    duplicate replacing an earlier one; ``FrozenCompleter.load(path, mmap=True)`` maps a saved
    one.
    """

    _terms: _Terms
    _tree: Sequence[int]  # a segment tree of ranks (places in the best-first order)
    _caches: Sequence[int]  # the CACHED best ranks below each high node of the tree
    _position: Sequence[int]  # where each rank sits in the sorted order
    _wval: Sequence[int]  # the distinct weights, heaviest first
    _wrnk: Sequence[int]  # the first rank that carries each of them
    _size: int

    def _build_pairs(self, terms: list[str], weights: list[int]) -> None:
        """Bulk build from checked terms and weights; see :func:`_arrays`."""
        if len(terms) >= _EMPTY_RANK:
            raise ReadOnlyError(f"FrozenCompleter holds fewer than {_EMPTY_RANK} terms")
        self._adopt(*_arrays(terms, weights))

    def _adopt(
        self,
        blob: Any,
        base: int,
        offsets: Sequence[int],
        tree: Sequence[int],
        caches: Sequence[int],
        position: Sequence[int],
        wval: Sequence[int],
        wrnk: Sequence[int],
        heads: list[bytes] | None = None,
    ) -> None:
        self._terms = _Terms(blob, base, offsets, heads)
        self._tree, self._size = tree, len(tree) // 2
        self._caches, self._position = caches, position
        self._wval, self._wrnk = wval, wrnk
        self._weights = {}  # unused: the arrays are the whole structure

    # -- files -------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the arrays to ``path`` (replacing it whole); ``load`` reads them back."""
        target = storage.check_path("save", path)
        terms = self._terms
        start, stop = terms.base + terms.offsets[0], terms.base + terms.offsets[-1]
        sections = {
            "blob": bytes(terms.blob[start:stop]) if terms.base else terms.blob,
            "offs": terms.offsets,
            "tree": self._tree,
            "cach": self._caches,
            "posn": self._position,
            "wval": self._wval,
            "wrnk": self._wrnk,
        }
        flags = storage.FLAG_CASEFOLD if self._casefold else 0
        storage.write(target, "frozen", sections, flags=flags, param=0)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, mmap: bool = False) -> FrozenCompleter:
        """A completer read from ``path`` (written by ``save``).

        With ``mmap=True`` the file is mapped read-only and the arrays are read in place:
        nothing is copied, and every process that maps the file shares its pages. The file
        must then stay unchanged while the completer is in use (``save`` replaces a file by
        renaming a new one over it, which leaves a mapped old one intact).
        Raises :class:`~designpatterns_ref.autocomplete.base.StorageError` for a missing,
        truncated, damaged or foreign file.
        """
        source = storage.check_path("load", path)
        if not isinstance(mmap, bool):
            raise AutocompleteTypeError(f"load: mmap={mmap!r:.60} must be True or False")
        stored = storage.read(source, mapped=mmap)
        storage.require(source, stored, "frozen", _SECTIONS)
        blob, offs, tree, cach, posn, wval, wrnk = (stored.sections[s] for s in _SECTIONS)
        n, size = len(offs) - 1, len(tree) // 2
        width = 1 << BLOCK_HEIGHT
        shape = (
            n >= 0
            and offs[0] == 0
            and offs[n] == len(blob)
            and len(tree) == 2 * size == 2 * max(width, -(-n // width) * width)
            and len(cach) == 2 * (size >> BLOCK_HEIGHT) * CACHED
            and len(posn) == n
            and len(wval) == len(wrnk)
            and (n == 0 or (len(wrnk) > 0 and wrnk[0] == 0))
        )
        if not shape:
            raise StorageError(f"load: path={source!r:.200} has arrays of inconsistent sizes")
        obj = cls.__new__(cls)
        obj._configure(casefold=bool(stored.flags & storage.FLAG_CASEFOLD))
        obj._adopt(stored.buffer, stored.offsets["blob"], offs, tree, cach, posn, wval, wrnk)
        return obj

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
    def _weight_of(self, rank: int) -> int:
        return self._wval[bisect_right(self._wrnk, rank) - 1]

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
        return self._weight_of(self._tree[self._size + at])

    def __contains__(self, term: object) -> bool:
        if not isinstance(term, str):
            return False
        return self._find(normalize(term, casefold=self._casefold)) >= 0

    def __len__(self) -> int:
        return len(self._terms)

    def items(self) -> Iterator[tuple[str, int]]:
        """Every (term, weight) pair, in alphabetical (code-point) order of the terms."""
        tree, size = self._tree, self._size
        for i in range(len(self._terms)):
            yield self._terms.text(i), self._weight_of(tree[size + i])

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
        tree, size = self._tree, self._size
        found: Iterable[tuple[int, int]]  # (rank, position)
        if k + len(skip) <= CACHED:  # the cached tree nodes hold the answer
            ranks = smallest(tree, size, self._caches, ranges, k + len(skip))
            found = [(r, self._position[r]) for r in ranks if r != _EMPTY_RANK]
        else:
            found = ((tree[size + at], at) for at in ascending(tree, size, ranges, _EMPTY_RANK))
        terms = self._terms
        blob, base, offsets = terms.blob, terms.base, terms.offsets
        wval, wrnk = self._wval, self._wrnk
        for rank, at in found:
            raw = blob[base + offsets[at] : base + offsets[at + 1]]
            term = raw.decode("utf-8", "surrogatepass")
            if term not in skip:
                out.append((-wval[bisect_right(wrnk, rank) - 1], len(term), term))
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
