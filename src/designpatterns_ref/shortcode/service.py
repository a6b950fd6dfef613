"""The URL shortener service: validated input, codes from an allocator, links in a store.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

:class:`UrlShortener` puts the family together. ``shorten(url, alias=None, ttl=None)``
checks its input, asks the allocator for candidate codes and keeps the first one the store
accepts; ``resolve(code)`` returns the URL and counts a click. The store's unique constraint,
not the allocator, is what makes duplicate codes impossible: a counter code that meets a
custom alias is skipped, a hash code that meets another URL is re-salted, and a call that
fails stores nothing.

Decisions a user makes:

* **One code per URL, or a new code each time** (``one_code_per_url``). Sharing saves space
  and makes shortening idempotent; a fresh code per call lets each campaign count its own
  clicks. Shared codes are permanent: a call with ``ttl`` or ``alias`` always makes its own link.
* **Alias retries.** A second ``shorten(url, alias=a, ttl=t)`` is a retry, answered with ``a``,
  only if it asks for what the live alias link already is: the same URL and the same ``ttl``
  (both None, or a ttl that gives the stored expiry from the stored creation time). The retry
  keeps the first call's expiry (the clock does not restart). Any other call for a taken alias
  (another URL, a permanent alias for an expiring one or the reverse, another ttl, or after the
  link expired) raises :class:`~designpatterns_ref.shortcode.base.AliasTaken` and changes nothing.
  The holder is read after the refused insert; if it was deleted in between, the alias is
  free and the insert is tried again, so ``AliasTaken`` always answers a link that holds it.
  Hash allocators derive the code from the URL, so they only make sense with sharing: they are
  refused with ``one_code_per_url=False``, and a ``ttl`` call with one is refused too (each
  expiring link of a URL would use up one of its few salted codes).
* **Storage**: in memory (``store=None``) or a SQLite file (``store="links.db"``), where a
  unique index enforces "one code per URL" too and everything survives reopening. With a
  file and no allocator given, codes come from a :class:`~designpatterns_ref.shortcode.ranges.
  RangeAllocator` leasing blocks of 100 from a counter in the same file.
* **Expiry**: ``ttl`` seconds; an expired code answers :class:`~designpatterns_ref.shortcode.
  base.CodeExpired` until ``purge_expired()`` removes it. Times come from ``clock`` (Unix
  seconds, default :func:`time.time`, because they are stored and must mean the same after a
  restart).

Input rules: only ``http``/``https`` URLs with a host, at most ``max_url_length`` characters,
no control characters or whitespace; aliases of 3 to 64 characters from ``A-Z a-z 0-9 _ -``,
never one of the ``reserved`` words (compared without case). A code from the allocator that
is a reserved word (a counter reaches ``api`` at its 141,591st link) is skipped the same way.

Thread-safe when its store and allocator are (all of the library's are).

>>> from designpatterns_ref.clock import ManualClock
>>> clock = ManualClock(start=1_700_000_000.0)
>>> links = UrlShortener(clock=clock)
>>> code = links.shorten("https://example.com/a/long/path")
>>> links.shorten("https://example.com/a/long/path") == code  # one code per URL
True
>>> links.resolve(code)
'https://example.com/a/long/path'
>>> links.shorten("https://example.com/sale", alias="sale", ttl=60)
'sale'
>>> clock.advance(61)
>>> links.resolve("sale")
Traceback (most recent call last):
...
designpatterns_ref.shortcode.base.CodeExpired: resolve: code='sale' expired 1 s ago
>>> links.clicks(code)
1
"""

from __future__ import annotations

import inspect
import itertools
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.base import (
    AliasTaken,
    CodeAllocator,
    CodeExpired,
    CodeNotFound,
    CollisionError,
    InvalidAlias,
    InvalidUrl,
    ShortCodeError,
)
from designpatterns_ref.shortcode.base62 import MAX_CODE_LENGTH
from designpatterns_ref.shortcode.counter import CounterAllocator
from designpatterns_ref.shortcode.hashing import HashCodes
from designpatterns_ref.shortcode.ranges import RangeAllocator, SQLiteCounter
from designpatterns_ref.shortcode.store import (
    Insert,
    Link,
    LinkStore,
    MemoryStore,
    SQLiteStore,
    check_code,
)

__all__ = ["RESERVED_ALIASES", "UrlShortener"]

