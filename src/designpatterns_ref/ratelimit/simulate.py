"""Replay request times against a limiter on a ManualClock and see what it admits.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

:func:`simulate` sets the limiter's :class:`~designpatterns_ref.clock.ManualClock` to each
arrival time in turn and asks the limiter, so a day of traffic replays in milliseconds and
every run gives the same answer. The :class:`SimulationResult` says what was admitted and
denied and measures it: :meth:`~SimulationResult.max_in_window` is the most admitted in any
window of a given length, the number that shows a fixed window's boundary burst.

Complexity: O(n) decisions for n arrivals, plus O(n) for ``max_in_window``.

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> from designpatterns_ref.ratelimit import FixedWindow, SlidingWindowLog, boundary_burst
    >>> arrivals = boundary_burst(limit=5, per=1.0)
    >>> fixed = simulate(FixedWindow(5, 1.0, clock=ManualClock()), arrivals)
    >>> exact = simulate(SlidingWindowLog(5, 1.0, clock=ManualClock()), arrivals)
    >>> fixed.max_in_window(1.0), exact.max_in_window(1.0)
    (10, 5)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit.base import (
    Decision,
    RateLimiter,
    RateLimitError,
    check_positive,
)
from designpatterns_ref.ratelimit.blocking import check_sync, sync_answer

__all__ = ["SimulationResult", "check_arrivals", "simulate"]

#: Why an asyncio limiter is refused, and what to do instead.
_SYNC_ONLY = (
    "simulate needs a synchronous limiter (the Redis one of the same name, or the in-memory one)"
)


def check_arrivals(owner: str, arrivals: object, after: float = -math.inf) -> list[float]:
    """``arrivals`` as a list of floats, or RateLimitError (before anything is replayed) unless
    it is an iterable of finite numbers, non-decreasing and none before ``after``."""
    if isinstance(arrivals, str | bytes | bytearray) or not isinstance(arrivals, Iterable):
        raise RateLimitError(
            f"{owner}: arrivals={shown(arrivals, 80)} must be an iterable of times in seconds"
        )
    times: list[float] = []
    previous = after
    for t in arrivals:
        if isinstance(t, bool) or not isinstance(t, int | float):
            raise RateLimitError(f"{owner}: arrival t={shown(t, 80)} must be a number of seconds")
        try:
            value = float(t)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise RateLimitError(f"{owner}: arrival t={shown(t, 80)} must be finite")
        if value < previous:
            raise RateLimitError(
                f"{owner}: arrival t={shown(t)} is before {shown(previous)}; arrivals must be "
                "sorted and not in the clock's past"
            )
        times.append(value)
        previous = value
    return times


@dataclass
class SimulationResult:
    """What a limiter did with a list of arrivals: times admitted, times denied, decisions."""

    admitted: list[float] = field(default_factory=list)
    denied: list[float] = field(default_factory=list)
    decisions: list[tuple[float, Decision]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Requests replayed."""
        return len(self.decisions)

    @property
    def admitted_fraction(self) -> float:
        """Share of requests admitted (0 when there were none)."""
        return len(self.admitted) / self.total if self.total else 0.0

    def max_in_window(self, length: float) -> int:
        """The most requests admitted in any half-open window ``(t - length, t]``."""
        length = check_positive("SimulationResult.max_in_window", "length", length)
        times, best, first = self.admitted, 0, 0
        for last, t in enumerate(times):
            while first <= last and times[first] <= t - length:
                first += 1
            best = max(best, last - first + 1)
        return best


def simulate(
    limiter: RateLimiter,
    arrivals: Iterable[float],
    *,
    key: Hashable = "client",
    cost: int = 1,
    clock: ManualClock | None = None,
) -> SimulationResult:
    """Replay ``arrivals`` (non-decreasing times) against ``limiter`` on its ManualClock.

    ``clock`` defaults to ``limiter.clock``; it must be a
    :class:`~designpatterns_ref.clock.ManualClock` not already past the first arrival. An
    asyncio limiter (its ``allow`` a coroutine) is refused with RateLimitError.
    """
    if not callable(getattr(limiter, "allow", None)):
        raise RateLimitError(
            f"simulate: limiter={shown(limiter, 80)} has no allow(key, cost) method"
        )
    check_sync("simulate", limiter, _SYNC_ONLY)
    if clock is None:
        clock = getattr(limiter, "clock", None)
    if not isinstance(clock, ManualClock):
        raise RateLimitError(
            f"simulate: the limiter's clock is {shown(clock, 80)}; build it with "
            "clock=ManualClock() or pass clock="
        )
    times = check_arrivals("simulate", arrivals, clock.now)
    result = SimulationResult()
    for t in times:
        clock.set(t)
        decision = sync_answer("simulate", limiter.allow(key, cost), _SYNC_ONLY)
        (result.admitted if decision else result.denied).append(t)
        result.decisions.append((t, decision))
    return result
