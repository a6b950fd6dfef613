"""Token bucket: a burst allowance that refills at a steady rate.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Every key owns a bucket holding up to ``burst`` tokens, refilled at ``rate`` tokens per ``per``
seconds; a request spends ``cost`` tokens or is refused. Short bursts pass, the long-run rate
cannot exceed ``rate / per``.

Promise: over any interval of length ``d``, at most ``burst + rate * d / per`` units are
admitted. Loose where: a full bucket lets ``burst`` requests through at the same instant, so
the rate over one short window can be far above ``rate / per``.

Choose it when clients are bursty by nature (a page load fires twenty requests at once) and
you want to allow that while capping the long-run rate; choose a sliding window when the
limit must hold in every window. It is the same limiter as :mod:`.gcra` and the meter
:mod:`.leaky_bucket`, written with tokens instead of times.

Complexity: O(1) time per decision; two floats of state per key (about 170 bytes in memory,
dictionary slot included).

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> clock = ManualClock()
    >>> bucket = TokenBucket(rate=2, per=1.0, burst=2, clock=clock)
    >>> [bool(bucket.allow("alice")) for _ in range(3)]
    [True, True, False]
    >>> bucket.peek("alice").retry_after
    0.5
    >>> clock.advance(0.5)
    >>> bool(bucket.allow("alice"))
    True
"""

from __future__ import annotations

from collections.abc import Hashable

from designpatterns_ref.ratelimit.base import (
    UNIT_COST,
    BucketLimiter,
    Decision,
    check_cost,
    honest_wait,
    new_decision,
)

__all__ = ["TokenBucket"]


class TokenBucket(BucketLimiter):
    """Up to ``burst`` units at once, refilled at ``rate`` units per ``per`` seconds.

    Safe to share between threads.
    """

    __slots__ = ("_burst", "_fill")

    def _derive(self) -> None:
        self._fill = self.rate / self.per  # tokens per second
        self._burst = float(self.burst)

    def _decide(self, key: Hashable, cost: int, now: float, commit: bool) -> Decision:
        burst, fill = self._burst, self._fill
        state = self._states.get(key)
        if state is None:
            tokens, stamp = burst, now
        else:
            tokens, stamp = state
            if now > stamp:  # refill; a clock that steps back earns nothing
                tokens += (now - stamp) * fill
                if tokens > burst:
                    tokens = burst
                stamp = now
        if tokens >= cost:
            tokens -= cost
            if commit:
                if state is None:
                    self._remember(key, [tokens, stamp], now)
                else:
                    state[0] = tokens
                    state[1] = stamp
            return new_decision(
                Decision, (True, self.limit, int(tokens), 0.0, (burst - tokens) / fill, 0.0)
            )

        assert state is not None  # a key never seen is never denied
        saved: float = state[0]
        since: float = state[1]

        def admits_at(t: float) -> bool:  # the arithmetic above, replayed at time t
            level = saved + (t - since) * fill if t > since else saved
            return level >= cost

        wait = honest_wait(admits_at, now, (cost - tokens) / fill)
        return new_decision(
            Decision, (False, self.limit, int(tokens), wait, (burst - tokens) / fill, 0.0)
        )

    def allow(self, key: Hashable, cost: int = 1) -> Decision:
        """Admit or deny a request of ``cost`` units for ``key``, consuming on admission."""
        if cost is not UNIT_COST and (
            cost.__class__ is not int or cost < 1 or cost > self._max_cost
        ):
            cost = check_cost("TokenBucket", cost, self._max_cost)
        lock = self._lock
        lock.acquire()
        try:
            now = self.clock()
            state = self._states.get(key)
            if state is not None:  # the hot path, _decide inlined: a known key, admitted
                tokens, stamp = state
                if now > stamp:
                    tokens += (now - stamp) * self._fill
                    if tokens > self._burst:
                        tokens = self._burst
                    stamp = now
                if tokens >= cost:
                    tokens -= cost
                    state[0] = tokens
                    state[1] = stamp
                    reset = (self._burst - tokens) / self._fill
                    return new_decision(Decision, (True, self.limit, int(tokens), 0.0, reset, 0.0))
            return self._decide(key, cost, now, True)
        finally:
            lock.release()

    def _idle(self, state: list[float], now: float) -> bool:
        return state[0] + (now - state[1]) * self._fill >= self._burst
