"""Sliding window counter: two fixed-window counts, weighted into an estimate of the last window.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Each key keeps the count of the current aligned window and of the one before. At a time
``f`` of the way through the current window, the requests of the last ``per`` seconds are
estimated as ``previous * (1 - f) + current``, which assumes the previous window's requests
were spread evenly. A request is admitted when the estimate plus its cost fits in ``rate``.
Cloudflare counts this way across its edge.

Promise: the estimate never exceeds ``rate``, so each aligned window holds at most ``rate``
units and the boundary burst of :mod:`.fixed_window` is smoothed away. Loose where: the
estimate is only exact for evenly spread traffic. If the previous window's requests all came
at its very end, a true sliding window can hold up to ``rate * (1 + f)`` units, under twice
the limit at worst (Cloudflare measured 0.003% of requests wrongly allowed or limited on
real traffic); if they all came at its start, the limiter is stricter than it needs to be.

Choose it for high limits on many keys: the accuracy of a sliding window at the cost of a
fixed window (three numbers per key, no log).

Complexity: O(1) time per decision; a window number and two counts per key (about 160 bytes
in memory, dictionary slot included).

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> clock = ManualClock()
    >>> limiter = SlidingWindowCounter(rate=4, per=1.0, clock=clock)
    >>> sum(bool(limiter.allow("k")) for _ in range(6))
    4
    >>> clock.advance(1.5)  # half-way through the next window: 4 * 0.5 = 2 still count
    >>> sum(bool(limiter.allow("k")) for _ in range(6))
    2
"""

from __future__ import annotations

import math
from collections.abc import Hashable

from designpatterns_ref.ratelimit.base import CORRECTION, Decision, bad_time, new_decision
from designpatterns_ref.ratelimit.memory import WindowLimiter

__all__ = ["SlidingWindowCounter"]

_floor = math.floor

_INF = math.inf
_next_up = math.nextafter


class SlidingWindowCounter(WindowLimiter):
    """At most ``rate`` units per ``per`` seconds, by the weighted two-window estimate.

    Safe to share between threads.
    """

    __slots__ = ()

    def _counts(self, state: list[int] | None, now: float) -> tuple[int, int, int, float]:
        """(window, previous count, current count, estimate) as seen at ``now``."""
        per = self.per
        window = _floor(now / per)
        if state is None:
            return window, 0, 0, 0.0
        start, previous, current = state
        if window > start:  # the window moved on: the current count becomes the previous
            previous = current if window == start + 1 else 0
            current = 0
        else:  # same window, or a clock that stepped back: stay in the stored window
            window = start
        into = (now - window * per) / per
        weight = 1.0 - into if into > 0.0 else 1.0
        return window, previous, current, previous * weight + current

    def _admits(self, state: list[int], cost: int, t: float) -> bool:
        """Whether the arithmetic of a decision, replayed at time ``t`` on ``state``, admits."""
        return self._counts(state, t)[3] + cost <= self.rate

    def _decide(self, key: Hashable, cost: int, now: float, commit: bool) -> Decision:
        per, rate = self.per, self.rate
        state = self._states.get(key)
        try:
            here = _floor(now / per)
        except (ValueError, OverflowError):  # NaN, an infinity, or beyond every window number
            raise bad_time("SlidingWindowCounter", now) from None
        if state is not None and state[0] == here:  # the hot path: same window
            window, previous, current = state
            into = (now - window * per) / per
            estimate = previous * (1.0 - into if into > 0.0 else 1.0) + current
        else:
            window, previous, current, estimate = self._counts(state, now)
        if estimate + cost <= rate:
            current += cost
            if commit:
                if state is None:
                    self._remember(key, [window, previous, current], now)
                else:
                    state[0] = window
                    state[1] = previous
                    state[2] = current
            reset = (window + 2) * per - now
            left = int(rate - estimate - cost)
            return new_decision(Decision, (True, rate, left, 0.0, reset, 0.0))
        assert state is not None  # a key never seen is never denied
        # Refused: when does the estimate leave room? Later in this window, or in one of the
        # next two (closed forms); checked with the arithmetic above replayed then (inlined
        # from _counts), and corrected once if rounding left it short.
        if previous and current + cost <= rate:
            at = (window + 1 - (rate - current - cost) / previous) * per
        elif current and cost < rate:
            at = (window + 2 - (rate - cost) / current) * per
        else:
            at = (window + 2) * per
        for corrected in (False, True):  # the closed form, then once corrected if refused
            then = _floor(at / per)
            if then > window:  # the estimate then: this window's count weighs as the previous
                ahead = current if then == window + 1 else 0
                into = (at - then * per) / per
                later = ahead * (1.0 - into if into > 0.0 else 1.0)
            else:
                into = (at - window * per) / per
                later = previous * (1.0 - into if into > 0.0 else 1.0) + current
            if later + cost <= rate:
                break
            if corrected:
                at = self._settle(state, cost, at)  # never seen: the search
                break
            at += ((at if at > 0.0 else -at) + per) * CORRECTION  # the one correction
        if current:
            reset = (window + 2) * per - now
        else:
            reset = (window + 1) * per - now if previous else 0.0
        left = int(rate - estimate) if estimate < rate else 0
        wait = at - now  # wait_until, inlined: now + wait must reach at
        if now + wait < at:
            wait = _next_up(wait, _INF)
        return new_decision(Decision, (False, rate, left, wait, reset, 0.0))

    def _idle(self, state: list[int], now: float) -> bool:
        return self._counts(state, now)[3] == 0.0
