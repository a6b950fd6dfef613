"""Composite limits: ``all_of(a, b, ...)`` admits only when every limiter admits.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Real policies stack limits: "10 per second and 1,000 per hour", or "5 per second and at most
2 in flight". :func:`all_of` checks every limiter under all their locks, then consumes from
every one of them or from none: a request refused by the hourly limit does not spend the
per-second budget. The answer is the most restrictive one: when denied, the latest
``retry_after`` of the refusing limiters (each algorithm here only gets more generous as time
passes with nothing happening, so at that time every one admits), with the ``limit`` and
``remaining`` of the refusing limiter that has the fewest units left (so the headers never
promise units that would not pass); when admitted, the smallest ``remaining``.

Over Redis limiters, :func:`designpatterns_ref.ratelimit.redis.all_of` runs the whole
composite as one Lua script, so it stays all-or-nothing across processes.

Complexity: the sum of the parts, plus one lock per distinct limiter.

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> from designpatterns_ref.ratelimit import FixedWindow, TokenBucket
    >>> clock = ManualClock()
    >>> burst = TokenBucket(rate=10, burst=10, clock=clock)
    >>> hourly = FixedWindow(3, 3600, clock=clock)
    >>> limiter = all_of(burst, hourly)
    >>> [bool(limiter.allow("k")) for _ in range(4)]
    [True, True, True, False]
    >>> burst.peek("k", cost=7).allowed  # the refused fourth request spent nothing
    True
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit.base import (
    UNIT_COST,
    Decision,
    RateLimitError,
    bad_key,
    check_cost,
)
from designpatterns_ref.ratelimit.memory import Acquiring, MemoryLimiter

__all__ = ["AllOf", "all_of", "combine"]


def flatten(parts: Sequence[Any], composite: type[Any], kind: type, what: str) -> list[Any]:
    """The limiters of ``parts``, composites (of type ``composite``) opened up; each must be a
    ``kind``, else RateLimitError saying it is not ``what``. Shared by both ``all_of``."""
    flat: list[Any] = []
    for part in parts:
        if isinstance(part, composite):
            flat.extend(part.limiters)
        elif isinstance(part, kind):
            flat.append(part)
        else:
            raise RateLimitError(f"all_of: {shown(part)} is not {what}")
    if not flat:
        raise RateLimitError("all_of: needs at least one limiter")
    return flat


def combine(decisions: Sequence[Decision]) -> Decision:
    """The most restrictive of several decisions about the same request.

    Refused: ``retry_after`` (and ``delay``) of the refusing part that waits longest, and
    ``limit`` and ``remaining`` of the refusing part with the fewest units left, the units that
    would pass now (a part that admits has at least ``cost`` left, more than any refusing part);
    admitted: the part with the smallest ``remaining``. ``reset_after`` is the latest of all.

    >>> combine([Decision(True, 10, 4), Decision(False, 3, 0, 2.0, 5.0)]).retry_after
    2.0
    >>> combine([Decision(False, 10, 0, 1.0, 10.0), Decision(False, 20, 2, 92.0, 92.0)])
    Decision(allowed=False, limit=10, remaining=0, retry_after=92.0, reset_after=92.0, delay=0.0)
    """
    denied = [d for d in decisions if not d.allowed]
    if denied:
        worst = max(denied, key=lambda d: d.retry_after)
        tightest = min(denied, key=lambda d: d.remaining)
        return worst._replace(
            limit=tightest.limit,
            remaining=tightest.remaining,
            reset_after=max(d.reset_after for d in decisions),
        )
    tightest = min(decisions, key=lambda d: d.remaining)
    return tightest._replace(
        reset_after=max(d.reset_after for d in decisions),
        delay=max(d.delay for d in decisions),
    )


class AllOf(Acquiring):
    """Several in-memory limiters as one: admitted only when every part admits.

    Safe to share between threads (it takes the parts' locks in a fixed order).
    """

    __slots__ = ("_locks", "_max_cost", "limiters")

    def __init__(self, *limiters: MemoryLimiter) -> None:
        parts = flatten(
            limiters, AllOf, MemoryLimiter, "an in-memory limiter; combine Redis limiters "
            "with designpatterns_ref.ratelimit.redis.all_of",
        )  # fmt: skip
        self.limiters: tuple[MemoryLimiter, ...] = tuple(parts)
        unique = {id(part): part for part in parts}
        if len(unique) != len(parts):
            raise RateLimitError("all_of: a limiter appears twice; each part must be distinct")
        self._locks = [unique[i]._lock for i in sorted(unique)]  # a fixed order: no deadlock
        self._max_cost = min(part._max_cost for part in parts)

    @property
    def clock(self) -> Clock:
        """The parts' clock, when they share one (``simulate`` needs it)."""
        clocks = {id(part.clock): part.clock for part in self.limiters}
        if len(clocks) != 1:
            raise RateLimitError("AllOf.clock: the limiters use different clocks")
        return next(iter(clocks.values()))

    def _run(self, key: Hashable, cost: int, commit: bool) -> Decision:
        if cost is not UNIT_COST and (
            cost.__class__ is not int or cost < 1 or cost > self._max_cost
        ):
            cost = check_cost("AllOf", cost, self._max_cost)
        try:
            hash(key)
        except TypeError as exc:
            raise bad_key("AllOf", key, exc) from None
        for lock in self._locks:
            lock.acquire()
        try:
            times = [read_seconds(part.clock, RateLimitError, "AllOf") for part in self.limiters]
            decisions = [
                part._decide(key, cost, now, False)
                for part, now in zip(self.limiters, times, strict=True)
            ]
            if commit and all(decisions):
                decisions = [
                    part._decide(key, cost, now, True)
                    for part, now in zip(self.limiters, times, strict=True)
                ]
            return combine(decisions)
        finally:
            for lock in reversed(self._locks):
                lock.release()

    def allow(self, key: Hashable, cost: int = 1) -> Decision:
        """Admit when every part admits, consuming from all; otherwise consume from none."""
        return self._run(key, cost, True)

    def peek(self, key: Hashable, cost: int = 1) -> Decision:
        """What :meth:`allow` would answer now, consuming nothing."""
        return self._run(key, cost, False)

    def reset(self, key: Hashable) -> None:
        """Forget ``key`` in every part."""
        for part in self.limiters:
            part.reset(key)

    def __repr__(self) -> str:
        return "all_of(" + ", ".join(repr(part) for part in self.limiters) + ")"


def all_of(*limiters: MemoryLimiter) -> AllOf:
    """One limiter that admits only when every one of ``limiters`` admits (see :class:`AllOf`)."""
    return AllOf(*limiters)
