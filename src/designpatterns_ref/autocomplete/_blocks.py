"""FrozenCompleter's storage: sorted terms in compressed blocks, and the values that rank them.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

:func:`pack` turns checked (term, weight) pairs into the flat sections a
:class:`~designpatterns_ref.autocomplete.frozen.FrozenCompleter` holds and saves, and
:class:`Blocks` reads them (from memory or from a mapped file). Only ``frozen.py`` uses it.

A term's *value* is one integer that sorts like
:func:`~designpatterns_ref.autocomplete.base.rank_key` (weight down, length up, term up):
``((top class - class) * stride + length) * slots + position``, where the class is the
weight's index among the distinct weights (lightest first), ``stride`` exceeds every length,
and ``slots`` exceeds every position. Values are distinct, and ``value % slots`` is the
term's position. A block is ``block`` neighbours in sorted order: their UTF-8 text joined by
NUL (or, when a term holds a NUL, concatenated with their lengths after it), then their
classes as 1, 2 or 4 byte planes (lowest byte of every class first), compressed as a raw
DEFLATE stream of its own, so that each decompresses alone. (Files saved before held each
block as the part of one stream between two full flushes, in the same format version;
:meth:`Blocks.open` decodes both forms alike, with a decompressor that returns what the bytes
hold whether or not the stream ends.) Apart from the blocks: the first term of each (for the
binary search), its ``CHAMPIONS`` (2) *champions* (the terms of smallest value, the first
one's value being the block's value, kept whole so that a query rarely opens a block for its
best terms), the values of its second and
third best terms (``EMPTY`` past the block's last term; the third values what the champions
leave), a minimum segment tree over the block values, whose high nodes cache
their ten best leaves (:func:`~designpatterns_ref.autocomplete._segtree.build_caches`), and
the longest term whole (the first in order, when several are as long), whose length bounds
what opening a block may inflate to (:func:`longest_ok`; files saved before lack it).

Complexity: :func:`pack` O(n log n) for the sort, then C-level passes and one ``zlib`` call
per block; opening a block O(block); :meth:`Blocks.locate` O(log n + block).

```pycon
>>> meta, sections = pack(["kiwi", "fig", "date"], [5, 9, 5], block=2)
>>> blocks = Blocks(meta, sections["blks"], 0, sections["head"], 0, sections)
>>> blocks.open(0), blocks.open(1)
((['date', 'fig'], b'\\x00\\x01'), (['kiwi'], b'\\x00'))
>>> blocks.locate("fi"), blocks.champion(0)
(1, 'fig')

```
"""

from __future__ import annotations

import sys
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate, chain, islice, repeat
from operator import add, eq, itemgetter, lt, mul, sub
from typing import Any

from designpatterns_ref.autocomplete._segtree import BLOCK_HEIGHT, CACHED, build, build_caches

__all__ = [
    "CHAMPIONS",
    "EMPTY",
    "LONGEST",
    "SECTIONS",
    "Blocks",
    "consistent",
    "longest_held",
    "pack",
]

EMPTY = 2**64 - 1  # the value of no term: a padding leaf, past a block's last term
HEAD_STEP = 16  # one block head in HEAD_STEP is kept as a bytes object, for a C-level bisect
SECTIONS = ("meta", "blks", "boff", "head", "hoff", "chmp", "coff", "rnup", "tree", "cach", "wval")
LONGEST = "long"  # the longest term, whole: written since it bounds inflating; older files lack it
RECENT = 4  # decoded blocks kept: those a query opens more than once
_LEVEL = 6  # zlib's default: level 1 saves a fifth of the compression time, costs 0.37 B/term
CHAMPIONS = 2  # the best terms of each block kept whole, outside the compressed block
Opened = tuple[int, list[str], Sequence[int]]  # a block, its terms and their classes


def _u(values: Iterable[int], limit: int) -> array[int]:
    """An unsigned array of ``values``: 32-bit when ``limit`` fits, else 64-bit."""
    return array("I" if limit < 2**32 else "Q", values)


def _u64(values: Iterable[int]) -> array[int]:
    return array("Q", values)


def _encode(term: str) -> bytes:
    return term.encode("utf-8", "surrogatepass")


def _planes(distinct: int) -> int:
    """How many bytes a class takes: 1, 2 or 4."""
    width = (max(distinct - 1, 0).bit_length() + 7) // 8
    return 1 if width <= 1 else 2 if width == 2 else 4


