"""Sliding windows of call outcomes: the last N calls, or the calls of the last N seconds.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

A circuit breaker judges a dependency by its recent calls, the way resilience4j does:

- :class:`CountWindow` keeps the outcomes of the last ``size`` calls in a ring. Each new
  outcome overwrites the oldest one and the running totals change by the difference.
- :class:`TimeWindow` keeps one bucket per second for the last ``size`` seconds (a call at
  time ``t`` lands in bucket ``floor(t)``). Moving to a new second empties the buckets that fell
  out of the window and takes them off the totals. This is resilience4j's "partial
  aggregation": the window slides a whole second at a time, which is what the reference model
  in the tests replays call by call.

An outcome is a small int of flags: ``FAILED`` (1) and ``SLOW`` (2); a fast success is 0.

Trade-off: the count window judges the same number of calls whatever the traffic (a quiet
service is judged on old calls); the time window judges recent calls only (a quiet service may
have too few calls to judge at all, so the breaker's minimum number of calls matters).

Complexity: ``record`` is O(1) for the count window and O(1) amortised for the time window
(O(size) after a silence of ``size`` seconds, once); memory is O(size) for both.

>>> w = CountWindow(3)
>>> for outcome in (FAILED, 0, SLOW, FAILED):
...     w.record(outcome, 0.0)
>>> w.calls, w.failures, w.slow
(3, 1, 1)
"""

from __future__ import annotations

import math

__all__ = ["FAILED", "SLOW", "CountWindow", "TimeWindow"]

#: Outcome flag: the call failed (an exception the breaker records).
FAILED = 1
#: Outcome flag: the call took more than the breaker's slow-call duration.
SLOW = 2


class CountWindow:
    """The outcomes of the last ``size`` calls, with running totals."""

    __slots__ = ("_pos", "_ring", "calls", "failures", "size", "slow")

    def __init__(self, size: int) -> None:
        self.size = size
        self._ring: list[int] = [-1] * size  # -1: an empty slot
        self._pos = 0
        self.calls = 0
        self.failures = 0
        self.slow = 0

    def record(self, outcome: int, now: float) -> None:
        """Add one outcome (``now`` is unused: the count window has no clock)."""
        pos = self._pos
        old = self._ring[pos]
        self._ring[pos] = outcome
        self._pos = pos + 1 if pos + 1 < self.size else 0
        if old == -1:
            self.calls += 1
        elif old:
            self.failures -= old & FAILED
            self.slow -= old >> 1
        if outcome:
            self.failures += outcome & FAILED
            self.slow += outcome >> 1

    def refresh(self, now: float) -> None:
        """Bring the totals up to ``now`` (nothing to do for a count window)."""

    def reset(self) -> None:
        """Forget every outcome."""
        self._ring = [-1] * self.size
        self._pos = 0
        self.calls = self.failures = self.slow = 0


class TimeWindow:
    """The outcomes of the calls in the last ``size`` whole seconds, one bucket per second."""

    __slots__ = ("_buckets", "_second", "calls", "failures", "size", "slow")

    def __init__(self, size: int) -> None:
        self.size = size
        # bucket i holds [calls, failures, slow] of the seconds s with s % size == i
        self._buckets: list[list[int]] = [[0, 0, 0] for _ in range(size)]
        self._second: int | None = None  # the newest second the totals include
        self.calls = 0
        self.failures = 0
        self.slow = 0

    def refresh(self, now: float) -> None:
        """Drop the buckets older than the last ``size`` seconds before ``now``."""
        second = math.floor(now)
        last = self._second
        if last is None:
            self._second = second
            return
        if second <= last:
            return  # the same second (or a clock that stepped back: keep the newest)
        steps = min(second - last, self.size)
        size = self.size
        for s in range(second - steps + 1, second + 1):
            bucket = self._buckets[s % size]
            if bucket[0]:
                self.calls -= bucket[0]
                self.failures -= bucket[1]
                self.slow -= bucket[2]
                bucket[0] = bucket[1] = bucket[2] = 0
        self._second = second

    def record(self, outcome: int, now: float) -> None:
        """Add one outcome at time ``now`` (seconds)."""
        self.refresh(now)
        last = self._second
        bucket = self._buckets[(last if last is not None else 0) % self.size]
        bucket[0] += 1
        self.calls += 1
        if outcome:
            failed = outcome & FAILED
            slow = outcome >> 1
            bucket[1] += failed
            bucket[2] += slow
            self.failures += failed
            self.slow += slow

    def reset(self) -> None:
        """Forget every outcome."""
        self._buckets = [[0, 0, 0] for _ in range(self.size)]
        self._second = None
        self.calls = self.failures = self.slow = 0
