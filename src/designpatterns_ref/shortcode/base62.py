"""Base62: numbers and bytes as short codes over ``0-9A-Za-z`` (or any alphabet you give).

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

A short code is a number written in a large base. With the 62 URL-safe letters and digits,
six characters name 62**6 ≈ 56.8 billion links and seven name 3.5 trillion. The default
alphabet is :data:`ALPHABET`: digits, then upper case, then lower case, so codes of one width
sort in the same order as their numbers. Pass ``alphabet=`` to use another (for example one
without the look-alikes ``0O1lI``); its length is the base.

Decoding is canonical: for a given width each number has exactly one code, and everything
else is refused with :class:`~designpatterns_ref.shortcode.base.ShortCodeError` saying why:
a character outside the alphabet (and where), a code longer or shorter than the width asked
for, a negative or non-integer number, a number too large for the width. ``decode(code)``
without a width reads a code of any length (its width is its length, so ``"007"`` is 7 in
width 3); ``decode(code, width=6)`` insists on exactly six characters.

:func:`encode_bytes` / :func:`decode_bytes` carry bytes the way Bitcoin's base58 does: each
leading zero byte becomes one leading zero character, so ``b"\\x00\\x01"`` and ``b"\\x01"``
get different codes and every byte string round-trips.

Speed comes from the table, not from tricks: the encoder peels two digits per division
using a precomputed table of all ``base**2`` two-character strings (3,844 for base62), and the
decoder reads one character per step from a ``dict``. A long code is decoded in chunks of
machine-word size that are then combined pairwise (the halves of the number, then their
halves, ...), so the big-integer work grows like one multiplication of the result, not like
its square.

Limits: a code has at most :data:`MAX_CODE_LENGTH` characters (8,192: far beyond any short
link, and enough for a few kilobytes of bytes). Longer codes, widths, numbers that would need
more digits, and byte strings whose code could exceed it are refused, so no call runs for long.

Complexity: O(w) per code of w characters for numbers that fit a machine word; for long codes
decoding costs about one big multiplication (sub-quadratic), encoding O(w²) within the limit.

>>> encode(125)
'21'
>>> decode("21")
125
>>> encode(125, width=6)
'000021'
>>> decode("zzzzzz") == 62**6 - 1
True
>>> decode_bytes(encode_bytes(b"\\x00\\x00hi"))
b'\\x00\\x00hi'
>>> decode("ab-c")
Traceback (most recent call last):
...
designpatterns_ref.shortcode.base.ShortCodeError: decode: code='ab-c' has '-' at position 2, ...
"""

from __future__ import annotations

import functools
import string

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.base import ShortCodeError, _surrogate_at

__all__ = [
    "ALPHABET",
    "MAX_CODE_LENGTH",
    "Alphabet",
    "decode",
    "decode_bytes",
    "encode",
    "encode_bytes",
]

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
"""The default alphabet: digits, upper case, lower case (in ASCII order, so codes sort)."""

_MAX_BASE = 128

MAX_CODE_LENGTH = 8192
"""The longest code any function here reads or writes, in characters."""

_SHORT = 16  # codes up to this length are decoded by the plain loop


