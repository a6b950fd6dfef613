"""Shared types of the shortcode family: its errors, the allocator and counter protocols.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

Every way of making a short code answers the same question, "which codes may this URL
get, in order of preference?", so every allocator implements :class:`CodeAllocator`:
``candidates(url)`` yields codes to try, and the service keeps the first one its store accepts.
A counter yields numbers nobody has had; a hash yields the same few codes for the same URL.
Block-leasing allocators get their numbers from a :class:`Counter` (in memory, SQLite or Redis).

Errors: :class:`ShortCodeError` (a ``ValueError``) for bad input and exhausted spaces,
:class:`CodeNotFound` (a ``LookupError``) and its subclass :class:`CodeExpired` for codes that
do not resolve, :class:`ClockMovedBackwards` (a ``RuntimeError``) for Snowflake's clock fault.

>>> try:
...     raise AliasTaken("alias='docs' is already taken by another URL")
... except ShortCodeError as exc:
...     print(type(exc).__name__, exc)
AliasTaken alias='docs' is already taken by another URL
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from designpatterns_ref.errors import DesignPatternsError, NotFound

__all__ = [
    "AliasTaken",
    "ClockMovedBackwards",
    "CodeAllocator",
    "CodeExpired",
    "CodeNotFound",
    "CollisionError",
    "Counter",
    "InvalidAlias",
    "InvalidUrl",
    "ShortCodeError",
    "ShortCodeUnavailable",
    "SpaceExhausted",
]


class ShortCodeError(DesignPatternsError, ValueError):
    """Bad input to the shortcode family; the message names the field, the value and the rule."""


class InvalidUrl(ShortCodeError):
    """A URL was refused: wrong scheme, no host, too long or containing control characters."""


class InvalidAlias(ShortCodeError):
    """A custom alias was refused: characters outside the safe set, wrong length, or reserved."""


class AliasTaken(ShortCodeError):
    """A custom alias is already in use for a different URL."""


class CollisionError(ShortCodeError):
    """Every candidate code for a URL was already taken by other URLs (the bound was reached)."""


class SpaceExhausted(ShortCodeError):
    """A counter or a timestamp has outgrown the number of bits or characters it was given."""


class ShortCodeUnavailable(ShortCodeError):
    """A backend failed: a Redis-backed counter did not answer in time (the server down or
    frozen), or a SQLite file could not be used (locked, damaged, a full disk)."""


class CodeNotFound(NotFound):
    """No link has this code."""


class CodeExpired(CodeNotFound):
    """The link existed but its time to live has passed."""


class ClockMovedBackwards(DesignPatternsError, RuntimeError):
    """The clock went back further than a Snowflake generator is allowed to wait out."""


@runtime_checkable
class CodeAllocator(Protocol):
    """Where short codes come from: ``candidates(url)`` yields the codes to try, best first.

    A number-based allocator yields fresh codes forever (a code it yields is never yielded
    again); a hash-based one yields a bounded, repeatable sequence for each URL.
    """

    def candidates(self, url: str) -> Iterator[str]:
        """Codes for ``url``, in the order they should be tried."""
        ...


@runtime_checkable
class Counter(Protocol):
    """A shared, durable counter that hands out blocks of numbers (a ticket server)."""

    def reserve(self, n: int, limit: int | None = None) -> int:
        """Atomically take up to ``n`` numbers, all below ``limit``; return the first.

        The block is ``[first, first + n)``, cut to ``[first, limit)`` when it would reach
        ``limit``. When ``first >= limit`` no number is taken: SpaceExhausted, and the counter
        is unchanged (the check and the update are one atomic step). ``limit=None`` or above
        ``COUNTER_MAX``: no bound. A RangeAllocator with an unbounded code space calls
        ``reserve(n)`` alone, so such a counter may omit ``limit``.
        """
        ...


def _surrogate_at(word: str) -> int | None:
    """Where ``word`` has a character UTF-8 cannot encode (a lone surrogate), or None."""
    if word.isascii():
        return None
    try:
        word.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None
