"""Hash codes: derive the code from the URL itself, and handle the collisions that follow.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

Hash the URL (MurmurHash3 or xxHash, unsigned, chosen by name), reduce the hash modulo
``62**length`` and write it as ``length`` base62 characters. The same URL always gets the
same code, so shortening is idempotent without a lookup table keyed by URL, and no counter
is shared by anyone. The price is collisions: two different URLs can hash to the same code,
and by the birthday bound (:mod:`~designpatterns_ref.shortcode.birthday`) that becomes likely
long before the space is full: with 7 characters, after about 2.2 million URLs there is an
even chance that two of them share a code.

So a hash allocator offers a short, repeatable list of candidates: the plain hash first,
then the hash with salt 1, 2, ... up to ``max_attempts``. The service returns the URL's
link when it has one, else stores the first candidate that is free; when all are held by
other URLs it raises :class:`~designpatterns_ref.shortcode.base.CollisionError` and stores
nothing.

Not thread-sensitive (no state). Complexity: O(len(url)) per candidate.

>>> codes = HashCodes(length=7, hash="mmh3")
>>> first = codes.code("https://example.com/a")
>>> len(first), first == codes.code("https://example.com/a")
(7, True)
>>> next(iter(codes.candidates("https://example.com/a"))) == first
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.base import ShortCodeError
from designpatterns_ref.shortcode.base62 import Alphabet, _codec

__all__ = ["HASHES", "HashCodes"]


def _mmh3(data: bytes, seed: int) -> int:
    import mmh3

    value: int = mmh3.hash128(data, seed, True, False)  # x64 variant, unsigned
    return value


def _xxhash(data: bytes, seed: int) -> int:
    import xxhash

    value: int = xxhash.xxh3_128_intdigest(data, seed)
    return value


HASHES: dict[str, Callable[[bytes, int], int]] = {"mmh3": _mmh3, "xxhash": _xxhash}
"""The hash functions by name: 128-bit unsigned MurmurHash3 (x64) and XXH3-128."""


class HashCodes:
    """Codes of ``length`` characters from a hash of the URL, re-salted on collision."""

    def __init__(
        self,
        length: int = 7,
        hash: str = "mmh3",
        *,
        max_attempts: int = 8,
        alphabet: str | Alphabet | None = None,
    ) -> None:
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 21:
            raise ShortCodeError(f"HashCodes: length={shown(length)} must be an int in [1, 21]")
        if not isinstance(hash, str) or hash not in HASHES:
            raise ShortCodeError(f"HashCodes: hash={shown(hash)} is not one of {sorted(HASHES)}")
        if (
            isinstance(max_attempts, bool)
            or not isinstance(max_attempts, int)
            or not 1 <= max_attempts <= 1000
        ):
            raise ShortCodeError(
                f"HashCodes: max_attempts={shown(max_attempts)} must be an int in [1, 1000]"
            )
        self.length = length
        self.hash = hash
        self.max_attempts = max_attempts
        self.alphabet = _codec(alphabet)
        self.space = self.alphabet.capacity(length)
        self._hash = HASHES[hash]

    def __repr__(self) -> str:
        return (
            f"HashCodes(length={self.length}, hash={self.hash!r}, max_attempts={self.max_attempts})"
        )

    def code(self, url: str, salt: int = 0) -> str:
        """The code of ``url`` for one salt (0 is the first choice)."""
        if not isinstance(url, str):
            raise ShortCodeError(f"HashCodes.code: url={shown(url)} must be a str")
        if isinstance(salt, bool) or not isinstance(salt, int) or not 0 <= salt < 2**32:
            raise ShortCodeError(f"HashCodes.code: salt={shown(salt)} must be an int in [0, 2**32)")
        h = self._hash(url.encode("utf-8", "surrogatepass"), salt)
        return self.alphabet.encode(h % self.space, self.length)

    def candidates(self, url: str) -> Iterator[str]:
        """The codes to try for ``url``: salts 0, 1, ..., ``max_attempts - 1``."""
        for salt in range(self.max_attempts):
            yield self.code(url, salt)

    def allocate(self, url: str) -> str:
        """The first-choice code for ``url`` (no collision check: that needs a store)."""
        return self.code(url)
