"""Range allocator: lease blocks of numbers from a shared counter, hand them out locally.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

Flickr's ticket servers, generalised. A shared counter (the :class:`~designpatterns_ref.
shortcode.base.Counter`) is asked for a whole block of ``block`` numbers at once with one
atomic increment; the app server then hands them out from memory until the block runs out.
One round trip now buys ``block`` codes, so the shared counter stops being the bottleneck,
and the codes are still unique: blocks never overlap because the increment is atomic.

The trade-off is gaps. A server that crashes, restarts or is shut down loses whatever is
left of its block, and those numbers are never handed out:

    server A leases [0, 1000)     uses 0..41    crashes: 42..999 are gone
    server B leases [1000, 2000)  ...
    server A restarts, leases [2000, 3000)

That is fine, because nothing needs codes to be dense: a gap wastes part of a space of
trillions (62**7) and costs nothing else. What must never happen, two servers holding the
same number, cannot: each block comes from one atomic increment of a durable counter.

A fixed ``width`` bounds the code space, and the allocator passes that bound to the counter
(``reserve(block, limit=...)``): the last block is cut at the bound, and once the space is used
up ``allocate`` raises SpaceExhausted in the same atomic step that finds it, with the shared
counter and the allocator unchanged (a refused call never moves the counter past the space).

Backing counters: :class:`MemoryCounter` (one process), :class:`SQLiteCounter` (a file shared
by processes on one machine, surviving restarts) and
:class:`~designpatterns_ref.shortcode.redis.RedisCounter` (``INCRBY`` on a Redis server shared
by a fleet).

Thread-safe: a lock guards the local block. Complexity: O(1) per code, plus one counter round
trip per ``block`` codes.

>>> counter = MemoryCounter()
>>> a, b = RangeAllocator(counter, block=100), RangeAllocator(counter, block=100)
>>> a.next_number(), a.next_number(), b.next_number()
(0, 1, 100)
>>> counter.reserve(5)  # the next block starts after both leases
200
"""

from __future__ import annotations

import contextlib
import inspect
import sqlite3
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode._sqlite_open import open_sqlite
from designpatterns_ref.shortcode.base import (
    Counter,
    ShortCodeError,
    ShortCodeUnavailable,
    SpaceExhausted,
)
from designpatterns_ref.shortcode.base62 import Alphabet
from designpatterns_ref.shortcode.blocklist import Blocklist
from designpatterns_ref.shortcode.counter import NumberAllocator, NumberCodes, _check_start
from designpatterns_ref.shortcode.obfuscate import Obfuscator
from designpatterns_ref.shortcode.store import check_code

__all__ = ["COUNTER_MAX", "MemoryCounter", "RangeAllocator", "SQLiteCounter"]


#: The largest value any counter reaches: SQLite's and Redis's signed 64-bit maximum. A
#: counter's value is the next number it will hand out, so the last number is one below.
COUNTER_MAX = 2**63 - 1


