"""The rate limiters on SQLite: one limit shared by the processes of one machine, no server.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Several worker processes (gunicorn, a multiprocessing pool, cron jobs) must share one limit,
and there is no Redis. A SQLite file in WAL mode is enough: every decision is one
transaction opened with ``BEGIN IMMEDIATE``, which takes the database's write lock at once,
so the read-modify-write of a key's state cannot interleave with another process's; the
others wait for the lock (up to ``busy_timeout`` seconds) and then see the committed state.

- **The same algorithms, the same arithmetic.** Each class holds the in-memory limiter of the
  same name as its ``model``: inside the transaction it loads the key's state (JSON text, one
  row per algorithm, limiter name and key, so that two algorithms given one ``name`` never
  read each other's state; GCRA's and the queue's as ``{"stamp": ..., "lead": ...}``, a row of
  an older form being met as a key never seen) into the model, lets the model decide, and
  writes the state back only when it changed. A refused request writes nothing, so it
  changes nothing. A row the model cannot read (not JSON, or not its state) raises
  RateLimitError naming the key; ``reset(key)`` deletes it.
- **Time** is read inside the transaction, after the lock is taken, so decisions are
  serialised in time order too. The default clock is :func:`time.time`: a state that outlives
  a reboot must not be read against :func:`time.monotonic`, which starts again; a wall clock
  stepped back by NTP earns no credit (the algorithms treat time as standing still until it
  catches up). ``clock=`` takes a ManualClock for exact tests.
- **Composites**: :func:`all_of` over limiters on one file decides every part in one
  transaction, all-or-nothing across processes.
- **Failure**: a database that stays locked past ``busy_timeout``, or cannot be opened,
  goes to ``on_error`` as on Redis (:mod:`.backend`: ``"deny"`` by default, ``"allow"`` or
  ``"raise"``).
- **Durability**: ``synchronous=NORMAL``, the usual choice in WAL mode: a committed decision
  survives the process crashing, and the last few may be lost on power loss (they would
  only let a client through again).
- **Threads and processes**: the limiters of one file in one process share one connection
  and one lock; each process opens its own (also after a fork). A transaction that SQLite
  refuses at once as "busy" (it does so, rather than wait, where waiting could deadlock)
  starts again, within ``busy_timeout``. The file handling is in :mod:`._sqlite_store`.
  Idle rows are deleted by :meth:`SQLiteLimiter.forget_idle` (call it now and then), never
  during a decision.

Complexity: one transaction per decision: an ``fsync``-free commit in WAL mode, about 100 to
150 microseconds (a few thousand decisions per second per file, measured in the case study),
and one writer at a time across the machine. The sliding log's and the
concurrency cap's states grow with the limit (one number per unit), read and written whole.

Examples:
    >>> import os, tempfile
    >>> from designpatterns_ref.clock import ManualClock
    >>> path = os.path.join(tempfile.mkdtemp(), "limits.db")
    >>> bucket = TokenBucket(path, rate=2, per=1.0, burst=2, clock=ManualClock())
    >>> [bool(bucket.allow("alice")) for _ in range(3)]
    [True, True, False]
    >>> TokenBucket(path, rate=2, per=1.0, burst=2, clock=ManualClock()).peek("alice").remaining
    0
"""

from __future__ import annotations

import os
import time
from typing import Any

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit._sqlite_store import (
    _DELETE,
    _check_key,
    _check_path,
    _errors,
    _read_row,
    _retrying,
    _run,
    _store,
    _unreadable,
)
from designpatterns_ref.ratelimit.backend import OnError, check_on_error, fallback
from designpatterns_ref.ratelimit.base import Decision, RateLimitError, check_cost, check_positive
from designpatterns_ref.ratelimit.composite import AllOf, combine, flatten
from designpatterns_ref.ratelimit.concurrency import ConcurrencyLimiter as _Concurrency
from designpatterns_ref.ratelimit.fixed_window import FixedWindow as _Fixed
from designpatterns_ref.ratelimit.gcra import GCRA as _GCRA
from designpatterns_ref.ratelimit.leaky_bucket import LeakyBucket as _Leaky
from designpatterns_ref.ratelimit.leaky_queue import LeakyBucketQueue as _Queue
from designpatterns_ref.ratelimit.memory import Acquiring, MemoryLimiter
from designpatterns_ref.ratelimit.notation import (
    ALGORITHMS,
    distinct_limits,
    parse_limits,
    resolve_algorithm,
    spec_args,
)
from designpatterns_ref.ratelimit.sliding_counter import SlidingWindowCounter as _Counter
from designpatterns_ref.ratelimit.sliding_log import SlidingWindowLog as _Log
from designpatterns_ref.ratelimit.token_bucket import TokenBucket as _Bucket

