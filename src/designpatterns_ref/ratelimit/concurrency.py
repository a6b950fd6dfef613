"""Concurrency limiter: a cap on requests in flight per key, used as a context manager.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Rate limiters count requests *started*; this one counts requests *not yet finished*. Each key
may hold at most ``limit`` units at once: ``with limiter.hold(key):`` takes a unit for the
duration of the block (or raises :class:`~.base.RateLimitExceeded`), and gives it back on the
way out, exceptions included. Stripe runs one beside its rate limiters, because a few slow,
expensive requests can exhaust a server long before any rate limit trips.

A hold may carry a *lease*: if its holder never gives it back (a crashed worker), it expires
``lease`` seconds after it was taken. Without a lease (``lease=None``) a lost hold is lost
for good and ``retry_after`` is infinite when the key is full.

``allow``/``release`` are the low-level pair: ``allow`` takes anonymous units and
``release`` gives back the oldest live ones of the key, never a live hold's; ``hold`` gives
back exactly its own. So callers of both kinds may share a key: ``release`` is refused,
changing nothing, when fewer units taken with ``allow`` are live than it gives back, however
many holds are open. A hold's entries in the key's list of expiries are one float object of
its own (a ``_Held``, a float to every comparison): ``release`` skips them and the hold's
exit finds them by identity, so the list keeps one entry per unit, a decision reads it
unchanged, and an open hold costs 16 bytes more than the units of ``allow`` (its float is
tracked by the garbage collector). On Redis a hold's entries carry the token of its call,
``allow``'s a token no hold draws.

Promise: at no instant do more than ``limit`` live holds exist for a key. Loose where: a
holder that outlives its lease is no longer counted.

Choose it for expensive endpoints (reports, exports, LLM calls), where duration, not
arrival rate, is what runs out; combine it with a rate limiter through :func:`.all_of`.

Complexity: O(log h) time per refusal, O(h + cost) per admission (a sorted insert into the
key's list of expiries), O(h) per release and per exit of a hold, and O(h) memory per key,
``h <= limit`` live holds.

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> limiter = ConcurrencyLimiter(limit=1, clock=ManualClock())
    >>> with limiter.hold("report"):
    ...     limiter.peek("report").allowed
    False
    >>> limiter.peek("report").allowed
    True
"""

from __future__ import annotations

import contextlib
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Hashable, Iterator

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit.base import (
    UNIT_COST,
    Decision,
    RateLimitError,
    RateLimitExceeded,
    bad_key,
    bad_time,
    check_cost,
    check_count,
    check_positive,
    new_decision,
    wait_until,
)
from designpatterns_ref.ratelimit.memory import MemoryLimiter

__all__ = ["ConcurrencyLimiter"]


class _Held(float):
    """The expiry of a hold's units: a float that ``release`` skips, one object per hold (its
    ``cost`` entries in the key's list are that object), so the hold's exit removes exactly
    its own entries, found by identity, even where another unit expires at the same time."""

    __slots__ = ()


