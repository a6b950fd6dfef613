"""GCRA, the generic cell rate algorithm: a token bucket kept as one timestamp.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Born in ATM networks (ITU-T I.371) and used by redis-cell and Stripe-style limiters, GCRA
stores for each key only its *theoretical arrival time* (TAT): when the key's traffic would
end had it been sent at exactly the allowed rate. With emission interval ``T = per / rate``, a
request of cost ``c`` moves the TAT to ``max(TAT, now) + c*T`` and is admitted when that new
TAT is at most ``burst * T`` ahead of now. The arithmetic works on that lead (how far the
TAT runs ahead of now) rather than on absolute times, so no rounding can refuse a fresh key's
whole burst: ``(now + x) - x`` need not equal ``now`` in floating point, but ``c*T <= burst*T``
holds exactly whenever ``c <= burst``.

Promise: identical to a token bucket of the same rate and burst (over any interval of length
``d``, at most ``burst + rate * d / per`` units); the TAT is the time the bucket would be full
again. Loose where: the same as the token bucket, ``burst`` requests may arrive together.

Choose it over the token bucket when state size matters (one float per key instead of two,
one Redis value instead of two fields) or when you want the retry time for free: it is
just ``new TAT - burst*T - now``.

Complexity: O(1) time per decision; one float of state per key (about 80 bytes in memory,
dictionary slot included).

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> clock = ManualClock()
    >>> limiter = GCRA(rate=4, per=1.0, burst=2, clock=clock)
    >>> [bool(limiter.allow("k")) for _ in range(3)]
    [True, True, False]
    >>> limiter.peek("k").retry_after
    0.25
"""

from __future__ import annotations

import math
from collections.abc import Hashable

from designpatterns_ref.ratelimit.base import (
    CORRECTION,
    UNIT_COST,
    BucketLimiter,
    Decision,
    bad_key,
    bad_time,
    check_cost,
    new_decision,
)

__all__ = ["GCRA"]

_INF = math.inf
_next_up = math.nextafter


class GCRA(BucketLimiter):
    """``rate`` units per ``per`` seconds with bursts up to ``burst``, as one time per key.

    Safe to share between threads.
    """

    __slots__ = ("_interval", "_window")

    def _derive(self) -> None:
        self._interval = self.per / self.rate  # T: seconds one unit occupies
        self._window = self.burst * self._interval  # how far ahead the TAT may run
        self._span = self._window

    def _admits(self, state: float, cost: int, t: float) -> bool:
        """Whether the arithmetic of a decision, replayed at time ``t`` on ``state``, admits."""
        return (state - t if state > t else 0.0) + cost * self._interval <= self._window

    def _decide(self, key: Hashable, cost: int, now: float, commit: bool) -> Decision:
        interval, window = self._interval, self._window
        saved = self._states.get(key)
        if saved is None:
            if now - now:  # NaN or an infinity: refuse before it is stored
                raise bad_time("GCRA", now)
            lead = 0.0
        else:
            lead = saved - now  # how far the TAT runs ahead of now
            if not lead > 0.0:
                if now - now:  # NaN falls through the comparison, +inf lands here
                    raise bad_time("GCRA", now)
                lead = 0.0
        spent = cost * interval
        ahead = lead + spent  # how far ahead the TAT would run after this request
        if ahead <= window:
            if commit:
                if saved is None:
                    self._remember(key, now + ahead, now)
                else:
                    self._states[key] = now + ahead
            remaining = int((window - ahead) / interval)
            return new_decision(Decision, (True, self.limit, remaining, 0.0, ahead, 0.0))
        assert saved is not None  # a key never seen is never denied
        # Refused: admitted once the TAT is window - cost * T ahead, checked with the
        # arithmetic above replayed then, and corrected once if rounding left it short.
        at = saved - (window - spent)
        if not (saved - at if saved > at else 0.0) + spent <= window:
            at += ((at if at > 0.0 else -at) + window) * CORRECTION  # the one correction
            if not (saved - at if saved > at else 0.0) + spent <= window:
                at = self._settle(saved, cost, at)  # never seen: the search
        wait = at - now  # wait_until, inlined: now + wait must reach at
        if not now + wait >= at:  # rounded short, or -inf (NaN >= at is false)
            if now - now:  # -inf: every TAT runs infinitely far ahead of it
                raise bad_time("GCRA", now)
            wait = _next_up(wait, _INF)
        remaining = int((window - lead) / interval) if lead < window else 0
        return new_decision(Decision, (False, self.limit, remaining, wait, lead, 0.0))

    def allow(self, key: Hashable, cost: int = 1) -> Decision:
        """Admit or deny a request of ``cost`` units for ``key``, consuming on admission."""
        if cost is not UNIT_COST and (
            cost.__class__ is not int or cost < 1 or cost > self._max_cost
        ):
            cost = check_cost("GCRA", cost, self._max_cost)
        lock = self._lock
        lock.acquire()
        try:
            now = self.clock()
            saved = self._states.get(key)
            if saved is not None:  # the hot path, _decide inlined: a known key
                interval = self._interval
                lead = saved - now
                if not lead > 0.0:
                    if now - now:
                        raise bad_time("GCRA", now)
                    lead = 0.0
                spent = cost * interval
                ahead = lead + spent
                window = self._window
                if ahead <= window:
                    self._states[key] = now + ahead
                    remaining = int((window - ahead) / interval)
                    return new_decision(Decision, (True, self.limit, remaining, 0.0, ahead, 0.0))
                at = saved - (window - spent)  # refused: as in _decide
                if not (saved - at if saved > at else 0.0) + spent <= window:
                    at += ((at if at > 0.0 else -at) + window) * CORRECTION  # the one correction
                    if not (saved - at if saved > at else 0.0) + spent <= window:
                        at = self._settle(saved, cost, at)  # never seen: the search
                wait = at - now
                if not now + wait >= at:  # rounded short, or -inf (NaN >= at is false)
                    if now - now:
                        raise bad_time("GCRA", now)
                    wait = _next_up(wait, _INF)
                remaining = int((window - lead) / interval) if lead < window else 0
                return new_decision(Decision, (False, self.limit, remaining, wait, lead, 0.0))
            return self._decide(key, cost, now, True)
        except TypeError as exc:
            raise bad_key("GCRA", key, exc) from None
        finally:
            lock.release()

    def _idle(self, state: float, now: float) -> bool:
        return state <= now
