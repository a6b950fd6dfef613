"""Sliding window log: remember every admitted request, count those in the last ``per`` seconds.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Each key keeps the times of its admitted units, oldest first. A request at ``now`` first
drops the times at or before ``now - per``, then is admitted when the times left plus its cost
fit in ``rate``. It is the only exact sliding window: there is no boundary to exploit and no
estimate (it is what ``limits`` calls the moving window and what ``pyrate-limiter`` keeps).

Promise: in every window ``(t - per, t]``, whatever ``t``, at most ``rate`` units. Loose where:
nowhere in what it admits; the price is memory, one timestamp per admitted unit, so a key
at its limit holds ``rate`` floats (about 8 to 32 bytes each) and the idle-key state stays
bounded only because old times are dropped.

Choose it when the limit must be exact in every window and limits are small (logins per
minute, password resets per hour); at thousands per second per key prefer
:mod:`.sliding_counter` or :mod:`.gcra`. One call may cost at most
:data:`~designpatterns_ref.ratelimit.base.MAX_LOG_COST` (10,000) units, whatever ``rate``:
each unit is an entry, and on Redis the script pushes them all while the server serves no one
else (a cost of five million took 0.4 s and 49 MB); a larger cost is refused with
RateLimitError.

Complexity: O(log n) to find the expired prefix (binary search) plus amortised O(1) to drop
it; O(n) memory per key for ``n`` units admitted in the last ``per`` seconds, ``n <= rate``.

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> clock = ManualClock()
    >>> log = SlidingWindowLog(rate=2, per=1.0, clock=clock)
    >>> bool(log.allow("k")); clock.advance(0.5); bool(log.allow("k")); bool(log.allow("k"))
    True
    True
    False
    >>> log.peek("k").retry_after
    0.5
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Hashable

from designpatterns_ref.clock import Clock
from designpatterns_ref.ratelimit.base import (
    CORRECTION,
    MAX_LOG_COST,
    Decision,
    bad_time,
    new_decision,
)
from designpatterns_ref.ratelimit.memory import WindowLimiter

__all__ = ["SlidingWindowLog"]

_INF = math.inf
_next_up = math.nextafter


class SlidingWindowLog(WindowLimiter):
    """At most ``rate`` units in every window of ``per`` seconds, exactly.

    Safe to share between threads.
    """

    __slots__ = ()

    def __init__(self, rate: int, per: float = 1.0, *, clock: Clock | None = None) -> None:
        super().__init__(rate, per, clock=clock)
        self._max_cost = min(self.rate, MAX_LOG_COST)  # one entry per unit

    def _admits(self, state: list[float], cost: int, t: float) -> bool:
        """Whether the arithmetic of a decision, replayed at time ``t`` on ``state``, admits."""
        t = t if t > state[-1] else state[-1]
        return len(state) - bisect_right(state, t - self.per) + cost <= self.rate

    def _decide(self, key: Hashable, cost: int, now: float, commit: bool) -> Decision:
        per, rate = self.per, self.rate
        log: list[float] | None = self._states.get(key)
        asked = now
        if log:
            last = log[-1]
            if now < last:  # a clock that steps back: time stands still for this key
                if now - now:  # -inf
                    raise bad_time("SlidingWindowLog", now)
                now = last
            expired = bisect_right(log, now - per)
            live = len(log) - expired
            if not live and now - now:  # NaN and +inf expire every entry
                raise bad_time("SlidingWindowLog", now)
        else:
            if now - now:  # NaN or an infinity: refuse before it is stored
                raise bad_time("SlidingWindowLog", now)
            expired = live = 0
        if live + cost <= rate:
            if commit:
                if log is None:
                    self._remember(key, [now] * cost, now)
                else:
                    if expired:
                        del log[:expired]
                    if cost == 1:
                        log.append(now)
                    else:
                        log.extend([now] * cost)
            return new_decision(Decision, (True, rate, rate - live - cost, 0.0, per, 0.0))
        assert log is not None  # a key never seen is never denied
        # Refused: admitted once the entry that must leave the window has left it, at its
        # time plus per; checked with the arithmetic above replayed then, corrected once.
        at = log[expired + live + cost - rate - 1] + per
        t = at if at > last else last
        if not len(log) - bisect_right(log, t - per) + cost <= rate:
            at += ((at if at > 0.0 else -at) + per) * CORRECTION  # the one correction
            t = at if at > last else last
            if not len(log) - bisect_right(log, t - per) + cost <= rate:
                at = self._settle(log, cost, at)  # never seen: the search
        reset = last + per - asked
        wait = at - asked  # wait_until, inlined: asked + wait must reach at
        if asked + wait < at:
            wait = _next_up(wait, _INF)
        return new_decision(Decision, (False, rate, rate - live, wait, reset, 0.0))

    def _idle(self, state: list[float], now: float) -> bool:
        return not state or state[-1] <= now - self.per
