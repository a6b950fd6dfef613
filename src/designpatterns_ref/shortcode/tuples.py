"""Tuple codes: several numbers, such as ``(shard, id)``, in one fixed-width short code.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

A code often has to carry more than one number: the shard that holds the row and the row's id,
a tenant and an object, a year and a serial. :class:`TupleCodes` packs a tuple into one integer
by *mixed radix* (each component a digit whose base is that component's bound, exactly like
hours, minutes and seconds), then writes the integer as a fixed-width code, through the keyed
:class:`~designpatterns_ref.shortcode.obfuscate.Obfuscator` when a ``key`` is given::

    bounds (1024, 2**40):  (shard, id)  ->  shard * 2**40 + id  ->  permute  ->  base62, 9 chars

Packing is a bijection between the tuples within the bounds and ``[0, space)``, where
``space`` is the product of the bounds, and the permutation is a bijection of
``[0, base**width)``, so every tuple has exactly one code and a code decodes to at most one
tuple. A code that unpacks to a number at or above ``space`` belongs to no tuple and is refused
with :class:`~designpatterns_ref.shortcode.base.ShortCodeError`.

The trade-off against the separator schemes of sqids and hashids (which write each number
separately and join them with a separator character):

* **Length.** The width is ``ceil(log_base(space))``: the bits of all the bounds together,
  rounded up once, with no separator and no prefix character. It is the same for every tuple,
  so a code reveals nothing about the sizes of its components (a sqids code grows with each
  number and one separator per extra number, and so shows how large they are). The price is
  that bounds must be chosen up front, and small tuples do not get shorter codes.
* **Ordering.** Without a key the packing keeps order: codes of one width sort exactly as their
  tuples sort (lexicographically), useful for keys that must range-scan. With a key the
  order, like everything else, is hidden.
* **Telling components apart.** With a key, no character belongs to one component: changing
  the id changes the whole code, and nobody without the key can read the shard from it.
  Without a key, the leading characters follow the first component (mixed radix, not aligned
  to characters unless the bounds are powers of the base).
* **Typos.** Only ``space / base**width`` of the codes of the right width belong to a tuple;
  the rest are refused, so a mistyped code is often caught instead of decoding to a
  neighbour (sqids decodes almost any string to some list of numbers).

**A blocklist.** ``blocklist=Blocklist(words)`` (either rule) keeps every listed word out of
every code, still one code per tuple: the codes are numbered densely among the clean ones
(:class:`~designpatterns_ref.shortcode.avoiding.AvoidingCodes`, which counts the codes avoiding
the words through their Aho-Corasick automaton), so the tuple numbered ``n`` gets the ``n``-th
clean code, or with a key the clean code whose number the key's permutation of exactly
``[0, clean count)`` gives (:class:`~designpatterns_ref.shortcode.obfuscate.KeyedPermutation`:
fewer than 2 passes of its network on average, however many codes the words remove). A cycle
walk over the codes themselves (as
:class:`~designpatterns_ref.shortcode.blocklist.CleanObfuscator` does) cannot serve here: it
needs clean inputs, and a tuple is given, not chosen. The width grows by one character only
when the clean codes of the plain width are fewer than the tuples. Without a key the clean
codes still sort as their tuples do.

Arity is fixed by ``bounds``: ``bounds=()`` is allowed and has exactly one tuple, the empty
one, whose code is one character. Immutable once built; share it between threads.

Complexity: O(arity) integer operations to pack; with a key, O(rounds) per pass of the
permutation times its expected passes (``2**(2h) / base**width`` without a blocklist, 1.25 for
base62 and width 7; fewer than 2 with one); with a blocklist, O(width * log base) more to number
the clean code.

>>> ids = TupleCodes((1024, 2**40), key="shards")
>>> code = ids.encode((17, 123_456_789))
>>> len(code), ids.width, ids.decode(code)
(9, 9, (17, 123456789))
>>> plain = TupleCodes((60, 60))
>>> plain.encode((0, 59)) < plain.encode((1, 0))
True
>>> clean = TupleCodes((60, 60), blocklist=Blocklist(["a"]))
>>> clean.encode((0, 59)) < clean.encode((1, 0)), "a" in "".join(
...     clean.encode((h, m)).lower() for h in range(60) for m in range(60))
(True, False)
>>> plain.decode("zz")
Traceback (most recent call last):
...
designpatterns_ref.shortcode.base.ShortCodeError: TupleCodes.decode: code='zz' is no tuple's ...
"""