def _check_n(where: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= COUNTER_MAX:
        raise ShortCodeError(
            f"{where}: n={shown(n)} must be an int from 1 to COUNTER_MAX (2**63 - 1)"
        )
    return n


def _check_limit(where: str, limit: object) -> int | None:
    """``limit`` as the bound a reservation stays below: None (no bound) for None and for any
    int above :data:`COUNTER_MAX`, which the counter never reaches anyway."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ShortCodeError(f"{where}: limit={shown(limit, 80)} must be None or an int >= 0")
    return None if limit > COUNTER_MAX else limit


def _take(where: str, first: int, n: int, limit: int | None) -> int:
    """How many numbers ``reserve(n, limit)`` takes from a counter at ``first``, or the
    SpaceExhausted that refuses it (``limit`` already through :func:`_check_limit`)."""
    if limit is not None and first >= limit:
        raise SpaceExhausted(
            f"{where}: the counter is at {first}, so no number is below limit={limit}; "
            "the counter is unchanged"
        )
    take = n if limit is None else min(n, limit - first)
    if first > COUNTER_MAX - take:  # the counter's new value, first + take, must fit
        raise _past_max(where, first, n)
    return take


def _past_max(where: str, first: int, n: int) -> SpaceExhausted:
    return SpaceExhausted(
        f"{where}: n={n} from {first} would pass the counter's maximum COUNTER_MAX "
        f"(2**63 - 1); the counter is unchanged"
    )


def _check_counter_start(where: str, start: object) -> int:
    start = _check_start(where, start)
    if start > COUNTER_MAX:
        raise ShortCodeError(f"{where}: start={shown(start)} is over COUNTER_MAX (2**63 - 1)")
    return start


class MemoryCounter:
    """A :class:`Counter` in this process's memory (thread-safe)."""

    def __init__(self, start: int = 0) -> None:
        self._next = _check_counter_start("MemoryCounter", start)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryCounter(next={self._next})"

    def reserve(self, n: int, limit: int | None = None) -> int:
        """Take up to ``n`` numbers, all below ``limit``; return the first (see Counter)."""
        _check_n("MemoryCounter.reserve", n)
        bound = _check_limit("MemoryCounter.reserve", limit)
        with self._lock:
            first = self._next
            self._next = first + _take("MemoryCounter.reserve", first, n, bound)
            return first


def _open_counter(name: str, start: int, db: sqlite3.Connection) -> None:
    """The opening statements of a :class:`SQLiteCounter`, each safe to run again."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS shortcode_counters "
        "(name TEXT PRIMARY KEY, next INTEGER NOT NULL)"
    )
    db.execute(
        "INSERT INTO shortcode_counters (name, next) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET next = max(next, excluded.next)",
        (name, start),
    )


class SQLiteCounter:
    """A :class:`Counter` stored in a SQLite file: durable, shared by every process using it.

    Each ``reserve`` is one ``BEGIN IMMEDIATE`` transaction (read, check, update), so two
    processes can never receive overlapping blocks. The table is ``shortcode_counters(name, next)``;
    several named counters may share one file. Commits use ``synchronous=FULL`` (an fsync
    each): a counter that forgot a lease after a power cut would hand the same numbers out
    twice, which is worth a few milliseconds per block. Thread-safe: one connection behind a
    lock.

    ``start`` is where a new counter begins; on an existing one it moves the counter forward to
    ``start`` if it is behind (never back), which is how a counter restored from an old
    backup is set past the highest number already used.
    """

    def __init__(self, path: str | Path, name: str = "links", *, start: int = 0) -> None:
        if not isinstance(path, str | Path):
            raise ShortCodeError(f"SQLiteCounter: path={shown(path)} must be a str or Path")
        if not isinstance(name, str) or not name:
            raise ShortCodeError(f"SQLiteCounter: name={shown(name)} must be a non-empty str")
        _check_counter_start("SQLiteCounter", start)
        check_code("SQLiteCounter", name)  # a name SQLite can store (no lone surrogate)
        self.path = str(path)
        self.name = name
        self._lock = threading.Lock()
        self._conn = open_sqlite("SQLiteCounter", self.path, partial(_open_counter, name, start))
        self._closed = False

    def __repr__(self) -> str:
        return f"SQLiteCounter(path={self.path!r}, name={self.name!r})"

    def reserve(self, n: int, limit: int | None = None) -> int:
        """Take up to ``n`` numbers, all below ``limit``, in one transaction; return the first.

        ``BEGIN IMMEDIATE`` takes the file's write lock before the counter is read, so the
        read, the checks (the block stays below ``limit`` and :data:`COUNTER_MAX`) and the
        update are one atomic step for every process; a refused reservation rolls back and
        leaves the counter as it was.
        """
        _check_n("SQLiteCounter.reserve", n)
        bound = _check_limit("SQLiteCounter.reserve", limit)
        with self._lock:
            if self._closed:
                raise ShortCodeError(
                    f"SQLiteCounter.reserve: the counter is closed; open a new "
                    f"SQLiteCounter({shown(self.path)}, {shown(self.name)})"
                )
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    row = conn.execute(
                        "SELECT next FROM shortcode_counters WHERE name = ?", (self.name,)
                    ).fetchone()
                    first = int(row[0])
                    take = _take("SQLiteCounter.reserve", first, n, bound)
                    conn.execute(
                        "UPDATE shortcode_counters SET next = ? WHERE name = ?",
                        (first + take, self.name),
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    # A failed COMMIT (a full disk) may leave the transaction open, holding
                    # the file's write lock: roll back so the counter and the file stay usable.
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:  # locked past the busy timeout, damaged, disk full
                raise ShortCodeUnavailable(
                    f"SQLiteCounter.reserve: the database failed: {exc}"
                ) from exc
        return first

    def close(self) -> None:
        """Close the connection (reserved blocks stay reserved). Closing twice does nothing;
        ``reserve`` after it raises ``ShortCodeError``."""
        with self._lock:
            self._closed = True
            self._conn.close()


def _takes_limit(reserve: Callable[..., int]) -> bool:
    """Whether ``reserve`` can be called with ``limit=`` (a parameter of that name, or
    ``**kwargs``); a callable whose signature cannot be read is given the benefit of the doubt."""
    try:
        parameters = inspect.signature(reserve).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "limit" or p.kind is p.VAR_KEYWORD for p in parameters)


class RangeAllocator(NumberAllocator):
    """Codes from blocks of ``block`` numbers leased from a shared :class:`Counter`.

    Thread-safe. ``width``, ``obfuscator``, ``alphabet`` and ``blocklist`` shape the codes as
    in :class:`~designpatterns_ref.shortcode.counter.CounterAllocator`.
    """

    def __init__(
        self,
        counter: Counter,
        block: int = 1000,
        *,
        width: int | None = None,
        obfuscator: Obfuscator | None = None,
        alphabet: str | Alphabet | None = None,
        blocklist: Blocklist | None = None,
    ) -> None:
        if not callable(getattr(counter, "reserve", None)):
            raise ShortCodeError(
                f"RangeAllocator: counter={shown(counter)} has no reserve(n) method"
            )
        if isinstance(block, bool) or not isinstance(block, int) or block < 1:
            raise ShortCodeError(f"RangeAllocator: block={shown(block)} must be an int >= 1")
        self.counter = counter
        self.block = block
        self.codes = NumberCodes(width, obfuscator, alphabet, blocklist)
        if self.codes.limit is not None and not _takes_limit(counter.reserve):
            raise ShortCodeError(
                f"RangeAllocator: counter={shown(counter)} has reserve(n) without limit=, and "
                f"a bounded width ({self.codes.width}) needs reserve(n, limit=...) so that no "
                "lease runs past the codes that exist; give the counter a limit parameter, or "
                "leave width unset"
            )
        self._next = 0
        self._end = 0  # the current lease is [_next, _end); empty at first
        self._lock = threading.Lock()
        self.leases = 0
        """How many blocks this allocator has leased."""

    def __repr__(self) -> str:
        return f"RangeAllocator(block={self.block}, lease=[{self._next}, {self._end}))"

    def next_number(self) -> int:
        """The next number of the current block, leasing a new block when it is used up.

        With a bounded code space (``width``) the lease asks the counter only for numbers that
        have codes (``reserve(block, limit=...)``), so the last block may be shorter, and once
        the space is used up the call raises SpaceExhausted with the counter and this
        allocator unchanged.
        """
        with self._lock:
            if self._next >= self._end:
                limit = self.codes.limit
                if limit is None:
                    first = self.counter.reserve(self.block)
                    end = first + self.block
                else:
                    try:
                        first = self.counter.reserve(self.block, limit=limit)
                    except SpaceExhausted as exc:
                        raise SpaceExhausted(
                            f"RangeAllocator: no number left with a code (width="
                            f"{self.codes.width} holds {limit} codes): {exc}"
                        ) from None
                    end = min(first + self.block, limit)
                self._next, self._end = first, end
                self.leases += 1
            n = self._next
            self.codes.check(n)
            self._next = n + 1
            return n

    def remaining(self) -> int:
        """How many numbers are left in the current block (lost if the process dies now)."""
        with self._lock:
            return self._end - self._next
