"""Obfuscate: a keyed permutation of ``[0, 62**k)`` that makes counter codes look unrelated.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

A counter gives codes ``0000001, 0000002, ...``: anyone can guess the next link and count
how many you have made. :class:`Obfuscator` maps each counter value to another number of the
same space, one to one, so consecutive values give unrelated-looking codes and no collision
is possible: two different inputs can never meet, because the map has an inverse.

The map is a balanced Feistel network. The number is split into two halves of ``h`` bits; each
round replaces ``(L, R)`` by ``(R, L xor F(R, key_i))``, which is undone by running the rounds
backwards whatever ``F`` is. That permutes ``[0, 2**(2h))``, a little more than ``62**k``
(``2h`` is the bit length of ``62**k - 1``, rounded up to even). *Cycle walking* brings the
result back into range: apply the permutation again until the value falls below ``62**k``.
Following the cycle from an in-range start must reach an in-range value (at worst the start
itself), so it stays a bijection on the smaller set; on average it takes fewer than
``2**(2h) / 62**k`` steps (1.25 for k = 7).

This hides order, not secrets. The round function is Knuth's multiplicative hash,
``F(R) = ((R xor k_i) * a_i mod 2**(2h)) >> h``, with ``k_i`` and odd ``a_i`` drawn from a
SHAKE-256 digest of your key: good enough that neighbours look random, not a cipher. Anyone who
collects enough (counter, code) pairs can learn the map. Where a code must be unguessable,
draw it from :mod:`secrets` instead and check it against the store.

Immutable once built, so one instance may be shared between threads.

Any other size. :class:`KeyedPermutation` is the same idea for a set of any size ``n``, not
only a power of the base: an *unbalanced* Feistel network over ``[0, 2**b)``, ``b`` the bit
length of ``n - 1`` (halves of ``ceil(b/2)`` and ``floor(b/2)`` bits that swap sizes each
round), so the domain is less than twice ``n`` and the cycle walk back into ``[0, n)`` takes
fewer than 2 steps on average, however ``n`` was chosen. The allocators and
:class:`~designpatterns_ref.shortcode.tuples.TupleCodes` use it, with an obfuscator's key, to
permute the numbers of the codes a blocklist leaves clean.

Complexity: O(rounds) integer operations per code, times the expected cycle-walk steps.

>>> ob = Obfuscator(key="my secret", width=7)
>>> codes = [ob.encode(n) for n in range(3)]
>>> list(map(len, codes)), len(set(codes))
([7, 7, 7], 3)
>>> list(map(ob.decode, codes))
[0, 1, 2]
>>> ob.unpermute(ob.permute(123456789))
123456789
>>> perm = KeyedPermutation("my secret", 10)
>>> sorted(perm.permute(n) for n in range(10)) == list(range(10))
True
"""

from __future__ import annotations

import hashlib

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.base import ShortCodeError
from designpatterns_ref.shortcode.base62 import Alphabet, _codec

__all__ = ["KeyedPermutation", "Obfuscator"]