RESERVED_ALIASES = frozenset(
    {
        "about", "account", "admin", "api", "app", "assets", "auth", "dashboard", "delete",
        "docs", "edit", "favicon", "health", "help", "login", "logout", "metrics", "new",
        "privacy", "register", "robots", "settings", "signin", "signup", "static", "stats",
        "status", "terms", "www",
    }
)  # fmt: skip
"""Aliases refused by default: paths a shortener's own site and API need."""

_ALIAS = re.compile(r"[A-Za-z0-9_-]{3,64}")
_BAD_URL_CHAR = re.compile(r"[\x00-\x20\x7f-\x9f\s\ud800-\udfff]")


#: What a code from an allocator may not hold: what ends or escapes a URL path segment
#: ("/", "?", "#", "%"), whitespace and control characters.
_UNSAFE_IN_CODE = re.compile(r"[/?#%\s\x00-\x1f\x7f-\x9f]")


def _check_issued(allocator: object, code: object) -> None:
    """Refuse a candidate code an allocator yielded that no link can have: not a non-empty
    str of at most ``MAX_CODE_LENGTH`` characters, ``.`` or ``..``, or one holding a
    character unsafe in a URL path segment (the allocators of this package never yield
    one; a hand-written allocator might)."""
    if (
        not isinstance(code, str)
        or not 0 < len(code) <= MAX_CODE_LENGTH
        or code in (".", "..")
        or _UNSAFE_IN_CODE.search(code)
    ):
        raise ShortCodeError(
            f"shorten: the allocator {type(allocator).__name__} yielded code={shown(code, 80)}, "
            f"which no link can have: a code is 1 to {MAX_CODE_LENGTH} characters, not . or .., "
            "without /, ?, #, %, whitespace or control characters"
        )
    check_code("shorten", code)


def _check_hit(store: LinkStore) -> None:
    """Refuse a store whose ``hit`` cannot be called as ``hit(code, generation)``.

    ``isinstance`` against the protocol checks only that the methods exist, so a store
    written before ``hit`` took the link's generation (``hit(self, code)``) would pass it and
    fail at the first ``resolve``; its signature says so now. A ``hit`` whose signature
    Python cannot read (one written in C) is taken on trust.
    """
    hit = getattr(store, "hit", None)
    if not callable(hit):
        raise ShortCodeError(
            f"UrlShortener: store={shown(store)} has hit={shown(hit)}; a LinkStore's hit must "
            "be a method taking (code, generation)"
        )
    try:
        signature = inspect.signature(hit)
    except (TypeError, ValueError):
        return
    try:
        signature.bind("code", 1)
    except TypeError:
        raise ShortCodeError(
            f"UrlShortener: store={shown(store)} has hit{signature}; a LinkStore's hit must "
            "take (code, generation) and count the click only while the code still names "
            "the link of that generation (see LinkStore.hit)"
        ) from None


