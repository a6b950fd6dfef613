"""The W3C Bitstring Status List: one bit per credential, GZIP-compressed and base64url-encoded.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

Every credential carries the index of one bit in its issuer's status list; the bit is 1 when the
credential is revoked. :class:`BitstringStatusList` is that list as the W3C Bitstring Status
List v1.0 defines it: at least 131,072 bits (16 KB, so one index tells an observer little about
which worker is checked), bit 0 the left-most bit of the first byte, published as
``encodedList``: the multibase prefix ``u`` then unpadded base64url of the GZIP-compressed bits.
Revocations are rare, so the bits are mostly zeros and compress well: a million credentials at
1% revoked fit in about 14 KB. :mod:`~designpatterns_ref.identity.statuslist` signs, publishes
and caches it.

Complexity: a lookup is O(1) (one byte, one shift); encoding and decoding are O(bits).

>>> sl = BitstringStatusList(131_072)
>>> sl.set(3, True)
>>> sl.get(3), sl.get(4), sl.encode()[0]
(True, False, 'u')
>>> BitstringStatusList.decode(sl.encode()).get(3)
True
"""  # noqa: E501

from __future__ import annotations

import gzip
import zlib

from designpatterns_ref.errors import shown
from designpatterns_ref.identity.base import IdentityError, IdentityTypeError, check_index
from designpatterns_ref.identity.keys import b64url, b64url_decode

__all__ = ["MIN_BITS", "BitstringStatusList"]

#: The specification's minimum length: 16 KB of bits.
MIN_BITS = 131_072
_MAX_BITS = 2**27  # 16 MB of bits, a decompression-bomb guard


class BitstringStatusList:
    """One bit per credential, bit 0 the most significant bit of byte 0 (not thread-safe)."""

    __slots__ = ("bits", "size")

    def __init__(self, size: int = MIN_BITS) -> None:
        if isinstance(size, bool) or not isinstance(size, int):
            raise IdentityTypeError(f"size={shown(size, 80)} must be an int number of bits")
        if not MIN_BITS <= size <= _MAX_BITS or size % 8:
            raise IdentityError(
                f"size={shown(size, 80)} must be a multiple of 8 in [{MIN_BITS}, {_MAX_BITS}]"
            )
        self.size = size
        self.bits = bytearray(size // 8)

    def get(self, index: int) -> bool:
        """Whether bit ``index`` is set (the credential there is revoked)."""
        check_index("index", index, self.size)
        return bool(self.bits[index >> 3] >> (7 - (index & 7)) & 1)

    def set(self, index: int, value: bool = True) -> None:
        """Set bit ``index`` to ``value``."""
        check_index("index", index, self.size)
        if not isinstance(value, bool):
            raise IdentityTypeError(f"value={shown(value, 80)} must be a bool")
        mask = 1 << (7 - (index & 7))
        if value:
            self.bits[index >> 3] |= mask
        else:
            self.bits[index >> 3] &= ~mask & 0xFF

    def copy(self) -> BitstringStatusList:
        """An independent copy of the list (one copy of its bytes, O(bits) but no compression).

        >>> original = BitstringStatusList()
        >>> snapshot = original.copy()
        >>> original.set(5)
        >>> snapshot.get(5), original.get(5)
        (False, True)
        """
        out = self.__class__.__new__(self.__class__)
        out.size = self.size
        out.bits = bytearray(self.bits)
        return out

    def count(self) -> int:
        """How many bits are set."""
        return sum(b.bit_count() for b in self.bits)

    def encode(self) -> str:
        """The ``encodedList``: ``u`` + base64url (no padding) of the GZIP-compressed bits."""
        return "u" + b64url(gzip.compress(bytes(self.bits), compresslevel=9, mtime=0))

    @classmethod
    def decode(cls, encoded: str) -> BitstringStatusList:
        """The list an ``encodedList`` holds; raises :class:`IdentityError` if malformed."""
        if not isinstance(encoded, str) or not encoded.startswith("u"):
            raise IdentityError(f"encodedList={shown(encoded, 60)} must be a str starting with 'u'")
        try:
            compressed = b64url_decode(encoded[1:])
            inflater = zlib.decompressobj(wbits=31)  # 31: a GZIP wrapper
            raw = inflater.decompress(compressed, _MAX_BITS // 8 + 1)
            if inflater.unconsumed_tail or not inflater.eof:
                raise ValueError("not one whole GZIP member within the size limit")
        except (ValueError, zlib.error) as bad:
            raise IdentityError(
                f"encodedList={shown(encoded, 60)} does not decode: {bad}"
            ) from None
        out = cls.__new__(cls)
        out.size = len(raw) * 8
        if not MIN_BITS <= out.size <= _MAX_BITS:
            raise IdentityError(f"encodedList holds {out.size} bits; at least {MIN_BITS} needed")
        out.bits = bytearray(raw)
        return out
