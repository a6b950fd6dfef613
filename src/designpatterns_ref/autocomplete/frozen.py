"""FrozenCompleter: built once into a few compressed blocks; the smallest structure, and read-only.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

The trade-off marisa-trie makes: give up updates, get compactness. The terms, sorted, are cut
into blocks of ``BLOCK`` (64) neighbours. A block holds its terms as UTF-8 joined by NUL, then
each term's weight class (its index among the distinct weights, lightest first) as one byte
plane per byte of the class (the high planes of light words are runs of zeros), the whole
compressed with raw DEFLATE (``zlib``): neighbours in sorted order share prefixes and endings,
which the compressor's back-references take away. The blocks are concatenated, with an array
of their offsets and the first term of each block kept apart (uncompressed) for the binary
search. The distinct weights are stored once (534 values for 300,000 English words).

The best-first order is that of :func:`~designpatterns_ref.autocomplete.base.rank_key`
(weight down, length up, term up). Each term gets one integer that sorts the same way,
``(heaviness * stride + length) * slots + position``; a block's value is the smallest of its
terms', and a minimum segment tree over the block values
(:mod:`~designpatterns_ref.autocomplete._segtree`) lists the blocks of a range best first.
Since the value's last part is the position, a decoded term compares with a block not yet
opened by integers alone, so ``complete`` opens the two partial blocks at the ends of the
prefix's range, then whole blocks best first, and stops once its ``k`` best decoded terms all
beat the next block's value: about ``k`` blocks at most, usually fewer.

The build is a handful of C-level passes (sort, ``map``, one ``zlib`` call per block), none a
Python loop per term. ``save(path)`` writes the arrays
(:mod:`~designpatterns_ref.autocomplete.storage`) and ``load(path, mmap=True)`` maps the file
read-only and reads them in place: loading costs a checksum, and processes that map the same
file share one copy.

Trade-off: about 5 bytes a term (within 1.5 times marisa-trie's succinct trie on English
words), at the price of decompressing a block (a few microseconds) per block a query opens;
every update raises :class:`~designpatterns_ref.autocomplete.base.ReadOnlyError`; rebuild to
change it. Safe to share between threads, since nothing ever changes.

Complexity: ``complete`` O(p log n) to find the range, then O(k (log n + BLOCK)) for the
blocks it opens; ``weight`` and ``in`` O(p log n + BLOCK); memory about the compressed size of
the terms and weight classes plus 16 bytes a block; ``load`` O(file size) for the checksum.

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
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NoReturn

from designpatterns_ref.autocomplete import storage
from designpatterns_ref.autocomplete._blocks import EMPTY, SECTIONS, Blocks, consistent, pack
from designpatterns_ref.autocomplete._segtree import CACHED, ascending, smallest
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

Pooled = tuple[int, str, int]  # (value, term, class); class -1 - b stands for block b's rest


def _trim(pool: list[Pooled], count: int) -> list[Pooled]:
    """``pool`` (sorted) up to its ``count``-th term: a stand-in's value is only a lower
    bound, so stand-ins do not count, and those after that term cannot matter."""
    seen = 0
    for i, entry in enumerate(pool):
        if entry[2] >= 0:
            seen += 1
            if seen == count:
                return pool[: i + 1]
    return pool


def _encode(term: str) -> bytes:
    return term.encode("utf-8", "surrogatepass")


class FrozenCompleter(CompleterBase):
    """Sorted terms in compressed blocks and a tree of block values; see the module docstring.

    ``FrozenCompleter(items, *, casefold=False)`` takes (term, weight) pairs, a later
    duplicate replacing an earlier one; ``FrozenCompleter.load(path, mmap=True)`` maps a saved
    one. ``BLOCK`` (a class attribute) is the number of terms a block holds; a loaded
    completer keeps the block size of its file.
    """

    BLOCK = 64
    _at: Blocks
    _sections: dict[str, Any]

    def _build_pairs(self, terms: list[str], weights: list[int]) -> None:
        """Bulk build from checked terms and weights; see
        :func:`~designpatterns_ref.autocomplete._blocks.pack`."""
        try:
            meta, sections = pack(terms, weights, self.BLOCK)
        except OverflowError as exc:
            raise ReadOnlyError(f"FrozenCompleter cannot hold these items: {exc}") from None
        self._adopt(meta, sections["blks"], 0, sections["head"], 0, sections)

    def _adopt(
        self, meta: Sequence[int], blob: Any, base: int, head: Any, head_base: int, s: Any
    ) -> None:
        self._sections = {**s, "meta": array("Q", meta)}  # what save writes
        self._at = Blocks(meta, blob, base, head, head_base, s)
        self._weights = {}  # unused: the sections are the whole structure

    # -- files -------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the sections to ``path`` (replacing it whole); ``load`` reads them back."""
        target = storage.check_path("save", path)
        sections = {name: self._sections[name] for name in SECTIONS}
        flags = storage.FLAG_CASEFOLD if self._casefold else 0
        storage.write(target, "frozen", sections, flags=flags, param=0)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, mmap: bool = False) -> FrozenCompleter:
        """A completer read from ``path`` (written by ``save``).

        With ``mmap=True`` the file is mapped read-only and the sections are read in place:
        nothing is copied, and every process that maps the file shares its pages. The file
        must then stay unchanged while the completer is in use (``save`` replaces a file by
        renaming a new one over it, which leaves a mapped old one intact).
        Raises :class:`~designpatterns_ref.autocomplete.base.StorageError` for a missing,
        truncated, damaged or foreign file, or one of another format version (files saved
        before the compressed blocks are version 1 and are refused: save them again).
        """
        source = storage.check_path("load", path)
        if not isinstance(mmap, bool):
            raise AutocompleteTypeError(f"load: mmap={mmap!r:.60} must be True or False")
        stored = storage.read(source, mapped=mmap)
        storage.require(source, stored, "frozen", SECTIONS)
        s = stored.sections
        meta = list(s["meta"])
        if not consistent(meta, s):
            raise StorageError(f"load: path={source!r:.200} has sections of inconsistent sizes")
        obj = cls.__new__(cls)
        obj._configure(casefold=bool(stored.flags & storage.FLAG_CASEFOLD))
        buffer, at = stored.buffer, stored.offsets
        obj._adopt(meta, buffer, at["blks"], buffer, at["head"], dict(s))
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
    def _find(self, term: str) -> tuple[int, int]:
        """The block and index of ``term`` (already normalised), or (-1, -1)."""
        at = self._at
        b = at.find_block(_encode(term))
        if b >= 0:
            terms, _ = at.open(b)
            i = bisect_left(terms, term)
            if i < len(terms) and terms[i] == term:
                return b, i
        return -1, -1

    def weight(self, term: str) -> int:
        """The weight of ``term``; raise ``TermNotFound`` when it is absent."""
        key = self._term(term)
        b, i = self._find(key)
        if b < 0:
            raise TermNotFound(f"term={key!r} is not in this completer")
        return int(self._at.wval[self._at.open(b)[1][i]])

    def __contains__(self, term: object) -> bool:
        if not isinstance(term, str):
            return False
        return self._find(normalize(term, casefold=self._casefold))[0] >= 0

    def __len__(self) -> int:
        return self._at.n

    def items(self) -> Iterator[tuple[str, int]]:
        """Every (term, weight) pair, in alphabetical (code-point) order of the terms."""
        at = self._at
        for b in range(at.blocks()):
            terms, classes = at.open(b)
            yield from zip(terms, map(int, map(at.wval.__getitem__, classes)), strict=True)

    def _range(self, prefix: str) -> tuple[int, int]:
        at = self._at
        end = successor(prefix)
        lo = at.locate(prefix) if prefix else 0
        hi = at.n if end is None else at.locate(end)
        return lo, hi

    def _start(self, prefix: str) -> str:
        return prefix

    def _top(self, starts: list[str], k: int, skip: set[str]) -> list[RankKey]:
        """The ``k`` best terms of the ranges of ``starts`` (see the module docstring).

        ``pool`` holds what is known and not yet given out, best first, up to its ``need``-th
        term (no later term can reach the answer). A block enters it as its champion and a
        stand-in for the rest valued at its runner-up; a partial block at either end of a
        range enters as a stand-in valued at its block's value (a lower bound). A stand-in's
        ``cls`` is ``-1 - i`` for the part ``parts[i]`` of a block it stands for. A term
        leaves the pool for the answer once it beats every block not yet entered; a
        stand-in that comes first is replaced by its block's terms.
        """
        at = self._at
        size, need = at.block, k + len(skip)
        pool: list[Pooled] = []
        whole: list[tuple[int, int]] = []  # ranges of blocks wholly inside a prefix's range
        parts: list[tuple[int, int, int, int]] = []  # (block, start, stop, floor) to open
        tree, leaves = at.tree, len(at.tree) // 2
        for prefix in starts:
            lo, hi = self._range(prefix)
            if lo >= hi:
                continue
            first, stop = -(-lo // size), hi // size  # blocks first .. stop - 1 are whole
            if first > stop:  # lo and hi in one block
                parts.append((lo // size, lo % size, hi - stop * size, -1))
                continue
            if lo < first * size:
                parts.append((lo // size, lo % size, size, -1))
            if stop * size < hi:
                parts.append((stop, 0, hi - stop * size, -1))
            if first < stop:
                whole.append((first, stop))
        pool += [(int(tree[leaves + p[0]]), "", -1 - i) for i, p in enumerate(parts)]
        out: list[RankKey] = []
        wval = at.wval

        def emit(bound: int) -> bool:
            """Move the pooled terms better than ``bound`` to ``out``, opening the blocks
            whose stand-in comes first; True once ``k`` are out."""
            nonlocal pool
            pool.sort()
            while pool and pool[0][0] < bound:
                _, term, cls = pool[0]
                if cls < 0:  # a stand-in: its block's terms replace it
                    b, start, stop, floor = parts[-1 - cls]
                    rest = at.best(b, start, stop, need - len(out), floor)
                    pool = _trim(sorted(pool[1:] + rest), need - len(out))
                    continue
                del pool[0]
                if term not in skip:
                    out.append((-wval[cls], len(term), term))
                    if len(out) == k:
                        return True
            pool = _trim(pool, need - len(out))
            return False

        blocks: Iterable[int]
        if need <= CACHED:  # the tree's cached nodes list the best blocks at once
            best = smallest(tree, leaves, at.cach, whole, need)
            blocks = [value % at.slots // size for value in best if value != EMPTY]
        else:
            blocks = ascending(tree, leaves, whole, EMPTY)
        for b in blocks:
            value = int(tree[leaves + b])
            if emit(value):
                return out
            pool.append((value, at.champion(b), at.class_of(value)))
            runner = int(at.rnup[b])
            if runner != EMPTY:  # the rest of the block, all but its champion
                pool.append((runner, "", -1 - len(parts)))
                parts.append((b, 0, size, value))
        emit(EMPTY + 1)
        return out

    def _fuzzy_root(self, char: str) -> str:
        return char

    def _fuzzy_children(self, state: str) -> Iterable[tuple[str, str]]:
        at = self._at
        lo, hi = self._range(state)
        n = len(state)
        out = []
        while lo < hi:
            terms, _ = at.open(lo // at.block)
            term = terms[lo % at.block]
            if len(term) == n:
                lo += 1
                continue
            char = term[n]
            out.append((char, state + char))
            end = successor(state + char)
            lo = hi if end is None else min(at.locate(end), hi)
        return out
