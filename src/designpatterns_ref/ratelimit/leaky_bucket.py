"""Leaky bucket as a meter: each request pours water in, the bucket leaks at a steady rate.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Every key owns a bucket of capacity ``burst``. A request of cost ``c`` adds ``c`` units of
water; the bucket drains ``rate`` units every ``per`` seconds; a request that would overflow
it is refused and pours nothing. The water level is exactly what a token bucket has *spent*,
so the meter admits the same requests as :mod:`.token_bucket` (Turner's 1986 "leaky bucket"
is the same policer); the picture differs, and it is the picture most write-ups draw.

Promise: over any interval of length ``d``, at most ``burst + rate * d / per`` units are
admitted. Loose where: an empty bucket lets ``burst`` requests through at once. For a queue
that *delays* requests into an even flow instead of refusing them, use
:mod:`.leaky_queue`.

Choose it when you think in "how full is this client's bucket" (a level that decays) rather
than in tokens earned; behaviour, cost and memory are the token bucket's.

Complexity: O(1) time per decision; two floats of state per key.

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> clock = ManualClock()
    >>> bucket = LeakyBucket(rate=1, per=1.0, burst=2, clock=clock)
    >>> [bool(bucket.allow("k")) for _ in range(3)]
    [True, True, False]
    >>> clock.advance(1.0)
    >>> bucket.allow("k").remaining
    0
"""

from __future__ import annotations

import math
from collections.abc import Hashable

from designpatterns_ref.ratelimit.base import CORRECTION, Decision, bad_time, new_decision
from designpatterns_ref.ratelimit.memory import BucketLimiter

__all__ = ["LeakyBucket"]

_INF = math.inf
_next_up = math.nextafter


class LeakyBucket(BucketLimiter):
    """A bucket of ``burst`` units leaking ``rate`` units per ``per`` seconds; overflow is refused.

    Safe to share between threads.
    """

    __slots__ = ("_burst", "_leak")

    def _derive(self) -> None:
        self._leak = self.rate / self.per  # units drained per second
        self._burst = float(self.burst)
        self._span = self._burst / self._leak  # seconds a full bucket takes to drain

    def _admits(self, state: list[float], cost: int, t: float) -> bool:
        """Whether the arithmetic of a decision, replayed at time ``t`` on ``state``, admits."""
        saved, since = state
        water = saved - (t - since) * self._leak if t > since else saved
        return (water if water > 0.0 else 0.0) + cost <= self._burst

    def _decide(self, key: Hashable, cost: int, now: float, commit: bool) -> Decision:
        burst, leak = self._burst, self._leak
        state = self._states.get(key)
        if state is None:
            if now - now:  # NaN or an infinity: refuse before it is stored
                raise bad_time("LeakyBucket", now)
            level, stamp = 0.0, now
        else:
            level, stamp = state
            if now > stamp:  # drain; a clock that steps back drains nothing
                level -= (now - stamp) * leak
                if level < 0.0:
                    if now - now:  # +inf drains without limit
                        raise bad_time("LeakyBucket", now)
                    level = 0.0
                stamp = now
            elif now - now:  # NaN and -inf fall through the comparison
                raise bad_time("LeakyBucket", now)
        if level + cost <= burst:
            level += cost
            if commit:
                if state is None:
                    self._remember(key, [level, stamp], now)
                else:
                    state[0] = level
                    state[1] = stamp
            reset = level / leak
            if stamp > now:  # a clock that stepped back: it must first get back to the stamp
                reset += stamp - now
            return new_decision(Decision, (True, self.limit, int(burst - level), 0.0, reset, 0.0))
        assert state is not None  # a key never seen is never denied
        # Refused: room for cost once the level is down to burst - cost; check that time with
        # the arithmetic above replayed from the stored state, correct it once if it is short.
        at = stamp + (level + cost - burst) / leak
        saved, since = state
        water = saved - (at - since) * leak if at > since else saved
        if not (water if water > 0.0 else 0.0) + cost <= burst:
            at += ((at if at > 0.0 else -at) + self._span) * CORRECTION  # the one correction
            if not self._admits(state, cost, at):
                at = self._settle(state, cost, at)  # never seen: the search
        wait = at - now  # wait_until, inlined: now + wait must reach at
        if now + wait < at:
            wait = _next_up(wait, _INF)
        reset = level / leak
        if stamp > now:
            reset += stamp - now
        return new_decision(Decision, (False, self.limit, int(burst - level), wait, reset, 0.0))

    def _idle(self, state: list[float], now: float) -> bool:
        return state[0] - (now - state[1]) * self._leak <= 0.0
