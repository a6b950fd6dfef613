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

Complexity: O(rounds) integer operations per code, times the expected cycle-walk steps.

>>> ob = Obfuscator(key="my secret", width=7)
>>> codes = [ob.encode(n) for n in range(3)]
>>> list(map(len, codes)), len(set(codes))
([7, 7, 7], 3)
>>> list(map(ob.decode, codes))
[0, 1, 2]
>>> ob.unpermute(ob.permute(123456789))
123456789
"""

from __future__ import annotations

import hashlib

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.base import ShortCodeError
from designpatterns_ref.shortcode.base62 import Alphabet, _codec

__all__ = ["Obfuscator"]


class Obfuscator:
    """A keyed bijection of ``[0, base**width)`` and its inverse, with code helpers.

    ``key`` is any str, bytes or int; the same key always gives the same map. A key is its
    bytes: a str its UTF-8, an int its shortest signed big-endian bytes, so ``"A"``, ``b"A"``
    and ``65`` are one key and give one map. Keys of one kind per deployment (a tenant's
    secret as bytes, say) never meet this; mixing kinds, prefix them yourself. ``rounds``
    (3 to 32, default 4) trades speed for how thoroughly each round mixes.
    """

    __slots__ = ("_half", "_keys", "_mask", "_rkeys", "_wide", "alphabet", "size", "width")

    def __init__(
        self,
        key: str | bytes | int,
        width: int = 7,
        *,
        alphabet: str | Alphabet | None = None,
        rounds: int = 4,
    ) -> None:
        if isinstance(key, bool) or not isinstance(key, str | bytes | int):
            raise ShortCodeError(f"Obfuscator: key={shown(key)} must be a str, bytes or int")
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 64:
            raise ShortCodeError(f"Obfuscator: width={shown(width)} must be an int in [1, 64]")
        if isinstance(rounds, bool) or not isinstance(rounds, int) or not 3 <= rounds <= 32:
            raise ShortCodeError(f"Obfuscator: rounds={shown(rounds)} must be an int in [3, 32]")
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
        if isinstance(key, int):
            raw = key.to_bytes((key.bit_length() + 8) // 8, "big", signed=True)
        else:
            # surrogatepass: any str is a usable key (the same bytes as UTF-8 for valid text)
            raw = key.encode("utf-8", "surrogatepass") if isinstance(key, str) else key
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
