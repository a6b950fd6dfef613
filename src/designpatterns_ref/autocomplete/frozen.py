"""FrozenCompleter: built once into a few compressed blocks; the smallest structure, and read-only.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

The trade-off marisa-trie makes: give up updates, get compactness. The terms, sorted, are cut
into blocks of ``BLOCK`` (64) neighbours, each compressed on its own with raw DEFLATE: their
UTF-8 text joined by NUL, then their weight classes (a class is the index of the term's weight
among the distinct weights) as byte planes. Neighbours share prefixes and endings, which the
compressor takes away. Outside the blocks: the first term of each block for the binary search,
its two best terms (*champions*) whole, the values of its second and third best terms, and a
minimum segment tree over the block values whose high nodes cache their ten best; the layout
and how a block is opened are in :mod:`~designpatterns_ref.autocomplete._blocks`.

A term's *value* is one integer that sorts like
:func:`~designpatterns_ref.autocomplete.base.rank_key` (weight down, length up, term up) and
ends in the term's position, so a decoded term and a block not yet opened compare as integers.
``complete`` finds the prefix's range (two binary searches over the block heads, each finished
in one decompressed block), takes the ``k`` best whole blocks of the range from the tree (their
champions alone are ``k`` candidates, so no other whole block can hold an answer), and pops a
heap of their champions, of the in-range champions of the two partial blocks at the ends, and
of one stand-in per block valued at the best term its champions leave; a stand-in that comes
first is replaced by its block's terms. Most answers open no block beyond the two ends.

The build is one sort and C-level passes (``map``, slicing), plus one ``zlib`` call per block;
no Python loop runs per term. ``save(path)`` writes the sections
(:mod:`~designpatterns_ref.autocomplete.storage`, format version 2 for this kind) and
``load(path, mmap=True)`` maps the file read-only and reads them in place: loading costs a
checksum, and processes that map the same file share one copy.

Trade-off: under 6 bytes a word on 300,000 English words (1.4 times marisa-trie's succinct
trie, which holds no ranking), at the price of decompressing a block (several microseconds)
for each block a query opens, about three times the latency of flat uncompressed arrays; every
update raises :class:`~designpatterns_ref.autocomplete.base.ReadOnlyError`; rebuild to change
it. Safe to share between threads, since nothing ever changes (the few decoded blocks it keeps
are replaced by one assignment).

Complexity: ``complete`` O(p log n + k (log n + BLOCK)); ``weight`` and ``in``
O(p log n + BLOCK); memory about the compressed size of the terms and classes plus 50 bytes a
block; ``load`` O(file size) for the checksum.

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
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, NoReturn

from designpatterns_ref.autocomplete import storage
from designpatterns_ref.autocomplete._blocks import (
    CHAMPIONS,
    EMPTY,
    LONGEST,
    SECTIONS,
    Blocks,
    consistent,
    longest_held,
    pack,
)
from designpatterns_ref.autocomplete._segtree import CACHED, ascending, smallest
from designpatterns_ref.autocomplete._shared import CompleterBase, check_int
from designpatterns_ref.autocomplete.base import (
    AutocompleteError,
    AutocompleteTypeError,
    Completion,
    RankKey,
    ReadOnlyError,
    StorageError,
    TermNotFound,
)
from designpatterns_ref.autocomplete.text import normalize, successor
from designpatterns_ref.errors import shown

__all__ = ["FrozenCompleter"]

#: What decoding a block, a head or a champion of a file written wrong can raise.
_UNDECODABLE = (zlib.error, ValueError, IndexError, KeyError, OverflowError)

# (value, ref, term): ref -1 for a decoded term, ref >= 0 for champion ref (decoded when it
# comes out), ref = -2 - i for a stand-in for the part parts[i] of a block
Pooled = tuple[int, int, str]


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
        block = check_int("BLOCK", self.BLOCK, 1, 2**16)
        try:
            meta, sections = pack(terms, weights, block)
        except OverflowError as exc:
            raise ReadOnlyError(f"FrozenCompleter cannot hold these items: {exc}") from None
        self._adopt(meta, sections["blks"], 0, sections["head"], 0, sections)

    def _adopt(
        self, meta: Sequence[int], blob: Any, base: int, head: Any, head_base: int, s: Any
    ) -> None:
        self._source: str | None = None  # the file it was loaded from
        self._watch: storage.Watch | None = None  # the file it maps, checked before a query
        self._sections = {**s, "meta": array("Q", meta)}  # what save writes
        self._at = Blocks(meta, blob, base, head, head_base, s)
        self._weights = {}  # unused: the sections are the whole structure

    # -- files -------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the sections to ``path`` (replacing it whole); ``load`` reads them back.

        A mapped completer first checks its file: one changed in place since it was loaded,
        or whose mapped bytes no longer have the checksum they had (read once, cheaper than
        the write), is refused with ``StorageError`` instead of being copied under a new,
        valid checksum."""
        target = storage.check_path("save", path)
        if self._watch is not None:
            self._watch.check()
            if not self._watch.intact():
                raise StorageError(
                    f"save: FrozenCompleter mapped from {self._watch.path!r:.200}: its mapped "
                    "bytes no longer match the checksum they had on load (the file was "
                    "written into), so they are not saved; load it again"
                )
        if LONGEST not in self._sections:  # loaded from a file saved before it was written
            longest = max((term for term, _ in self.items()), key=len, default="")
            self._sections[LONGEST] = _encode(longest)
        sections = {name: self._sections[name] for name in (*SECTIONS, LONGEST)}
        flags = storage.FLAG_CASEFOLD if self._casefold else 0
        storage.write(target, "frozen", sections, flags=flags, param=0)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, mmap: bool = False) -> FrozenCompleter:
        """A completer read from ``path`` (written by ``save``).

        With ``mmap=True`` the file is mapped read-only and the sections are read in place:
        nothing is copied, and every process that maps the file shares its pages. The file
        must then stay unchanged while the completer is in use: replace a live file by
        renaming a new one over it, as ``save`` does (a mapped old one stays intact), never by
        copying over it or writing into it. A file truncated under the map kills the process
        with ``SIGBUS`` at the next read past its end; so each query first compares the file
        its path names with the one loaded (one ``stat``, 3 to 6 microseconds) and raises
        ``StorageError`` naming the path once the same file has another size or modification
        time (a file renamed over or deleted is no change: the map still reads the old one; a
        file only touched is checked against its checksum once and adopted). No descriptor is
        kept open. That check narrows the danger without removing it: a truncation between the
        check and the read still ends the process (see
        :class:`~designpatterns_ref.autocomplete.storage.Watch`).
        Raises :class:`~designpatterns_ref.autocomplete.base.StorageError` for a missing,
        truncated, damaged or foreign file, or one of another format version (files saved
        before the compressed blocks are version 1 and are refused: this version cannot read
        them, so rebuild them from their items; a file of a higher version was written by a
        newer version of the library, or its header is damaged).

        The checksum guards against damage, and the section sizes are checked (with the
        offsets of the heads and champions going forward, and a longest term the blocks can
        hold); the blocks themselves are not opened (that would cost decompressing the whole
        file, which loading in place avoids). A file written wrong with a valid checksum,
        which no ``save`` writes, may answer wrongly; a query that finds it cannot be decoded
        raises ``StorageError``. Such a query still ends: the fuzzy walk refuses terms out of
        order rather than step back, and a block is inflated no further than its terms can
        take (at most ``BLOCK`` x (4 x the longest term's length + 8) bytes), a block that
        would inflate past that being refused. The longest term is one the file holds whole,
        so that bound is paid for by the file's own bytes, not merely declared. A file saved
        before it was held whole has it measured on load instead: each block is inflated once,
        no further than DEFLATE can make of its compressed bytes, so loading such a file costs
        decompressing it once (saving it again adds the longest term).
        """
        source = storage.check_path("load", path)
        if not isinstance(mmap, bool):
            raise AutocompleteTypeError(f"load: mmap={shown(mmap, 60)} must be True or False")
        stored = storage.read(source, mapped=mmap)
        storage.require(source, stored, "frozen", SECTIONS)
        s = stored.sections
        meta = list(s["meta"])
        if not consistent(meta, s):
            raise StorageError(
                f"load: path={shown(source, 200)} has sections of inconsistent sizes"
            )
        obj = cls.__new__(cls)
        obj._configure(casefold=bool(stored.flags & storage.FLAG_CASEFOLD))
        buffer, at = stored.buffer, stored.offsets
        obj._adopt(meta, buffer, at["blks"], buffer, at["head"], dict(s))
        obj._source, obj._watch = source, stored.watch
        if LONGEST not in s:  # saved before the longest term was held whole: measure it
            try:
                held = longest_held(obj._at)
            except _UNDECODABLE as exc:
                raise obj._corrupt(exc) from None
            if held != meta[2] - 1:
                raise StorageError(
                    f"load: path={shown(source, 200)} has sections of inconsistent sizes: "
                    f"it declares a longest term of {meta[2] - 1} characters, its blocks "
                    f"hold one of {held}"
                )
        return obj

    def _corrupt(self, exc: Exception) -> Exception:
        """What a failure to decode the data becomes: ``StorageError`` for a loaded file (its
        contents were written wrong), the failure itself for a built completer (a bug) and for
        this family's own errors (a refused argument)."""
        if self._source is None or isinstance(exc, AutocompleteError):
            return exc
        return StorageError(
            f"FrozenCompleter loaded from {self._source!r:.200}: its data cannot be decoded "
            f"({type(exc).__name__}: {exc!s:.100}); the file passed its checksum, so it was "
            "written this way: save it again from its items"
        )

    def _check_file(self) -> None:
        """Raise ``StorageError`` when the file this completer maps changed in place (see
        :class:`~designpatterns_ref.autocomplete.storage.Watch`)."""
        if self._watch is not None:
            self._watch.check()

    def complete(self, prefix: str, k: int = 10, *, max_edits: int = 0) -> list[Completion]:
        self._check_file()
        try:
            return super().complete(prefix, k, max_edits=max_edits)
        except _UNDECODABLE as exc:
            raise self._corrupt(exc) from None

    complete.__doc__ = CompleterBase.complete.__doc__

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
        self._check_file()
        at = self._at
        try:
            b = at.find_block(_encode(term))
            if b >= 0:
                terms, _ = at.open(b)
                i = bisect_left(terms, term)
                if i < len(terms) and terms[i] == term:
                    return b, i
        except _UNDECODABLE as exc:
            raise self._corrupt(exc) from None
        return -1, -1

    def weight(self, term: str) -> int:
        """The weight of ``term``; raise ``TermNotFound`` when it is absent."""
        key = self._term(term)
        b, i = self._find(key)
        if b < 0:
            raise TermNotFound(f"term={shown(key)} is not in this completer")
        try:
            return int(self._at.wval[self._at.open(b)[1][i]])
        except _UNDECODABLE as exc:
            raise self._corrupt(exc) from None

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
            self._check_file()
            try:
                terms, classes = at.open(b)
                pairs = list(zip(terms, map(int, map(at.wval.__getitem__, classes)), strict=True))
            except _UNDECODABLE as exc:
                raise self._corrupt(exc) from None
            yield from pairs

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

        A range is a partial block at each end (the block whose first term is at most the
        prefix, and the one whose first term is at most the prefix's successor), whole
        blocks between. The ``need`` best whole blocks hold, with the partial ones, every term
        that can reach the answer (their champions alone are ``need`` candidates). Each of
        those blocks enters ``pool`` with its champions in range (a string comparison, no
        decompression) and a stand-in for the rest, valued at the best term its champions
        leave; the pool is then emptied best first, and a stand-in that comes first is
        replaced by its block's terms in range (see ``Pooled``).
        """
        at = self._at
        need, count = k + len(skip), at.blocks()
        whole: list[tuple[int, int]] = []  # ranges of blocks wholly inside a prefix's range
        cuts: list[tuple[int, str, str | None]] = []  # (block, low, high) to enter
        for prefix in starts:
            end = successor(prefix)
            first = at.find_block(_encode(prefix)) if prefix else -1
            last = count if end is None else at.find_block(_encode(end))
            if last < 0:  # every term is past the range
                continue
            if first >= 0:
                cuts.append((first, prefix, end if first == last else None))
            if last < count and last != first:
                cuts.append((last, "", end))
            if first + 1 < last:
                whole.append((first + 1, last))
        tree, leaves = at.tree, len(at.tree) // 2
        if need <= CACHED:  # the tree's cached nodes list the best blocks at once
            values = [v for v in smallest(tree, leaves, at.cach, whole, need) if v != EMPTY]
        else:
            walk = ascending(tree, leaves, whole, EMPTY)
            values = [int(tree[leaves + b]) for b in islice(walk, need)]
        cuts += [(value % at.slots // at.block, "", None) for value in values]
        pool: list[Pooled] = []
        parts: list[tuple[int, str, str | None, int]] = []  # (block, low, high, floor)
        rnup, floor = at.rnup, -1
        for b, low, high in cuts:  # enter the champions in range, and a stand-in
            value, ref = int(tree[leaves + b]), b * CHAMPIONS
            for j in range(CHAMPIONS + 1):
                if j:
                    value = int(rnup[ref + j - 1])
                if value == EMPTY:  # the block has no more terms
                    break
                if j == CHAMPIONS:  # the rest of the block's part, after its champions
                    pool.append((value, -2 - len(parts), ""))
                    parts.append((b, low, high, floor))
                elif not low and high is None:  # a whole block: decode it if it comes out
                    pool.append((value, ref + j, ""))
                else:  # a partial block: is the champion in range?
                    term = at.champion(ref + j)
                    if low <= term and (high is None or term < high):
                        pool.append((value, -1, term))
                floor = value
        pool.sort(reverse=True)  # best last, to pop
        out: list[RankKey] = []
        wval = at.wval
        while pool:
            value, ref, term = pool.pop()
            if ref < -1:  # a stand-in: its block's terms in range replace it
                b, low, high, floor = parts[-2 - ref]
                terms, _ = at.open(b)
                start = bisect_left(terms, low) if low else 0
                stop = len(terms) if high is None else bisect_left(terms, high)
                pool += at.best(b, start, stop, need - len(out), floor)
                pool.sort(reverse=True)
                continue
            if ref >= 0:
                term = at.champion(ref)
            if term not in skip:
                out.append((-wval[at.class_of(value)], len(term), term))
                if len(out) == k:
                    break
        return out

    def _fuzzy_root(self, char: str) -> str:
        return char

    def _fuzzy_children(self, state: str) -> Iterable[tuple[str, str]]:
        """The next characters below ``state``: one bisection past each. Sorted terms make
        every step move forward to a greater character; a file whose terms are not sorted is
        refused (``ValueError``, then ``StorageError``) rather than walked forever."""
        at = self._at
        lo, hi = self._range(state)
        n = len(state)
        out: list[tuple[str, str]] = []
        while lo < hi:
            terms, _ = at.open(lo // at.block)
            term = terms[lo % at.block]
            if not term.startswith(state) or (out and term[n : n + 1] <= out[-1][0]):
                raise ValueError(f"the terms around position {lo} are not in order")
            if len(term) == n:
                lo += 1
                continue
            char = term[n]
            out.append((char, state + char))
            end = successor(state + char)
            after = hi if end is None else min(at.locate(end), hi)
            if after <= lo:
                raise ValueError(f"the terms around position {lo} are not in order")
            lo = after
        return out