class UrlShortener:
    """Shorten URLs to codes and resolve them, counting clicks and honouring expiry."""

    def __init__(
        self,
        store: LinkStore | str | Path | None = None,
        *,
        allocator: CodeAllocator | None = None,
        one_code_per_url: bool = True,
        clock: Clock = time.time,
        max_url_length: int = 2048,
        max_attempts: int = 64,
        reserved: frozenset[str] | set[str] = RESERVED_ALIASES,
    ) -> None:
        if not isinstance(one_code_per_url, bool):
            raise ShortCodeError(
                f"UrlShortener: one_code_per_url={shown(one_code_per_url)} must be a bool"
            )
        for name, value in (("max_url_length", max_url_length), ("max_attempts", max_attempts)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ShortCodeError(f"UrlShortener: {name}={shown(value)} must be an int >= 1")
        if allocator is not None and not isinstance(allocator, CodeAllocator):
            raise ShortCodeError(
                f"UrlShortener: allocator={shown(allocator)} has no candidates(url)"
            )
        if isinstance(allocator, HashCodes) and not one_code_per_url:
            raise ShortCodeError(
                "UrlShortener: HashCodes derive the code from the URL, so they give one code "
                "per URL; use a counter or range allocator with one_code_per_url=False"
            )
        if not callable(clock):
            raise ShortCodeError(f"UrlShortener: clock={shown(clock)} must be callable")
        if not isinstance(reserved, set | frozenset | list | tuple) or not all(
            isinstance(w, str) for w in reserved
        ):
            raise ShortCodeError(f"UrlShortener: reserved={shown(reserved)} must be a set of words")
        self._owned: list[SQLiteStore | SQLiteCounter] = []
        if store is None:
            store = MemoryStore()
        elif isinstance(store, str | Path):
            store = SQLiteStore(store)
            self._owned.append(store)
        elif not isinstance(store, LinkStore):
            raise ShortCodeError(f"UrlShortener: store={shown(store)} is not a LinkStore or a path")
        else:
            _check_hit(store)
        if allocator is None:
            if isinstance(store, SQLiteStore):
                counter = SQLiteCounter(store.path, "links")
                self._owned.append(counter)
                allocator = RangeAllocator(counter, block=100)
            else:
                allocator = CounterAllocator()
        self.store = store
        self.allocator = allocator
        self.one_code_per_url = one_code_per_url
        self.clock = clock
        self.max_url_length = max_url_length
        self.max_attempts = max_attempts
        self.reserved = frozenset(word.lower() for word in reserved)

    def __repr__(self) -> str:
        return f"UrlShortener(store={self.store!r}, allocator={self.allocator!r})"

    # -- input checks: each names the field, the value and the rule -------------------------

    def _check_url(self, url: object) -> str:
        if not isinstance(url, str):
            raise InvalidUrl(f"shorten: url={shown(url)} must be a str")
        if len(url) > self.max_url_length:
            raise InvalidUrl(
                f"shorten: url={shown(url, 80)} has {len(url)} characters; "
                f"at most max_url_length={self.max_url_length}"
            )
        bad = _BAD_URL_CHAR.search(url)
        if bad:
            raise InvalidUrl(
                f"shorten: url={shown(url, 80)} has {shown(bad.group())} at position "
                f"{bad.start()}; "
                "control characters, whitespace and lone surrogates are not allowed "
                "(percent-encode them)"
            )
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError as exc:
            raise InvalidUrl(f"shorten: url={shown(url, 80)} does not parse: {exc}") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise InvalidUrl(
                f"shorten: url={shown(url, 80)} has scheme {shown(parts.scheme)}; only http and "
                "https"
            )
        if not parts.hostname:
            raise InvalidUrl(f"shorten: url={shown(url, 80)} has no host")
        return url

    def _check_alias(self, alias: object) -> str:
        if not isinstance(alias, str):
            raise InvalidAlias(f"shorten: alias={shown(alias)} must be a str")
        if not _ALIAS.fullmatch(alias):
            raise InvalidAlias(
                f"shorten: alias={shown(alias)} must be 3 to 64 characters from A-Z a-z 0-9 _ -"
            )
        if alias.lower() in self.reserved:
            raise InvalidAlias(f"shorten: alias={shown(alias)} is a reserved word")
        return alias

    @staticmethod
    def _check_ttl(ttl: object) -> float | None:
        if ttl is None:
            return None
        if isinstance(ttl, bool) or not isinstance(ttl, int | float):
            raise ShortCodeError(f"shorten: ttl={shown(ttl)} must be a number of seconds or None")
        if not 0 < ttl <= sys.float_info.max:  # refuses NaN, inf and ints like 10**400
            raise ShortCodeError(f"shorten: ttl={shown(ttl)} must be finite and > 0")
        return float(ttl)

    @staticmethod
    def _check_code(where: str, code: object) -> str:
        return check_code(where, code)

    # -- the service -------------------------------------------------------------------------

    def shorten(self, url: str, alias: str | None = None, ttl: float | None = None) -> str:
        """A code that resolves to ``url``: ``alias`` if given, else one from the allocator."""
        url = self._check_url(url)
        ttl = self._check_ttl(ttl)
        if alias is not None:
            alias = self._check_alias(alias)
        elif ttl is not None and isinstance(self.allocator, HashCodes):
            raise ShortCodeError(
                f"shorten: ttl={shown(ttl)} with HashCodes: a hash code is the URL's one permanent "
                "code, and each expiring link of the same URL would use up one of its "
                f"{self.allocator.max_attempts} salted codes; give an alias, or use a counter "
                "or range allocator for expiring links"
            )
        now = read_seconds(self.clock, ShortCodeError, "UrlShortener.shorten")
        expires = None if ttl is None else now + ttl
        if expires is not None and expires <= now:
            raise ShortCodeError(
                f"shorten: ttl={shown(ttl)} is below the clock's resolution at {shown(now)} s: "
                "the link would expire as it is made"
            )
        if alias is not None:
            held = None
            for _ in range(self.max_attempts):
                if self.store.insert(Link(alias, url, now, expires, alias=True)) is Insert.OK:
                    return alias
                held = self.store.get(alias)
                if held is not None:
                    break
                # Deleted between the refused insert and the read: the alias is free again.
            if held is not None and self._is_retry(held, url, ttl, now):
                return alias  # a retry of the same request: the first call's expiry stands
            raise AliasTaken(
                f"shorten: alias={shown(alias)} is already taken by "
                + (
                    "another link"
                    if held is None or held.url != url
                    else "this URL's generated code (an alias cannot take it over)"
                    if not held.alias
                    else "a link to this URL with a different expiry, or one that has expired"
                )
            )
        canonical = self.one_code_per_url and ttl is None
        if canonical:
            held = self.store.canonical(url)
            if held is not None:
                return held.code
        tried = 0
        for code in itertools.islice(self.allocator.candidates(url), self.max_attempts):
            tried += 1
            _check_issued(self.allocator, code)
            if code.lower() in self.reserved:  # never issue a word the site's paths need
                continue
            result = self.store.insert(Link(code, url, now, expires, canonical=canonical))
            if result is Insert.OK:
                return code
            if result is Insert.URL_TAKEN:  # another thread shortened this URL first
                held = self.store.canonical(url)
                if held is not None:
                    return held.code
        raise CollisionError(
            f"shorten: all {tried} candidate codes for url={shown(url[:80])} are taken by other "
            "links or reserved; nothing was stored"
        )

    @staticmethod
    def _is_retry(held: Link, url: str, ttl: float | None, now: float) -> bool:
        """Whether ``shorten(url, alias=held.code, ttl=ttl)`` at ``now`` repeats the call that
        stored ``held``: an alias link, live, to the same URL, with the same expiry kind and
        duration (both permanent, or ``held.created_at + ttl == held.expires_at``: the expiry
        this ttl gave, counted from when the link was made)."""
        if not held.alias or held.url != url or held.expired(now):
            return False
        if ttl is None or held.expires_at is None:
            return ttl is None and held.expires_at is None
        return held.created_at + ttl == held.expires_at

    def info(self, code: str) -> Link:
        """The stored link of ``code`` (expired or not), without counting a click."""
        link = self.store.get(self._check_code("info", code))
        if link is None:
            raise CodeNotFound(f"info: code={shown(code)} does not exist")
        return link

    def resolve(self, code: str) -> str:
        """The URL of ``code``, counting one click; raises if unknown or expired.

        The click is counted on the link that was read (its code and generation), so a link
        deleted meanwhile, and its code given to a new link, never hands the new link a click
        of the old one: the resolve came before the delete, and its click went with the link.
        """
        link = self.store.get(self._check_code("resolve", code))
        if link is None:
            raise CodeNotFound(f"resolve: code={shown(code)} does not exist")
        now = read_seconds(self.clock, ShortCodeError, "UrlShortener.resolve")
        if link.expired(now):
            assert link.expires_at is not None
            raise CodeExpired(
                f"resolve: code={shown(code)} expired {now - link.expires_at:.0f} s ago"
            )
        self.store.hit(code, link.generation)
        return link.url

    def clicks(self, code: str) -> int:
        """How many times ``code`` was resolved."""
        return self.info(code).clicks

    def delete(self, code: str) -> bool:
        """Remove the link of ``code``; whether it existed."""
        return self.store.delete(self._check_code("delete", code))

    def purge_expired(self) -> int:
        """Remove every expired link (freeing its code); how many were removed."""
        now = read_seconds(self.clock, ShortCodeError, "UrlShortener.purge_expired")
        return self.store.purge_expired(now)

    def links(self) -> Iterator[Link]:
        """Every stored link, expired or not (a snapshot, in no particular order)."""
        return iter(self.store)

    def __len__(self) -> int:
        return len(self.store)

    def close(self) -> None:
        """Close what this shortener opened (a store or counter it created from a path)."""
        for resource in self._owned:
            resource.close()
        self._owned.clear()

    def __enter__(self) -> UrlShortener:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