class Alphabet:
    """A positional codec over one alphabet; its length is the base (2 to 128 characters).

    >>> hex_ = Alphabet("0123456789abcdef")
    >>> hex_.encode(255), hex_.decode("ff")
    ('ff', 255)
    """

    __slots__ = ("_chunk", "_index", "_limit", "_pairs", "base", "chars", "max_bytes")

    def __init__(self, chars: str) -> None:
        if not isinstance(chars, str):
            raise ShortCodeError(
                f"Alphabet: chars={shown(chars)} must be a str of distinct characters"
            )
        if not 2 <= len(chars) <= _MAX_BASE:
            raise ShortCodeError(
                f"Alphabet: chars has {len(chars)} characters; need 2 to {_MAX_BASE}"
            )
        if len(set(chars)) != len(chars):
            repeated = sorted({c for c in chars if chars.count(c) > 1})
            raise ShortCodeError(
                f"Alphabet: chars={shown(chars)} repeats {shown(''.join(repeated))}"
            )
        if (at := _surrogate_at(chars)) is not None:
            raise ShortCodeError(
                f"Alphabet: chars={shown(chars, 80)} has a lone surrogate at position {at}; a code "
                "must be text UTF-8 can encode"
            )
        self.chars = chars
        """The characters, the digit ``i`` being ``chars[i]``."""
        self.base = len(chars)
        """The number base: ``len(chars)``."""
        self._index = {c: i for i, c in enumerate(chars)}
        # Every two-digit string, so the encoder divides once per two characters.
        self._pairs = [a + b for a in chars for b in chars]
        # Characters per machine-word chunk when decoding long codes: base**chunk < 2**62.
        self._chunk = max(1, 62 // (self.base - 1).bit_length())
        self._limit: int | None = None  # base**MAX_CODE_LENGTH, computed when first needed
        self.max_bytes = MAX_CODE_LENGTH * (self.base.bit_length() - 1) // 8
        """The longest byte string :meth:`encode_bytes` takes (its code always fits)."""

    def __repr__(self) -> str:
        return f"Alphabet({self.chars!r})"

    def capacity(self, width: int) -> int:
        """How many numbers fit in ``width`` characters: ``base ** width``."""
        size: int = self.base ** _check_width("capacity", width)
        return size

    def encode(self, n: int, width: int | None = None) -> str:
        """The code of ``n``: minimal, or left-padded with the zero digit to exactly ``width``."""
        if type(n) is not int:
            if isinstance(n, bool) or not isinstance(n, int):
                raise ShortCodeError(f"encode: n={shown(n)} must be a non-negative int")
            n = int(n)
        if n < 0:
            raise ShortCodeError(f"encode: n={shown(n)} is negative; codes exist for n >= 0 only")
        if n.bit_length() > 64 and n >= self._too_big():
            raise ShortCodeError(
                f"encode: n has {n.bit_length()} bits, more than {MAX_CODE_LENGTH} digits "
                f"(MAX_CODE_LENGTH) in base {self.base}"
            )
        if width is None:
            return self._digits(n)
        if type(width) is not int or not 1 <= width <= MAX_CODE_LENGTH:
            _check_width("encode", width)
        if n >= self.base**width:
            raise ShortCodeError(
                f"encode: n={shown(n)} does not fit in width={width}; "
                f"the largest is {self.base}**{width} - 1 = {shown(self.base**width - 1)}"
            )
        code = self._digits(n)
        return code if len(code) == width else self.chars[0] * (width - len(code)) + code

    def _too_big(self) -> int:
        if self._limit is None:
            self._limit = self.base**MAX_CODE_LENGTH
        return self._limit

    def _digits(self, n: int) -> str:
        # The core: peel two digits per division, then the one or two leading digits.
        base, pairs = self.base, self._pairs
        square = base * base
        code = ""
        while n >= square:
            n, low = divmod(n, square)
            code = pairs[low] + code
        return (self.chars[n] if n < base else pairs[n]) + code

    def decode(self, code: str, width: int | None = None) -> int:
        """The number whose code is ``code``; with ``width``, the code must have that length."""
        if type(code) is not str:
            raise ShortCodeError(f"decode: code={shown(code)} must be a str")
        if len(code) > _SHORT:
            if len(code) > MAX_CODE_LENGTH:
                raise ShortCodeError(
                    f"decode: code={shown(code[:20])}... has {len(code)} characters; "
                    f"at most MAX_CODE_LENGTH={MAX_CODE_LENGTH}"
                )
            if width is None or (type(width) is int and width == len(code)):
                return self._decode_long(code)
        if width is not None and (type(width) is not int or width < 1 or len(code) != width):
            width = _check_width("decode", width)  # an int subclass: its plain int
            if len(code) != width:
                what = "over-long" if len(code) > width else "too short"
                raise ShortCodeError(
                    f"decode: code={shown(code)} is {what}: {len(code)} characters for "
                    f"width={width}"
                )
            if len(code) > _SHORT:
                return self._decode_long(code)
        if not code:
            raise ShortCodeError("decode: code='' is empty; a code has at least one character")
        base, index = self.base, self._index
        n = 0
        try:
            for c in code:
                n = n * base + index[c]
        except KeyError:
            raise self._bad_char("decode", code) from None
        return n

    def _decode_long(self, code: str) -> int:
        # Chunks of ``_chunk`` characters (the first one shorter) become machine-size ints,
        # then neighbours are combined pairwise, doubling the chunk width each round.
        base, index, k = self.base, self._index, self._chunk
        if any(c not in index for c in code):
            raise self._bad_char("decode", code)
        first = len(code) % k or k
        values = [_small(code[:first], base, index)]
        values += [_small(code[i : i + k], base, index) for i in range(first, len(code), k)]
        scale = base**k  # the weight of one chunk of the current width
        while len(values) > 1:
            if len(values) % 2:
                values.insert(0, 0)  # a leading zero chunk keeps every pair aligned
            values = [hi * scale + lo for hi, lo in zip(values[::2], values[1::2], strict=True)]
            scale *= scale
        return values[0]

    def encode_bytes(self, data: bytes | bytearray | memoryview) -> str:
        """The code of ``data``, one zero digit for each leading zero byte."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ShortCodeError(f"encode_bytes: data={shown(data)} must be bytes-like")
        if len(data) > self.max_bytes:
            raise ShortCodeError(
                f"encode_bytes: data has {len(data)} bytes; at most {self.max_bytes} in base "
                f"{self.base} (codes are at most MAX_CODE_LENGTH={MAX_CODE_LENGTH} characters)"
            )
        raw = bytes(data)
        body = raw.lstrip(b"\0")
        zeros = self.chars[0] * (len(raw) - len(body))
        return zeros + (self.encode(int.from_bytes(body, "big")) if body else "")

    def decode_bytes(self, code: str) -> bytes:
        """The bytes whose code is ``code`` (the inverse of :meth:`encode_bytes`)."""
        if type(code) is not str:
            raise ShortCodeError(f"decode_bytes: code={shown(code)} must be a str")
        if len(code) > MAX_CODE_LENGTH:
            raise ShortCodeError(
                f"decode_bytes: code={shown(code[:20])}... has {len(code)} characters; "
                f"at most MAX_CODE_LENGTH={MAX_CODE_LENGTH}"
            )
        if any(c not in self._index for c in code):
            raise self._bad_char("decode_bytes", code)
        body = code.lstrip(self.chars[0])
        zeros = b"\0" * (len(code) - len(body))
        if not body:
            return zeros
        n = self.decode(body)
        data = zeros + n.to_bytes((n.bit_length() + 7) // 8, "big")
        if len(data) > self.max_bytes:  # encode_bytes refuses it: no code of it is issued
            raise ShortCodeError(
                f"decode_bytes: code={shown(code[:20])}... decodes to {len(data)} bytes; "
                f"encode_bytes makes codes of at most {self.max_bytes} bytes in base {self.base}"
            )
        return data

    def _bad_char(self, where: str, code: str) -> ShortCodeError:
        pos, char = next((i, c) for i, c in enumerate(code) if c not in self._index)
        return ShortCodeError(
            f"{where}: code={code!r} has {char!r} at position {pos}, "
            f"which is not in the alphabet {self.chars!r}"
        )


def _small(chunk: str, base: int, index: dict[str, int]) -> int:
    n = 0
    for c in chunk:
        n = n * base + index[c]
    return n


def _check_width(where: str, width: object) -> int:
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_CODE_LENGTH:
        raise ShortCodeError(
            f"{where}: width={shown(width)} must be an int from 1 to "
            f"MAX_CODE_LENGTH={MAX_CODE_LENGTH}"
        )
    return int(width)


_DEFAULT = Alphabet(ALPHABET)


@functools.lru_cache(maxsize=32)
def _alphabet(chars: str) -> Alphabet:
    return Alphabet(chars)


def _codec(alphabet: str | Alphabet | None) -> Alphabet:
    if alphabet is None:
        return _DEFAULT
    if isinstance(alphabet, Alphabet):
        return alphabet
    if not isinstance(alphabet, str):
        raise ShortCodeError(f"alphabet={shown(alphabet)} must be a str or an Alphabet")
    return _alphabet(alphabet)


def encode(n: int, width: int | None = None, alphabet: str | Alphabet | None = None) -> str:
    """The base62 code of ``n`` (minimal, or zero-padded to exactly ``width`` characters).

    >>> encode(0), encode(61), encode(62), encode(61, width=3)
    ('0', 'z', '10', '00z')
    """
    return (_DEFAULT if alphabet is None else _codec(alphabet)).encode(n, width)


def decode(code: str, width: int | None = None, alphabet: str | Alphabet | None = None) -> int:
    """The number a base62 code stands for; ``width`` insists on an exact length.

    >>> decode("10"), decode("00z", width=3)
    (62, 61)
    """
    return (_DEFAULT if alphabet is None else _codec(alphabet)).decode(code, width)


def encode_bytes(
    data: bytes | bytearray | memoryview, alphabet: str | Alphabet | None = None
) -> str:
    """The code of a byte string; leading zero bytes survive as leading ``'0'`` characters.

    >>> encode_bytes(b"\\x00\\xff"), encode_bytes(b"\\xff"), encode_bytes(b"")
    ('047', '47', '')
    """
    return _codec(alphabet).encode_bytes(data)


def decode_bytes(code: str, alphabet: str | Alphabet | None = None) -> bytes:
    """The byte string a code from :func:`encode_bytes` stands for.

    >>> decode_bytes("047")
    b'\\x00\\xff'
    """
    return _codec(alphabet).decode_bytes(code)