def pack(terms: list[str], weights: list[int], block: int) -> tuple[list[int], dict[str, Any]]:
    """``meta`` and the sections from checked terms and weights (a later duplicate replacing
    an earlier one): one sort (none when the terms come sorted, as ``items()`` of another
    completer gives them) and C-level passes, and a ``zlib`` call per block.

    ``meta`` is ``[terms, block, stride, slots, delimited]`` (``delimited`` is 1 when some
    term holds a NUL). Raises ``OverflowError`` when a value would not fit in 64 bits.
    """
    if all(map(lt, terms, islice(terms, 1, None))):  # sorted already (stops at the first not)
        alphabetical, by_term = terms, weights
    else:
        order = sorted(range(len(terms)), key=terms.__getitem__)
        alphabetical = list(map(terms.__getitem__, order))
        if any(map(eq, alphabetical, islice(alphabetical, 1, None))):  # a later one wins
            table = dict(zip(terms, weights, strict=True))
            return pack(list(table), list(table.values()), block)
        by_term = list(map(weights.__getitem__, order))
        del order
    n = len(alphabetical)
    distinct = sorted(set(by_term))  # lightest first: a term's class is its weight's index
    index = dict(zip(distinct, range(len(distinct)), strict=True))
    classes = list(map(index.__getitem__, by_term))
    lengths = list(map(len, alphabetical))
    stride = max(lengths, default=0) + 1
    slots = -(-n // block) * block
    top = max(len(distinct) - 1, 0) * stride * slots
    if top + stride * slots >= EMPTY:
        raise OverflowError("the ranking values of these terms do not fit in 64 bits")
    value = map(add, map(mul, lengths, repeat(slots)), range(top, top + n))
    values = list(map(sub, value, map(mul, classes, repeat(stride * slots))))
    cuts = list(map(slice, range(0, n, block), range(block, n + block, block)))
    # each block's values, best first, padded with EMPTY past its last term
    ranked = list(map(add, map(sorted, map(values.__getitem__, cuts)), repeat([EMPTY] * CHAMPIONS)))
    best = list(map(itemgetter(0), ranked))
    tree, size = build(best, EMPTY, _u64)
    cache = [EMPTY] * (2 * (size >> BLOCK_HEIGHT) * CACHED)
    build_caches(tree, size, cache)
    runners = _u64(chain.from_iterable(map(itemgetter(slice(1, CHAMPIONS + 1)), ranked)))
    tops = chain.from_iterable(map(itemgetter(slice(0, CHAMPIONS)), ranked))
    champions = [b"" if v == EMPTY else _encode(alphabetical[v % slots]) for v in tops]
    count = _planes(len(distinct))
    wide = array("BHxI"[count - 1], classes).tobytes()  # machine order: split it in planes
    planes = [wide[p::count] for p in range(count)]
    if sys.byteorder == "big":
        planes.reverse()
    parts = list(map("\0".join, map(alphabetical.__getitem__, cuts)))
    delimited = sum(map(str.count, parts, repeat("\0"))) != n - len(cuts)
    sizes = [b""] * len(cuts)
    if delimited:  # NUL cannot separate the terms: store their lengths
        parts = list(map("".join, map(alphabetical.__getitem__, cuts)))
        sizes = [array("I", map(len, alphabetical[cut])).tobytes() for cut in cuts]
    chunks = []
    for text, known, cut in zip(parts, sizes, cuts, strict=True):
        payload = b"".join([_encode(text), known, *[plane[cut] for plane in planes]])
        chunks.append(zlib.compress(payload, _LEVEL, -15))  # a raw DEFLATE stream of its own
    heads = list(map(_encode, alphabetical[::block]))
    blob, head, chmp = b"".join(chunks), b"".join(heads), b"".join(champions)
    longest = _encode(alphabetical[lengths.index(stride - 1)]) if n else b""
    sections = {
        "blks": blob,
        "boff": _u(accumulate(map(len, chunks), initial=0), len(blob)),
        "head": head,
        "hoff": _u(accumulate(map(len, heads), initial=0), len(head)),
        "chmp": chmp,
        "coff": _u(accumulate(map(len, champions), initial=0), len(chmp)),
        "rnup": runners,
        "tree": tree,
        "cach": _u64(cache),
        "wval": array("q", distinct),
        "long": longest,
    }
    return [n, block, stride, slots, int(delimited)], sections


class Blocks:
    """The sections of a FrozenCompleter, read in place; see the module docstring.

    ``blob[base:]`` and ``head[head_base:]`` are the block and head sections (the sections
    themselves after a build, the whole file after a load).
    """

    __slots__ = (
        "base",
        "blob",
        "block",
        "boff",
        "cach",
        "chmp",
        "coff",
        "delimited",
        "head",
        "head_base",
        "heads",
        "hoff",
        "last",
        "n",
        "planes",
        "rnup",
        "room",
        "slots",
        "stride",
        "top",
        "tree",
        "wval",
    )

    def __init__(
        self, meta: Sequence[int], blob: Any, base: int, head: Any, head_base: int, s: Any
    ) -> None:
        self.n, self.block, self.stride, self.slots, self.delimited = meta
        self.blob, self.base, self.head, self.head_base = blob, base, head, head_base
        self.boff, self.hoff, self.tree, self.cach = s["boff"], s["hoff"], s["tree"], s["cach"]
        self.chmp, self.coff, self.rnup, self.wval = s["chmp"], s["coff"], s["rnup"], s["wval"]
        self.planes = _planes(len(self.wval))
        self.top = max(len(self.wval) - 1, 0) * self.stride * self.slots
        # the most bytes a term takes in a block: its UTF-8 (at most 4 a character, and at
        # most stride - 1 characters), a NUL or a 4-byte length, and its class
        self.room = 4 * (self.stride - 1) + 4 + self.planes
        self.heads = [self.head_at(i) for i in range(0, len(self.hoff) - 1, HEAD_STEP)]
        self.last: tuple[Opened, ...] = ()

    def blocks(self) -> int:
        return len(self.boff) - 1

    def head_at(self, b: int) -> bytes:
        base = self.head_base
        data: bytes = self.head[base + self.hoff[b] : base + self.hoff[b + 1]]
        return data

    def champion(self, i: int) -> str:
        """Champion ``i``: the term of block ``i // CHAMPIONS`` with the ``i % CHAMPIONS + 1``-th
        smallest value."""
        return str(self.chmp[self.coff[i] : self.coff[i + 1]], "utf-8", "surrogatepass")

    def class_of(self, value: int) -> int:
        """The weight class of the term of ``value``."""
        return len(self.wval) - 1 - value // self.slots // self.stride

    def find_block(self, needle: bytes) -> int:
        """The last block whose first term is <= ``needle`` (-1 when there is none)."""
        j = bisect_right(self.heads, needle)  # heads[j - 1] <= needle < heads[j]
        if j == 0:
            return -1
        lo, hi = (j - 1) * HEAD_STEP, min(j * HEAD_STEP, self.blocks())
        while lo + 1 < hi:  # head_at(lo) <= needle; find the last such
            mid = (lo + hi) // 2
            if self.head_at(mid) <= needle:
                lo = mid
            else:
                hi = mid
        return lo

    def open(self, b: int, cap: int | None = None) -> tuple[list[str], Sequence[int]]:
        """Block ``b``'s terms and weight classes (the last ``RECENT`` blocks opened are
        kept: a query opens the blocks at either end of its range twice), inflated to at most
        ``cap`` bytes (by default, what its terms can take)."""
        last = self.last
        for seen, known, kinds in last:
            if seen == b:
                return known, kinds
        # a stream of its own, or (files saved before) a flushed part of one
        base, m, count = self.base, min(self.block, self.n - b * self.block), self.planes
        # the most its terms can take: inflate no further (a bomb)
        limit = m * self.room if cap is None else cap
        raw = zlib.decompressobj(-15).decompress(
            self.blob[base + self.boff[b] : base + self.boff[b + 1]], limit + 1
        )
        if len(raw) > limit:
            raise ValueError(f"block {b} inflates past the {limit} bytes its {m} terms can take")
        cut = len(raw) - m * count
        classes: Sequence[int] = raw[cut:]
        if count > 1:  # interleave the planes into machine integers
            joined = bytearray(m * count)
            for p in range(count):
                at = count - 1 - p if sys.byteorder == "big" else p
                joined[at::count] = raw[cut + p * m : cut + (p + 1) * m]
            classes = array("H" if count == 2 else "I", joined)
        if self.delimited:
            ends = list(accumulate(array("I", raw[cut - 4 * m : cut])))
            text = raw[: cut - 4 * m].decode("utf-8", "surrogatepass")
            terms = list(map(text.__getitem__, map(slice, [0, *ends[:-1]], ends)))
        else:
            terms = raw[:cut].decode("utf-8", "surrogatepass").split("\0")
        self.last = ((b, terms, classes), *last[: RECENT - 1])  # one assignment: thread-safe
        return terms, classes

    def locate(self, needle: str) -> int:
        """``bisect_left`` of ``needle`` over all the sorted terms."""
        b = self.find_block(_encode(needle))
        if b < 0:
            return 0
        terms, _ = self.open(b)
        return b * self.block + bisect_left(terms, needle)

    def best(
        self, b: int, start: int, stop: int, limit: int, floor: int = -1
    ) -> list[tuple[int, int, str]]:
        """(value, -1, term) of the ``limit`` best terms ``start .. stop - 1`` of block ``b``
        whose value exceeds ``floor``, best first (-1: a term, as FrozenCompleter's pool
        marks it)."""
        terms, classes = self.open(b)
        terms, classes = terms[start:stop], classes[start:stop]
        slots, first = self.slots, self.top + b * self.block + start
        # value = (length - class * stride) * slots + top + position
        keys = map(sub, map(len, terms), map(mul, classes, repeat(self.stride)))
        values = list(map(add, map(mul, keys, repeat(slots)), range(first, first + len(terms))))
        values.sort()
        if floor >= 0:
            del values[: bisect_right(values, floor)]
        del values[limit:]
        at = [(value - first) % slots for value in values]
        return list(zip(values, repeat(-1), map(terms.__getitem__, at)))


def consistent(meta: list[int], s: dict[str, Any]) -> bool:
    """Whether a loaded file's sections have the sizes its ``meta`` implies."""
    if len(meta) != 5:
        return False
    n, block, stride, slots, delimited = meta
    if not 1 <= block <= 2**16 or delimited not in (0, 1) or stride < 1:
        return False
    blocks = -(-n // block)
    width = 1 << BLOCK_HEIGHT  # the segment tree pads its leaves to whole runs of width
    leaves = max(width, -(-blocks // width) * width)
    offsets, counts = (s["boff"], s["hoff"], s["coff"]), (1, 1, CHAMPIONS)
    ends = (len(s["blks"]), len(s["head"]), len(s["chmp"]))
    return (
        slots == blocks * block
        and all(
            len(o) == blocks * c + 1 and o[0] == 0 and o[-1] == e
            for o, c, e in zip(offsets, counts, ends, strict=True)
        )
        and len(s["rnup"]) == blocks * CHAMPIONS
        and len(s["tree"]) == 2 * leaves
        and len(s["cach"]) == 2 * (leaves >> BLOCK_HEIGHT) * CACHED
        and (n == 0 or len(s["wval"]) > 0)
        and (len(s["wval"]) - 1) * stride * slots + stride * slots < EMPTY
        # the longest term bounds what opening a block may take (Blocks.room): it must be
        # a term the file holds whole, not one it merely declares (see longest_ok)
        and longest_ok(stride, s)
        # a head or champion never reaches into the next one (a block's slice only feeds a
        # bounded inflate): what a load or a query decodes stays within the file's size
        and _ascending(s["hoff"])
        and _ascending(s["coff"])
    )


def longest_ok(stride: int, s: dict[str, Any]) -> bool:
    """Whether the longest term's length, ``stride - 1``, is one the file cannot inflate.

    A block is inflated no further than its terms can take, ``Blocks.room`` bytes a term,
    which grows with ``stride``; a stride the file merely declared would let a small file
    inflate a block a thousandfold (DEFLATE's limit) with no term that long. So the file holds
    its longest term whole (section ``long``), and ``stride - 1`` must be that term's length:
    a block then inflates to at most ``BLOCK`` x (4 x that length + 8) bytes, for a length
    the file's own bytes pay for. Files saved before that section lack it: their longest
    term is measured on load instead (:func:`longest_held`).
    """
    if LONGEST not in s:
        return True  # measured on load instead (see longest_held)
    try:
        longest = str(s[LONGEST], "utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return False
    return len(longest) == stride - 1


#: The most raw DEFLATE can produce from one byte of its input (a 258-byte match in under
#: two bits): no valid block inflates further than this many times its compressed size.
_INFLATE = 1032


def longest_held(blocks: Blocks) -> int:
    """The length of the longest term ``blocks`` hold, for a file saved without its longest
    term whole: each block is inflated once, no further than DEFLATE can make of its
    compressed bytes (``_INFLATE`` times them), so what this reads is paid for by the file's
    own bytes. Raises what decoding a block written wrong raises."""
    longest = 0
    for b in range(blocks.blocks()):
        terms, _ = blocks.open(b, _INFLATE * (blocks.boff[b + 1] - blocks.boff[b]))
        longest = max(longest, max(map(len, terms), default=0))
    blocks.last = ()  # opened past what its terms may take: not kept for queries
    return longest


def _ascending(offsets: Any) -> bool:
    listed = offsets.tolist()
    return bool(listed == sorted(listed))  # sorted: one C-level pass over sorted offsets
