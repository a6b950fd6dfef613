"""Fixed window counter: at most ``rate`` units in each aligned window of ``per`` seconds.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Time is cut into windows ``[k*per, (k+1)*per)``; each key counts the units admitted in the
current window, and the count starts again at zero when the window changes. It is the
cheapest limiter there is: one integer increment, and on Redis a single ``INCR`` with an
expiry.

Promise: at most ``rate`` units in each aligned window. Loose where: the *boundary burst*.
A client that spends its whole budget just before a boundary and again just after it gets
``2 * rate`` units through in an instant; over a sliding window of length ``per`` a fixed
window admits up to twice its limit (see :func:`.traffic.boundary_burst`).

Choose it when the limit is a quota with a natural period ("1,000 calls per calendar hour"),
when the double burst is harmless, or when every byte and microsecond counts.

Complexity: O(1) time per decision; a window number and a count per key (about 150 bytes in
memory, dictionary slot included).

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> clock = ManualClock()
    >>> window = FixedWindow(rate=2, per=1.0, clock=clock)
    >>> [bool(window.allow("k")) for _ in range(3)]
    [True, True, False]
    >>> clock.advance(1.0)
    >>> bool(window.allow("k"))
    True
"""

from __future__ import annotations

import math
from collections.abc import Hashable

from designpatterns_ref.ratelimit.base import CORRECTION, Decision, bad_time, new_decision
from designpatterns_ref.ratelimit.memory import WindowLimiter

__all__ = ["FixedWindow"]

_floor = math.floor

_INF = math.inf
_next_up = math.nextafter


class FixedWindow(WindowLimiter):
    """At most ``rate`` units in each aligned window of ``per`` seconds.

    Safe to share between threads.
    """

    __slots__ = ()

    def _admits(self, state: list[int], cost: int, t: float) -> bool:
        """Whether the arithmetic of a decision, replayed at time ``t`` on ``state``, admits:
        (a refused request waits for) a later window, which starts from zero."""
        return _floor(t / self.per) > state[0]

    def _decide(self, key: Hashable, cost: int, now: float, commit: bool) -> Decision:
        per = self.per
        try:
            window = _floor(now / per)
        except (ValueError, OverflowError):  # NaN, an infinity, or beyond every window number
            raise bad_time("FixedWindow", now) from None
        state = self._states.get(key)
        if state is None:
            count = 0
        else:
            if window <= state[0]:  # same window (or a clock that stepped back): keep counting
                window, count = state
            else:
                count = 0
        ends_in = (window + 1) * per - now
        if count + cost <= self.rate:
            count += cost
            if commit:
                if state is None:
                    self._remember(key, [window, count], now)
                else:
                    state[0] = window
                    state[1] = count
            return new_decision(Decision, (True, self.rate, self.rate - count, 0.0, ends_in, 0.0))
        # Refused: the next window starts at (window + 1) * per; checked with the arithmetic
        # above replayed then, and corrected once if rounding left it in this window.
        at = (window + 1) * per
        if not _floor(at / per) > window:
            at += ((at if at > 0.0 else -at) + per) * CORRECTION  # the one correction
            if not _floor(at / per) > window:
                at = self._settle([window], cost, at)  # never seen: the search
        wait = at - now  # wait_until, inlined: now + wait must reach at
        if now + wait < at:
            wait = _next_up(wait, _INF)
        return new_decision(Decision, (False, self.rate, self.rate - count, wait, ends_in, 0.0))

    def _idle(self, state: list[int], now: float) -> bool:
        return _floor(now / self.per) > state[0]