class ConcurrencyLimiter(MemoryLimiter):
    """At most ``limit`` units in flight per key; holds expire after ``lease`` seconds.

    Safe to share between threads.
    """

    __slots__ = ("lease",)

    def __init__(
        self, limit: int, *, lease: float | None = 60.0, clock: Clock | None = None
    ) -> None:
        count = check_count("ConcurrencyLimiter", "limit", limit)
        self.lease = None if lease is None else check_positive("ConcurrencyLimiter", "lease", lease)
        super().__init__(count, clock)

    def _admits(self, state: list[float], cost: int, t: float) -> bool:
        """Whether the arithmetic of a decision, replayed at time ``t`` on ``state``, admits."""
        return len(state) - bisect_right(state, t) + cost <= self.limit

    def _decide(
        self, key: Hashable, cost: int, now: float, commit: bool, unit: float | None = None
    ) -> Decision:
        """The decision; on admission (with ``commit``) it adds ``cost`` entries of ``unit``
        (a hold's ``_Held``), or of the expiry when None (an anonymous unit)."""
        if now - now:  # NaN or an infinity: it would expire every hold, or none
            raise bad_time("ConcurrencyLimiter", now)
        limit = self.limit
        holds: list[float] | None = self._states.get(key)  # expiry times, ascending
        expired = bisect_right(holds, now) if holds else 0
        live = len(holds) - expired if holds else 0
        expires = now + self.lease if self.lease is not None else math.inf
        if live + cost <= limit:
            if commit:
                entry = expires if unit is None else unit
                if holds is None:
                    self._remember(key, [entry] * cost, now)
                else:
                    del holds[:expired]
                    for _ in range(cost):
                        insort(holds, entry)
            return new_decision(
                Decision, (True, limit, limit - live - cost, 0.0, expires - now, 0.0)
            )
        assert holds is not None  # a key never seen is never denied
        # Refused: admitted exactly when the hold that must expire first has expired (no
        # rounding: the decision compares that very expiry with the time).
        frees_at = holds[expired + live + cost - limit - 1]
        wait = math.inf if frees_at == math.inf else wait_until(now, frees_at)
        reset = holds[-1] - now
        return new_decision(Decision, (False, limit, limit - live, wait, reset, 0.0))

    def _idle(self, state: list[float], now: float) -> bool:
        return not state or state[-1] <= now

    def release(self, key: Hashable, cost: int = 1) -> None:
        """Give back the ``cost`` oldest live units of ``key`` taken with :meth:`allow` (never
        a live hold's: its block gives those back).

        Raises RateLimitError, changing nothing, when ``key`` has fewer such live units.
        """
        cost = check_cost("ConcurrencyLimiter.release", cost, self.limit)
        with self._lock:
            try:
                holds: list[float] = self._states.get(key) or []
            except TypeError as exc:
                raise bad_key("ConcurrencyLimiter.release", key, exc) from None
            now = read_seconds(self.clock, RateLimitError, "ConcurrencyLimiter.release")
            expired = bisect_right(holds, now)
            # the oldest live anonymous units end where the cost-th of them stands (the first
            # cost live entries, unless a hold is open on the key)
            end, left = expired, cost
            while left and end < len(holds):
                if holds[end].__class__ is not _Held:
                    left -= 1
                end += 1
            if left:
                raise RateLimitError(
                    f"ConcurrencyLimiter.release: key={shown(key)} holds {cost - left} live "
                    f"units taken with allow, cannot release cost={cost}"
                )
            # drop the expired entries and those units, keeping the holds' among them
            holds[:end] = [u for u in holds[expired:end] if u.__class__ is _Held]
            if not holds:
                del self._states[key]

    @contextlib.contextmanager
    def hold(self, key: Hashable, cost: int = 1) -> Iterator[Decision]:
        """Hold ``cost`` units of ``key`` for the ``with`` block; raise RateLimitExceeded if full.

        On the way out the block gives back exactly its own holds (none if its lease ran out
        and a later decision dropped them, or the key was reset).
        """
        if cost is not UNIT_COST and (
            cost.__class__ is not int or cost < 1 or cost > self._max_cost
        ):
            cost = check_cost("ConcurrencyLimiter.hold", cost, self._max_cost)
        with self._lock:
            now = read_seconds(self.clock, RateLimitError, "ConcurrencyLimiter.hold")
            own = _Held(now + self.lease if self.lease is not None else math.inf)
            try:
                decision = self._decide(key, cost, now, True, own)
            except TypeError as exc:
                raise bad_key("ConcurrencyLimiter.hold", key, exc) from None
        if not decision:
            raise RateLimitExceeded(decision)
        try:
            yield decision
        finally:
            with self._lock:
                holds = self._states.get(key)
                if holds:  # its entries are together among those that expire when it does
                    at = bisect_left(holds, own)
                    end = bisect_right(holds, own, at)
                    if any(u is own for u in holds[at:end]):
                        holds[at:end] = [u for u in holds[at:end] if u is not own]
                        if not holds:
                            del self._states[key]

    def __repr__(self) -> str:
        return f"ConcurrencyLimiter(limit={self.limit}, lease={self.lease!r})"