__all__ = [
    "GCRA",
    "ConcurrencyLimiter",
    "FixedWindow",
    "LeakyBucket",
    "LeakyBucketQueue",
    "SQLiteAllOf",
    "SQLiteLimiter",
    "SlidingWindowCounter",
    "SlidingWindowLog",
    "TokenBucket",
    "all_of",
    "limiter_from_text",
]


class SQLiteLimiter(Acquiring):
    """Base of the SQLite limiters: ``path`` first, then the in-memory limiter's arguments.

    Options: ``clock`` (default :func:`time.time`), ``name`` (the limiter's rows; default the
    model's repr, so processes that build the same limiter share it), ``on_error``
    (``"deny"``, ``"allow"`` or ``"raise"``) and ``busy_timeout`` (seconds to wait for the
    write lock, default 5).
    """

    _model: Any = MemoryLimiter

    def __init__(
        self,
        path: str | os.PathLike[str],
        *args: Any,
        clock: Clock | None = None,
        name: str | None = None,
        on_error: OnError = "deny",
        busy_timeout: float = 5.0,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        self.path = _check_path(owner, path)
        self.on_error: OnError = check_on_error(owner, on_error)
        self.busy_timeout = check_positive(owner, "busy_timeout", busy_timeout)
        if self.busy_timeout > 3600:
            raise RateLimitError(
                f"{owner}: busy_timeout={shown(busy_timeout)} must be at most 3600"
            )
        if clock is not None and not callable(clock):
            raise RateLimitError(f"{owner}: clock={shown(clock, 80)} must be callable or None")
        self.model: Any = self._model(*args, clock=clock or time.time, **kwargs)
        self.clock: Clock = self.model.clock
        self.limit: int = self.model.limit
        if name is None:
            name = repr(self.model)
        elif not isinstance(name, str) or not 1 <= len(name) <= 200 or not name.isprintable():
            raise RateLimitError(
                f"{owner}: name={shown(name, 80)} must be 1 to 200 printable characters"
            )
        self.name: str = name
        # the rows' identity: the algorithm and the name, so that limiters of two algorithms
        # given one name never read each other's state
        self.row_name = f"{type(self.model).__name__}:{name}"

    def _cost(self, cost: object) -> int:
        if cost.__class__ is int and 1 <= cost <= self.model._max_cost:
            return cost
        return check_cost(type(self).__name__, cost, self.model._max_cost)

    def _decide(self, key: object, cost: object, write: bool) -> Decision:
        owner = type(self).__name__
        count, stored = self._cost(cost), _check_key(owner, key)
        model = self.model
        op = (lambda: model.allow(stored, count)) if write else (lambda: model.peek(stored, count))
        try:
            return _run((self,), stored, op, write)  # type: ignore[no-any-return]
        except _errors() as exc:
            return fallback(self.on_error, self.limit, exc, "SQLite")

    def allow(self, key: str | int, cost: int = 1) -> Decision:
        """Admit or deny a request of ``cost`` units for ``key``, consuming on admission."""
        return self._decide(key, cost, True)

    def peek(self, key: str | int, cost: int = 1) -> Decision:
        """What :meth:`allow` would answer now, consuming nothing."""
        return self._decide(key, cost, False)

    def reset(self, key: str | int) -> None:
        """Forget ``key``: delete its row (``on_error`` decides when the file is unusable:
        with ``"deny"`` or ``"allow"`` a failed reset is skipped)."""
        stored = _check_key(type(self).__name__, key)
        try:
            _retrying(self, lambda: self._execute(_DELETE, (self.row_name, stored)))
        except _errors() as exc:
            if self.on_error == "raise":
                fallback("raise", self.limit, exc, "SQLite")

    def _execute(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        store = _store(self.path, self.busy_timeout)
        with store.lock:
            return store.conn.execute(sql, args).fetchall()

    def forget_idle(self) -> int:
        """Delete every row of this limiter whose state is back to "never seen"; how many
        (``on_error`` decides when the file is unusable: with ``"deny"`` or ``"allow"`` the
        sweep is skipped, and 0 returned)."""
        try:
            return _retrying(self, self._forget_idle)  # type: ignore[no-any-return]
        except _errors() as exc:
            return self._skipped(exc)

    def _skipped(self, exc: BaseException) -> int:
        """A bookkeeping call that could not use the file: BackendUnavailable for
        ``"raise"``, else nothing done (0)."""
        if self.on_error == "raise":
            fallback("raise", self.limit, exc, "SQLite")
        return 0

    def _forget_idle(self) -> int:
        store = _store(self.path, self.busy_timeout)
        with store.lock:
            conn = store.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                now = read_seconds(self.clock, RateLimitError, f"{type(self).__name__}.forget_idle")
                rows = conn.execute(
                    "SELECT key, state FROM ratelimit WHERE name = ?", (self.row_name,)
                ).fetchall()
                idle = [(self.row_name, k) for k, s in rows if self._is_idle(k, s, now)]
                conn.executemany(_DELETE, idle)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return len(idle)

    def _is_idle(self, key: object, text: str, now: float) -> bool:
        """Whether a row's state is back to "never seen" (a row of an older form is)."""
        state = _read_row(self, key, text)
        try:
            return state is None or bool(self.model._idle(state, now))
        except (ValueError, TypeError, LookupError) as exc:
            raise _unreadable(self, key, text) from exc

    def tracked_keys(self) -> int:
        """How many keys of this limiter have a row (idle ones until :meth:`forget_idle`);
        ``on_error`` decides when the file is unusable, as for :meth:`forget_idle`."""
        count = "SELECT COUNT(*) FROM ratelimit WHERE name = ?"
        try:
            return int(_retrying(self, lambda: self._execute(count, (self.row_name,)))[0][0])
        except _errors() as exc:
            return self._skipped(exc)

    def __repr__(self) -> str:
        return f"<sqlite {self.model!r} name={self.name!r} path={self.path!r}>"


class TokenBucket(SQLiteLimiter):
    """:class:`~designpatterns_ref.ratelimit.token_bucket.TokenBucket` on SQLite:
    ``TokenBucket(path, rate, per=1.0, burst=None, **options)``."""

    _model = _Bucket


class GCRA(SQLiteLimiter):
    """:class:`~designpatterns_ref.ratelimit.gcra.GCRA` on SQLite."""

    _model = _GCRA


class LeakyBucket(SQLiteLimiter):
    """:class:`~designpatterns_ref.ratelimit.leaky_bucket.LeakyBucket` on SQLite."""

    _model = _Leaky


class LeakyBucketQueue(SQLiteLimiter):
    """:class:`~designpatterns_ref.ratelimit.leaky_queue.LeakyBucketQueue` on SQLite."""

    _model = _Queue


class FixedWindow(SQLiteLimiter):
    """:class:`~designpatterns_ref.ratelimit.fixed_window.FixedWindow` on SQLite:
    ``FixedWindow(path, rate, per=1.0, **options)``."""

    _model = _Fixed


class SlidingWindowLog(SQLiteLimiter):
    """:class:`~designpatterns_ref.ratelimit.sliding_log.SlidingWindowLog` on SQLite."""

    _model = _Log


class SlidingWindowCounter(SQLiteLimiter):
    """:class:`~designpatterns_ref.ratelimit.sliding_counter.SlidingWindowCounter` on SQLite."""

    _model = _Counter


class ConcurrencyLimiter(SQLiteLimiter):
    """:class:`~designpatterns_ref.ratelimit.concurrency.ConcurrencyLimiter` on SQLite:
    ``ConcurrencyLimiter(path, limit, lease=60.0, **options)``; units taken with ``allow``
    are given back with :meth:`release` (there is no ``hold`` here)."""

    _model = _Concurrency

    def release(self, key: str | int, cost: int = 1) -> None:
        """Give back the ``cost`` oldest live units of ``key`` (all taken with ``allow``
        here); RateLimitError, changing nothing, when it holds fewer."""
        count, stored = self._cost(cost), _check_key("ConcurrencyLimiter.release", key)
        model = self.model
        try:
            _run((self,), stored, lambda: model.release(stored, count), True)
        except _errors() as exc:
            if self.on_error == "raise":
                fallback("raise", self.limit, exc, "SQLite")


class SQLiteAllOf(Acquiring):
    """Several SQLite limiters on one file as one, decided in one transaction: all consume,
    or none does, whichever process asks."""

    def __init__(self, *limiters: SQLiteLimiter | SQLiteAllOf) -> None:
        parts: list[SQLiteLimiter] = flatten(
            limiters, SQLiteAllOf, SQLiteLimiter, "a SQLite limiter; an all-or-nothing "
            "composite needs every limiter in the same store (memory, Redis or SQLite)",
        )  # fmt: skip
        first = parts[0]
        if any(p.path != first.path or p.busy_timeout != first.busy_timeout for p in parts):
            raise RateLimitError(
                "all_of: every SQLite limiter must share one path and busy_timeout"
            )
        if len({p.row_name for p in parts}) != len(parts):
            raise RateLimitError("all_of: two limiters share a name; give each its own name=")
        self.limiters: tuple[SQLiteLimiter, ...] = tuple(parts)
        self._models = AllOf(*[p.model for p in parts])
        self.limit = min(p.limit for p in parts)
        self.on_error: OnError = first.on_error

    @property
    def clock(self) -> Clock:
        """The parts' clock, when they share one."""
        return self._models.clock

    def _decide(self, key: object, cost: object, write: bool) -> Decision:
        count = check_cost("all_of", cost, self._models._max_cost)
        stored = _check_key("SQLiteAllOf", key)
        models = self._models
        choice = models.allow if write else models.peek

        def decide() -> Decision:
            return choice(stored, count)

        try:
            return _run(self.limiters, stored, decide, write)  # type: ignore[no-any-return]
        except _errors() as exc:
            return combine([fallback(p.on_error, p.limit, exc, "SQLite") for p in self.limiters])

    def allow(self, key: str | int, cost: int = 1) -> Decision:
        """Admit when every part admits, consuming from all; otherwise consume from none."""
        return self._decide(key, cost, True)

    def peek(self, key: str | int, cost: int = 1) -> Decision:
        """What :meth:`allow` would answer now, consuming nothing."""
        return self._decide(key, cost, False)

    def reset(self, key: str | int) -> None:
        """Forget ``key`` in every part."""
        for part in self.limiters:
            part.reset(key)

    def __repr__(self) -> str:
        return "sqlite.all_of(" + ", ".join(repr(p) for p in self.limiters) + ")"


def all_of(*limiters: SQLiteLimiter | SQLiteAllOf) -> SQLiteAllOf:
    """One limiter, decided in one transaction, admitting only when every part admits."""
    return SQLiteAllOf(*limiters)


_CLASSES: dict[str, type[SQLiteLimiter]] = {
    "token_bucket": TokenBucket,
    "gcra": GCRA,
    "leaky_bucket": LeakyBucket,
    "leaky_queue": LeakyBucketQueue,
    "fixed_window": FixedWindow,
    "sliding_log": SlidingWindowLog,
    "sliding_counter": SlidingWindowCounter,
}
assert set(_CLASSES) == set(ALGORITHMS)


def limiter_from_text(
    path: str | os.PathLike[str],
    text: str,
    algorithm: str | type,
    *,
    clock: Clock | None = None,
    name: str | None = None,
    on_error: OnError = "deny",
    busy_timeout: float = 5.0,
) -> SQLiteAllOf:
    """:func:`~designpatterns_ref.ratelimit.notation.limiter_from_text` on SQLite: every limit
    in ``text`` (e.g. ``"10/second; 1000/hour"``) as one all-or-nothing limiter on ``path``.
    Each part's rows are named ``name`` (default the algorithm) and the spec,
    e.g. ``"token_bucket 10/second"`` (a limit written twice is one part)."""
    chosen = resolve_algorithm("sqlite.limiter_from_text", algorithm)
    specs = distinct_limits(parse_limits(text))  # equal parts would share one name
    base = chosen if name is None else name
    cls = _CLASSES[chosen]
    options: dict[str, Any] = {"clock": clock, "on_error": on_error, "busy_timeout": busy_timeout}
    return SQLiteAllOf(
        *[cls(path, *spec_args(chosen, s), name=f"{base} {s}", **options) for s in specs]
    )
