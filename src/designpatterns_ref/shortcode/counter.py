"""Counter allocator: one shared counter, each number written in base62.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

The simplest correct design: keep one counter, give each new link the next number, write
it in base62. No two links can ever get the same code, codes are as short as they can be,
and nothing needs checking. The price is that the counter is shared: every code is one trip
to whatever holds it, and in a fleet of servers that is a single point of contention (see
:mod:`~designpatterns_ref.shortcode.ranges` for the fix), and the codes give away order and
volume unless an :class:`~designpatterns_ref.shortcode.obfuscate.Obfuscator` hides them.

With ``width`` the codes are zero-padded to that length and the counter stops, with
:class:`~designpatterns_ref.shortcode.base.SpaceExhausted`, when the width is full. With
``obfuscator`` each number is permuted into a fixed-width code first. With ``blocklist`` (and a
width or an obfuscator) no code contains a listed word and no number is skipped: number ``n``
gets the ``n``-th clean code of the width
(:class:`~designpatterns_ref.shortcode.avoiding.AvoidingCodes`; with an obfuscator, the clean
code whose number the obfuscator's key permutes ``n`` to, by
:meth:`~designpatterns_ref.shortcode.obfuscate.Obfuscator.within`, a permutation of exactly the
clean numbers), so the space holds exactly the clean codes.

Thread-safe: one lock around the counter. Complexity: O(1) counter work per code, plus the
obfuscator's O(rounds) per pass (1.25 passes on average for base62, width 7; fewer than 2 with a
blocklist), plus with a blocklist O(width * log base) to write the clean code.

>>> alloc = CounterAllocator()
>>> list(alloc.allocate() for _ in range(3))
['0', '1', '2']
>>> CounterAllocator(start=61, width=2).allocate()
'0z'
>>> from designpatterns_ref.shortcode.blocklist import Blocklist
>>> CounterAllocator(start=10, width=2, blocklist=Blocklist(["0a"])).allocate()  # not 0A
'0B'
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.avoiding import AvoidingCodes
from designpatterns_ref.shortcode.base import ShortCodeError, SpaceExhausted
from designpatterns_ref.shortcode.base62 import Alphabet, _codec
from designpatterns_ref.shortcode.blocklist import Blocklist
from designpatterns_ref.shortcode.obfuscate import KeyedPermutation, Obfuscator

__all__ = ["CounterAllocator", "NumberAllocator", "NumberCodes"]


class NumberCodes:
    """How a number becomes a code: plain base62, zero-padded, or obfuscated, and with a
    blocklist only clean codes.

    Shared by the number-based allocators; ``limit`` is how many numbers have codes.
    """

    __slots__ = ("alphabet", "avoid", "limit", "obfuscator", "permutation", "width")

    def __init__(
        self,
        width: int | None = None,
        obfuscator: Obfuscator | None = None,
        alphabet: str | Alphabet | None = None,
        blocklist: Blocklist | None = None,
    ) -> None:
        if obfuscator is not None:
            if not isinstance(obfuscator, Obfuscator):
                raise ShortCodeError(f"obfuscator={shown(obfuscator)} must be an Obfuscator")
            if width is not None and width != obfuscator.width:
                raise ShortCodeError(
                    f"width={shown(width)} differs from the obfuscator's width {obfuscator.width}"
                )
            if alphabet is not None:
                raise ShortCodeError("pass the alphabet to the Obfuscator, not to the allocator")
            width, alphabet = obfuscator.width, obfuscator.alphabet
        self.alphabet = _codec(alphabet)
        self.limit: int | None = None if width is None else self.alphabet.capacity(width)
        self.width = None if width is None else int(width)  # an int subclass: its int
        self.obfuscator = obfuscator
        self.avoid: AvoidingCodes | None = None
        self.permutation: KeyedPermutation | None = None
        if blocklist is not None:
            if width is None:
                raise ShortCodeError("a blocklist needs fixed-width codes: pass width=")
            self.avoid = AvoidingCodes.for_blocklist(
                self.alphabet.chars, blocklist, width, where="NumberCodes"
            )
            self.limit = self.avoid.count
            if obfuscator is not None:  # the key permutes the clean codes' numbers
                self.permutation = obfuscator.within(self.avoid.count)

    def check(self, n: int) -> None:
        """Raise :class:`SpaceExhausted`, with the reason, unless number ``n`` has a code."""
        if type(n) is not int or n < 0:
            raise ShortCodeError(f"number n={shown(n)} must be an int >= 0")
        if self.limit is not None and n >= self.limit:
            raise SpaceExhausted(
                f"number {shown(n)} has no code: width={self.width} holds {self.limit} codes"
            )

    def code(self, n: int) -> str:
        """The code of number ``n``, or :class:`SpaceExhausted` when it has none."""
        if type(n) is not int or n < 0:
            raise ShortCodeError(f"number n={shown(n)} must be an int >= 0")
        if self.limit is not None and n >= self.limit:
            self.check(n)
        if self.avoid is not None:
            return self.avoid._keyed_code(n, self.permutation)
        if self.obfuscator is not None:
            return self.obfuscator.encode(n)
        return self.alphabet.encode(n, self.width)


class NumberAllocator:
    """What the number-based allocators share: each code is the code of the next number.

    A subclass sets ``codes`` and provides ``next_number()``, which takes a number only when it
    has a code (:meth:`NumberCodes.check`).
    """

    codes: NumberCodes

    def next_number(self) -> int:
        raise NotImplementedError

    def allocate(self, url: str = "") -> str:
        """The next code (``url`` is ignored: a number does not depend on what it names)."""
        return self.codes.code(self.next_number())

    def candidates(self, url: str) -> Iterator[str]:
        """Fresh codes, forever: a code taken by an alias is simply skipped."""
        while True:
            yield self.allocate(url)


def _check_start(where: str, start: object) -> int:
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ShortCodeError(f"{where}: start={shown(start)} must be an int >= 0")
    return start


class CounterAllocator(NumberAllocator):
    """Codes from one in-process counter: ``start``, ``start + 1``, ... (thread-safe)."""

    def __init__(
        self,
        start: int = 0,
        *,
        width: int | None = None,
        obfuscator: Obfuscator | None = None,
        alphabet: str | Alphabet | None = None,
        blocklist: Blocklist | None = None,
    ) -> None:
        self._next = _check_start("CounterAllocator", start)
        self.codes = NumberCodes(width, obfuscator, alphabet, blocklist)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CounterAllocator(next={self._next}, width={self.codes.width})"

    def next_number(self) -> int:
        """Take the next number (the counter moves only when the number has a code)."""
        with self._lock:
            n = self._next
            self.codes.check(n)
            self._next = n + 1
            return n