def _key_bytes(where: str, key: object) -> bytes:
    """A key as its bytes: a str its UTF-8 (lone surrogates passed through, so any str is a
    key), an int its shortest signed big-endian bytes, bytes themselves."""
    if isinstance(key, bool) or not isinstance(key, str | bytes | int):
        raise ShortCodeError(f"{where}: key={shown(key)} must be a str, bytes or int")
    if isinstance(key, int):
        return key.to_bytes((key.bit_length() + 8) // 8, "big", signed=True)
    # surrogatepass: any str is a usable key (the same bytes as UTF-8 for valid text)
    return key.encode("utf-8", "surrogatepass") if isinstance(key, str) else bytes(key)


def _check_rounds(where: str, rounds: object) -> int:
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not 3 <= rounds <= 32:
        raise ShortCodeError(f"{where}: rounds={shown(rounds)} must be an int in [3, 32]")
    return int(rounds)


class Obfuscator:
    """A keyed bijection of ``[0, base**width)`` and its inverse, with code helpers.

    ``key`` is any str, bytes or int; the same key always gives the same map. A key is its
    bytes: a str its UTF-8, an int its shortest signed big-endian bytes, so ``"A"``, ``b"A"``
    and ``65`` are one key and give one map. Keys of one kind per deployment (a tenant's
    secret as bytes, say) never meet this; mixing kinds, prefix them yourself. ``rounds``
    (3 to 32, default 4) trades speed for how thoroughly each round mixes.
    """

    __slots__ = ("_half", "_key", "_keys", "_mask", "_rkeys", "_wide", "alphabet", "rounds",
                 "size", "width")  # fmt: skip

    def __init__(
        self,
        key: str | bytes | int,
        width: int = 7,
        *,
        alphabet: str | Alphabet | None = None,
        rounds: int = 4,
    ) -> None:
        raw = _key_bytes("Obfuscator", key)
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 64:
            raise ShortCodeError(f"Obfuscator: width={shown(width)} must be an int in [1, 64]")
        self.rounds = _check_rounds("Obfuscator", rounds)
        """How many Feistel rounds."""
        self._key = raw  # for within(): the same key's permutation of another size
        self.alphabet = _codec(alphabet)
        """The codec of :meth:`encode` and :meth:`decode`."""
        self.width = int(width)
        """The code length."""
        self.size: int = self.alphabet.base**width
        """The size of the permuted set: ``base ** width``."""
        bits = (self.size - 1).bit_length()
        self._half = (bits + 1) // 2
        self._mask = (1 << self._half) - 1
        self._wide = (1 << (2 * self._half)) - 1
        # Two numbers of 2h bits per round: the xor key k_i and the odd multiplier a_i.
        nbytes = (4 * self._half + 7) // 8
        stream = hashlib.shake_256(b"dpref-feistel:" + raw).digest(2 * nbytes * rounds)
        words = [
            int.from_bytes(stream[i : i + nbytes], "big") & self._wide
            for i in range(0, len(stream), nbytes)
        ]
        self._keys = tuple((words[2 * r], words[2 * r + 1] | 1) for r in range(rounds))
        self._rkeys = self._keys[::-1]

    def __repr__(self) -> str:
        return (
            f"Obfuscator(width={self.width}, base={self.alphabet.base}, rounds={len(self._keys)})"
        )

    def within(self, size: int) -> KeyedPermutation:
        """This key's :class:`KeyedPermutation` of ``[0, size)`` (same rounds): how the
        allocators permute the numbers of a blocklist's clean codes."""
        return KeyedPermutation(self._key, size, rounds=self.rounds)

    def _check(self, where: str, n: int) -> int:
        if isinstance(n, bool) or not isinstance(n, int):
            raise ShortCodeError(f"Obfuscator.{where}: n={shown(n)} must be an int")
        if not 0 <= n < self.size:
            raise ShortCodeError(
                f"Obfuscator.{where}: n={shown(n)} is outside [0, {self.size}) "
                f"(base {self.alphabet.base}, width {self.width})"
            )
        return n

    def permute(self, n: int) -> int:
        """The image of ``n`` under the keyed permutation of ``[0, size)``."""
        x: int = n if type(n) is int and 0 <= n < self.size else self._check("permute", n)
        half, mask, wide, size = self._half, self._mask, self._wide, self.size
        while True:  # cycle walking: re-apply until the value is back in range
            left, right = x >> half, x & mask
            for k, a in self._keys:
                left, right = right, left ^ ((((right ^ k) * a) & wide) >> half)
            x = (left << half) | right
            if x < size:
                return x

    def unpermute(self, m: int) -> int:
        """The inverse of :meth:`permute`: the ``n`` with ``permute(n) == m``."""
        x: int = m if type(m) is int and 0 <= m < self.size else self._check("unpermute", m)
        half, mask, wide, size = self._half, self._mask, self._wide, self.size
        while True:
            left, right = x >> half, x & mask
            for k, a in self._rkeys:
                left, right = right ^ ((((left ^ k) * a) & wide) >> half), left
            x = (left << half) | right
            if x < size:
                return x

    def encode(self, n: int) -> str:
        """The fixed-width code of ``permute(n)``."""
        code = self.alphabet._digits(self.permute(n))
        return (
            code
            if len(code) == self.width
            else self.alphabet.chars[0] * (self.width - len(code)) + code
        )

    def decode(self, code: str) -> int:
        """The ``n`` whose obfuscated code is ``code`` (exactly ``width`` characters)."""
        return self.unpermute(self.alphabet.decode(code, self.width))


class KeyedPermutation:
    """A keyed bijection of ``[0, size)``, for any ``size`` from 0, and its inverse.

    ``key`` and ``rounds`` are as for :class:`Obfuscator` (a key is its bytes), but the map is
    another one: an unbalanced Feistel network over ``[0, 2**bits)``, ``bits`` the bit length
    of ``size - 1``, cycle-walked back into ``[0, size)``. The left part starts with
    ``ceil(bits/2)`` bits and the right with the rest; each round ``(L, R) -> (R, L xor F(R))``
    with ``F(R)`` as wide as ``L``, so the two parts swap sizes every round, and running the
    rounds backwards undoes them. Since ``2**bits < 2 * size``, :meth:`permute` takes fewer than
    2 network passes on average, and the walk from an in-range start always comes back in
    range (at worst to the start itself).
    """

    __slots__ = ("_bits", "_keys", "_left", "_right", "rounds", "size")

    def __init__(self, key: str | bytes | int, size: int, *, rounds: int = 4) -> None:
        raw = _key_bytes("KeyedPermutation", key)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ShortCodeError(f"KeyedPermutation: size={shown(size)} must be an int >= 0")
        self.rounds = _check_rounds("KeyedPermutation", rounds)
        """How many Feistel rounds."""
        self.size = int(size)
        """The size of the permuted set ``[0, size)``."""
        bits = self._bits = max(self.size - 1, 0).bit_length()  # size 0: nothing to permute
        self._left, self._right = (bits + 1) // 2, bits // 2  # the widths the rounds start from
        # Per round the xor key k_i and the odd multiplier a_i, each of ``bits`` bits.
        nbytes = (bits + 7) // 8 + 1
        stream = hashlib.shake_256(b"dpref-keyed-permutation:" + raw).digest(2 * nbytes * rounds)
        words = [
            int.from_bytes(stream[i : i + nbytes], "big") & ((1 << bits) - 1)
            for i in range(0, len(stream), nbytes)
        ]
        self._keys = tuple((words[2 * r], words[2 * r + 1] | 1) for r in range(rounds))

    def __repr__(self) -> str:
        return f"KeyedPermutation(size={self.size}, rounds={self.rounds})"

    def _forward(self, x: int) -> int:
        """One pass of the network: a permutation of ``[0, 2**bits)``."""
        bits, wl, wr = self._bits, self._left, self._right
        left, right = x >> wr, x & ((1 << wr) - 1)
        full = (1 << bits) - 1
        for k, a in self._keys:  # F(R): the top wl bits of (R xor k) * a, modulo 2**bits
            left, right = right, left ^ ((((right ^ k) * a) & full) >> (bits - wl))
            wl, wr = wr, wl
        return (left << wr) | right

    def _backward(self, x: int) -> int:
        """The inverse of :meth:`_forward`."""
        bits, wl, wr = self._bits, self._left, self._right
        if len(self._keys) % 2:  # the widths the forward pass ended with
            wl, wr = wr, wl
        left, right = x >> wr, x & ((1 << wr) - 1)
        full = (1 << bits) - 1
        for k, a in reversed(self._keys):  # undo (L, R) -> (R, L xor F(R)), F as wide as L
            left, right = right ^ ((((left ^ k) * a) & full) >> (bits - wr)), left
            wl, wr = wr, wl
        return (left << wr) | right

    def _check(self, where: str, n: object) -> int:
        if isinstance(n, bool) or not isinstance(n, int):
            raise ShortCodeError(f"KeyedPermutation.{where}: n={shown(n)} must be an int")
        if not 0 <= n < self.size:
            raise ShortCodeError(
                f"KeyedPermutation.{where}: n={shown(n)} is outside [0, {self.size})"
            )
        return int(n)

    def permute(self, n: int) -> int:
        """The image of ``n`` under the keyed permutation of ``[0, size)``."""
        x = n if type(n) is int and 0 <= n < self.size else self._check("permute", n)
        while True:  # cycle walking: pass again until the value is back in range
            x = self._forward(x)
            if x < self.size:
                return x

    def unpermute(self, m: int) -> int:
        """The inverse of :meth:`permute`: the ``n`` with ``permute(n) == m``."""
        x = m if type(m) is int and 0 <= m < self.size else self._check("unpermute", m)
        while True:
            x = self._backward(x)
            if x < self.size:
                return x
