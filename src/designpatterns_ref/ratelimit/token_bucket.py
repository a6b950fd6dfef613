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

import math
from collections.abc import Hashable

from designpatterns_ref.ratelimit.base import (
    CORRECTION,
    UNIT_COST,
    Decision,
    bad_key,
    bad_time,
    check_cost,
    clock_time,
    new_decision,
    wait_until,
)
from designpatterns_ref.ratelimit.memory import BucketLimiter

__all__ = ["TokenBucket"]

_INF = math.inf
_next_up = math.nextafter


class TokenBucket(BucketLimiter):
    """Up to ``burst`` units at once, refilled at ``rate`` units per ``per`` seconds.

    Safe to share between threads.
    """

    __slots__ = ("_burst", "_fill")

    def _derive(self) -> None:
        self._fill = self.rate / self.per  # tokens per second
        self._burst = float(self.burst)
        self._span = self._burst / self._fill  # seconds an empty bucket takes to fill

    def _admits(self, state: list[float], cost: int, t: float) -> bool:
        """Whether the arithmetic of a decision, replayed at time ``t`` on ``state``, admits."""
        saved, since = state
        return (saved + (t - since) * self._fill if t > since else saved) >= cost

    def _decide(self, key: Hashable, cost: int, now: float, commit: bool) -> Decision:
        burst, fill = self._burst, self._fill
        state = self._states.get(key)
        if state is None:
            if now - now:  # NaN or an infinity: refuse before it is stored
                raise bad_time("TokenBucket", now)
            tokens, stamp = burst, now
        else:
            tokens, stamp = state
            if now > stamp:  # refill; a clock that steps back earns nothing
                tokens += (now - stamp) * fill
                if tokens > burst:
                    if now - now:  # +inf refills without limit
                        raise bad_time("TokenBucket", now)
                    tokens = burst
                stamp = now
            elif now - now:  # NaN and -inf fall through the comparison
                raise bad_time("TokenBucket", now)
        if tokens >= cost:
            tokens -= cost
            if commit:
                if state is None:
                    self._remember(key, [tokens, stamp], now)
                else:
                    state[0] = tokens
                    state[1] = stamp
            reset = (burst - tokens) / fill
            if stamp > now:  # a clock that stepped back: it must first get back to the stamp
                reset += stamp - now
            return new_decision(Decision, (True, self.limit, int(tokens), 0.0, reset, 0.0))
        assert state is not None  # a key never seen is never denied
        # Refused: the bucket holds cost again at stamp + (cost - tokens) / fill. Check that
        # time with the arithmetic above, replayed from the stored state; correct it once if
        # rounding left it an ulp short.
        at = stamp + (cost - tokens) / fill
        saved, since = state
        if not (at > since and saved + (at - since) * fill >= cost):
            at += ((at if at > 0.0 else -at) + self._span) * CORRECTION  # the one correction
            if not (at > since and saved + (at - since) * fill >= cost):
                at = self._settle(state, cost, at)  # never seen: the search
        reset = (burst - tokens) / fill
        if stamp > now:
            reset += stamp - now
        return new_decision(
            Decision, (False, self.limit, int(tokens), wait_until(now, at), reset, 0.0)
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
            if type(now) is not float:
                now = clock_time("TokenBucket", now)
            state = self._states.get(key)
            if state is not None:  # the hot path, _decide inlined: a known key
                tokens, stamp = state
                if now > stamp:
                    tokens += (now - stamp) * self._fill
                    if tokens > self._burst:
                        if now - now:
                            raise bad_time("TokenBucket", now)
                        tokens = self._burst
                    stamp = now
                elif now - now:
                    raise bad_time("TokenBucket", now)
                if tokens >= cost:
                    tokens -= cost
                    state[0] = tokens
                    state[1] = stamp
                    reset = (self._burst - tokens) / self._fill
                    if stamp > now:  # the clock stepped back: first back to the stamp
                        reset += stamp - now
                    return new_decision(Decision, (True, self.limit, int(tokens), 0.0, reset, 0.0))
                fill = self._fill  # refused: as in _decide
                at = stamp + (cost - tokens) / fill
                saved, since = state
                if not (at > since and saved + (at - since) * fill >= cost):
                    at += (
                        (at if at > 0.0 else -at) + self._span
                    ) * CORRECTION  # the one correction
                    if not (at > since and saved + (at - since) * fill >= cost):
                        at = self._settle(state, cost, at)  # never seen: the search
                wait = at - now
                if now + wait < at:
                    wait = _next_up(wait, _INF)
                reset = (self._burst - tokens) / fill
                if stamp > now:
                    reset += stamp - now
                return new_decision(Decision, (False, self.limit, int(tokens), wait, reset, 0.0))
            return self._decide(key, cost, now, True)
        except TypeError as exc:
            raise bad_key("TokenBucket", key, exc) from None
        finally:
            lock.release()

    def _idle(self, state: list[float], now: float) -> bool:
        return state[0] + (now - state[1]) * self._fill >= self._burst