from __future__ import annotations

from collections.abc import Sequence

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.avoiding import AvoidingCodes
from designpatterns_ref.shortcode.base import ShortCodeError
from designpatterns_ref.shortcode.base62 import Alphabet, _codec
from designpatterns_ref.shortcode.blocklist import Blocklist
from designpatterns_ref.shortcode.obfuscate import Obfuscator

__all__ = ["MAX_TUPLE_WIDTH", "TupleCodes"]

MAX_TUPLE_WIDTH = 64
"""The longest tuple code, in characters (the :class:`Obfuscator`'s own limit)."""


class TupleCodes:
    """Fixed-arity tuples of bounded non-negative ints as fixed-width codes, and back.

    ``bounds[i]`` is how many values component ``i`` may take (``0 <= values[i] <
    bounds[i]``). ``key`` (str, bytes or int) turns on the keyed permutation; ``None`` (the
    default) gives plain, order-keeping codes. ``alphabet`` and ``rounds`` are as for
    :class:`~designpatterns_ref.shortcode.obfuscate.Obfuscator`. ``blocklist`` (a
    :class:`~designpatterns_ref.shortcode.blocklist.Blocklist`, either rule) keeps its words
    out of every code.
    """

    __slots__ = ("_avoid", "_ob", "_perm", "alphabet", "arity", "blocklist", "bounds", "key",
                 "space", "width")  # fmt: skip

    def __init__(
        self,
        bounds: Sequence[int],
        *,
        key: str | bytes | int | None = None,
        alphabet: str | Alphabet | None = None,
        rounds: int = 4,
        blocklist: Blocklist | None = None,
    ) -> None:
        if isinstance(bounds, str | bytes) or not isinstance(bounds, Sequence):
            raise ShortCodeError(
                f"TupleCodes: bounds={shown(bounds)} must be a tuple or list of ints >= 1"
            )
        if len(bounds) > MAX_TUPLE_WIDTH:
            raise ShortCodeError(
                f"TupleCodes: bounds has {len(bounds)} components; at most {MAX_TUPLE_WIDTH}"
            )
        for i, b in enumerate(bounds):
            if isinstance(b, bool) or not isinstance(b, int) or b < 1:
                raise ShortCodeError(f"TupleCodes: bounds[{i}]={shown(b)} must be an int >= 1")
        codec = _codec(alphabet)
        space = 1
        for b in bounds:
            space *= b
            if space > codec.base**MAX_TUPLE_WIDTH:
                raise ShortCodeError(
                    f"TupleCodes: bounds={shown(tuple(bounds))} need more than {MAX_TUPLE_WIDTH} "
                    f"characters in base {codec.base}"
                )
        width = 1
        while codec.base**width < space:
            width += 1
        avoid = None
        if blocklist is not None:
            while (
                avoid := AvoidingCodes.for_blocklist(
                    codec.chars, blocklist, width, where="TupleCodes"
                )
            ).count < space:
                if width == MAX_TUPLE_WIDTH:
                    raise ShortCodeError(
                        f"TupleCodes: bounds={shown(tuple(bounds))} need more than "
                        f"{MAX_TUPLE_WIDTH} characters once {shown(blocklist)} is avoided"
                    )
                width += 1
        self.bounds: tuple[int, ...] = tuple(int(b) for b in bounds)
        """How many values each component may take."""
        self.arity = len(self.bounds)
        """How many numbers each tuple has."""
        self.space = space
        """How many tuples there are: the product of the bounds."""
        self.width = width
        """The length of every code: the fewest characters that hold ``space`` numbers."""
        self.alphabet = codec
        """The codec of the codes."""
        self.key = key
        """The permutation's key, or ``None`` for plain (order-keeping) codes."""
        self.blocklist = blocklist
        """The words no code contains, or ``None``."""
        self._ob = None if key is None else Obfuscator(key, width, alphabet=codec, rounds=rounds)
        self._avoid = avoid
        # with a blocklist the key permutes the numbers of the clean codes, [0, avoid.count)
        self._perm = None if self._ob is None or avoid is None else self._ob.within(avoid.count)

    def __repr__(self) -> str:
        keyed = "keyed" if self._ob is not None else "plain"
        clean = "" if self.blocklist is None else f", {self.blocklist!r}"
        return f"TupleCodes(bounds={self.bounds}, width={self.width}, {keyed}{clean})"

    def pack(self, values: Sequence[int]) -> int:
        """The number of ``values`` in ``[0, space)``, by mixed radix (first component highest)."""
        # The common case, a tuple or list of plain ints in range, in one loop; anything else
        # goes through the checks below, which say what is wrong.
        if (type(values) is tuple or type(values) is list) and len(values) == self.arity:
            n = 0
            for v, b in zip(values, self.bounds, strict=True):
                if type(v) is not int or not 0 <= v < b:
                    break
                n = n * b + v
            else:
                return n
        return self._pack_checked(values)

    def _pack_checked(self, values: Sequence[int]) -> int:
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise ShortCodeError(
                f"TupleCodes: values={shown(values)} must be a tuple or list of {self.arity} ints"
            )
        if len(values) != self.arity:
            raise ShortCodeError(
                f"TupleCodes: values={shown(tuple(values))} has {len(values)} numbers; "
                f"these codes hold exactly {self.arity} (bounds={self.bounds})"
            )
        n = 0
        for i, (v, b) in enumerate(zip(values, self.bounds, strict=True)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ShortCodeError(f"TupleCodes: values[{i}]={shown(v)} must be an int")
            if not 0 <= v < b:
                raise ShortCodeError(
                    f"TupleCodes: values[{i}]={shown(v)} is outside [0, {b}) (bounds[{i}]={b})"
                )
            n = n * b + v
        return int(n)

    def unpack(self, n: int) -> tuple[int, ...]:
        """The tuple whose number is ``n`` (the inverse of :meth:`pack`)."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise ShortCodeError(f"TupleCodes.unpack: n={shown(n)} must be an int")
        if not 0 <= n < self.space:
            raise ShortCodeError(f"TupleCodes.unpack: n={shown(n)} is outside [0, {self.space})")
        return self._unpack(n)

    def _unpack(self, n: int) -> tuple[int, ...]:
        out = []
        for b in self.bounds[::-1]:
            n, v = divmod(n, b)
            out.append(v)
        return tuple(out[::-1])

    def encode(self, values: Sequence[int]) -> str:
        """The code of a tuple: exactly :attr:`width` characters."""
        n = self.pack(values)
        if self._avoid is not None:
            return self._avoid._keyed_code(n, self._perm)
        if self._ob is not None:
            return self._ob.encode(n)
        return self.alphabet.encode(n, self.width)

    def decode(self, code: str) -> tuple[int, ...]:
        """The tuple whose code is ``code``; a code no tuple has is refused."""
        if type(code) is not str:
            raise ShortCodeError(f"TupleCodes.decode: code={shown(code)} must be a str")
        if len(code) != self.width:
            raise ShortCodeError(
                f"TupleCodes.decode: code={shown(code[:80])} has {len(code)} characters; "
                f"these codes have exactly {self.width}"
            )
        if self._avoid is not None:
            try:
                n = self._avoid._keyed_number(code, self._perm)
            except ShortCodeError as exc:
                raise ShortCodeError(f"TupleCodes.decode: code={shown(code)}: {exc}") from None
        elif self._ob is not None:
            n = self._ob.decode(code)
        else:
            n = self.alphabet.decode(code, self.width)
        if n >= self.space:
            raise ShortCodeError(
                f"TupleCodes.decode: code={shown(code)} is no tuple's code "
                f"(it unpacks to {n}, and only [0, {self.space}) are tuples)"
            )
        return self._unpack(n)
