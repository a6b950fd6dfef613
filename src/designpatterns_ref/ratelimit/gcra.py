"""GCRA, the generic cell rate algorithm: a token bucket kept as one timestamp.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Born in ATM networks (ITU-T I.371) and used by redis-cell and Stripe-style limiters, GCRA
stores for each key only its *theoretical arrival time* (TAT): when the key's traffic would
end had it been sent at exactly the allowed rate. With emission interval ``T = per / rate``, a
request of cost ``c`` moves the TAT to ``max(TAT, now) + c*T`` and is admitted when that new
TAT is at most ``burst * T`` ahead of now (redis-cell's ``burst + 1`` requests at once are
this ``burst``: the first one is not counted apart).

The TAT is kept in units of ``T`` rather than in seconds, and the clock is read in the same
units, rounded down to a grid on which adding whole units is exact
(:func:`~designpatterns_ref.ratelimit.units.in_units`). Requests at one instant then add whole
numbers and compare them with the whole ``burst``, so no rounding refuses any of a fresh key's
burst, whatever ``T`` is (``0.6`` seconds for 100 a minute, which a double cannot hold: added
up in seconds, 100 of them overshoot ``100 * 0.6`` and the last one would be refused); and
``remaining`` is read off the same whole numbers.

Promise: identical to a token bucket of the same rate and burst (over any interval of length
``d``, at most ``burst + rate * d / per`` units); the TAT is the time the bucket would be full
again. Loose where: the same as the token bucket, ``burst`` requests may arrive together.

Choose it over the token bucket when state size matters (one float per key instead of two,
one Redis value instead of two fields) or when you want the retry time for free: it is
just ``(TAT - (burst - cost)) * T - now``.

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
    Decision,
    bad_key,
    bad_time,
    check_cost,
    clock_time,
    new_decision,
)
from designpatterns_ref.ratelimit.units import UnitTimeLimiter, in_units

__all__ = ["GCRA"]

_INF = math.inf
_next_up = math.nextafter
_ulp = math.ulp


class GCRA(UnitTimeLimiter):
    """``rate`` units per ``per`` seconds with bursts up to ``burst``, as one time per key.

    The stored time is in units (emission intervals), on the clock's grid (:func:`.units.in_units`).

    Safe to share between threads.
    """

    def _admits(self, state: float, cost: int, t: float) -> bool:
        """Whether the arithmetic of a decision, replayed at time ``t`` on ``state``, admits."""
        now = in_units(t, self._speed, self._burst)
        return (state - now if state > now else 0.0) + cost <= self._burst

    def _decide(self, key: Hashable, cost: int, at_time: float, commit: bool) -> Decision:
        burst, interval = self._burst, self._interval
        now = in_units(at_time, self._speed, burst)
        if now - now:  # NaN, an infinity, or a time too large to count in units
            raise bad_time("GCRA", at_time)
        saved = self._states.get(key)
        lead = 0.0 if saved is None or not saved > now else saved - now  # units the TAT leads
        ahead = lead + cost  # how far ahead the TAT would run after this request
        if ahead <= burst:
            if commit:
                if saved is None:
                    self._remember(key, now + ahead, at_time)
                else:
                    self._states[key] = now + ahead
            return new_decision(
                Decision, (True, self.limit, int(burst - ahead), 0.0, ahead * interval, 0.0)
            )
        assert saved is not None  # a key never seen is never denied
        return self._refuse(saved, cost, at_time, lead)

    def _refuse(self, saved: float, cost: int, now: float, lead: float) -> Decision:
        """A refusal: admitted once the TAT leads by ``burst - cost`` units, checked with the
        arithmetic of a decision replayed then (``_admits``, inlined), corrected once if the
        clock's grid left it short."""
        burst, interval, speed = self._burst, self._interval, self._speed
        at = (saved - (burst - cost)) * interval
        then = at * speed  # in_units(at), inlined
        then -= then % _ulp((then if then > 0.0 else -then) + burst)
        if not (saved - then if saved > then else 0.0) + cost <= burst:
            at += ((at if at > 0.0 else -at) + self._span) * CORRECTION  # the one correction
            then = at * speed
            then -= then % _ulp((then if then > 0.0 else -then) + burst)
            if not (saved - then if saved > then else 0.0) + cost <= burst:
                at = self._settle(saved, cost, at)  # never seen: the search
        wait = at - now  # wait_until, inlined: now + wait must reach at
        if now + wait < at:
            wait = _next_up(wait, _INF)
        remaining = int(burst - lead) if lead < burst else 0
        return new_decision(Decision, (False, self.limit, remaining, wait, lead * interval, 0.0))

    def allow(self, key: Hashable, cost: int = 1) -> Decision:
        """Admit or deny a request of ``cost`` units for ``key``, consuming on admission."""
        if cost is not UNIT_COST and (
            cost.__class__ is not int or cost < 1 or cost > self._max_cost
        ):
            cost = check_cost("GCRA", cost, self._max_cost)
        lock = self._lock
        lock.acquire()
        try:
            at_time = self.clock()
            if type(at_time) is not float:
                at_time = clock_time("GCRA", at_time)
            saved = self._states.get(key)
            if saved is not None:  # the hot path, _decide inlined: a known key
                burst = self._burst
                now = at_time * self._speed  # in_units, inlined
                now -= now % _ulp((now if now > 0.0 else -now) + burst)
                if saved > now:
                    lead = saved - now
                else:
                    if now - now:  # NaN, an infinity, or too large to count in units
                        raise bad_time("GCRA", at_time)
                    lead = 0.0
                ahead = lead + cost
                if ahead <= burst:
                    self._states[key] = now + ahead
                    reset = ahead * self._interval
                    return new_decision(
                        Decision, (True, self.limit, int(burst - ahead), 0.0, reset, 0.0)
                    )
                return self._refuse(saved, cost, at_time, lead)
            return self._decide(key, cost, at_time, True)
        except TypeError as exc:
            raise bad_key("GCRA", key, exc) from None
        finally:
            lock.release()
