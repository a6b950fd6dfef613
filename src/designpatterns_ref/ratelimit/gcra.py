"""GCRA, the generic cell rate algorithm: a token bucket kept as one timestamp.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Born in ATM networks (ITU-T I.371) and used by redis-cell and Stripe-style limiters, GCRA
stores for each key only its *theoretical arrival time* (TAT): when the key's traffic would
end had it been sent at exactly the allowed rate. With emission interval ``T = per / rate``, a
request of cost ``c`` moves the TAT to ``max(TAT, now) + c*T`` and is admitted when that new
TAT is at most ``burst * T`` ahead of now (redis-cell's ``burst + 1`` requests at once are
this ``burst``: the first one is not counted apart).

The TAT is kept in units of ``T`` rather than in seconds, as ``[stamp, lead]``: the clock
reading of the key's last admission and how many units the TAT runs after it. The units that
pass are counted on a fixed grid on which whole units add exactly (:mod:`.units`), whatever
the clock shows: counted from time zero instead, ``time.time()`` at five million units a
second is past 2^53 units, where adding one unit adds nothing. Requests at one instant add
whole numbers and compare them with the whole ``burst``, so no rounding refuses any of a
fresh key's burst, whatever ``T`` is (``0.6`` seconds for 100 a minute, which a double cannot
hold: added up in seconds, 100 of them overshoot ``100 * 0.6`` and the last one would be
refused); and ``remaining`` is read off the same whole numbers.

Promise: identical to a token bucket of the same rate and burst (over any interval of length
``d``, at most ``burst + rate * d / per`` units); the TAT is the time the bucket would be full
again. Loose where: the same as the token bucket, ``burst`` requests may arrive together.

Choose it over the token bucket when you want the retry time for free: it is just
``stamp + (lead - (burst - cost)) * T - now``.

Complexity: O(1) time per decision; two floats of state per key, as the token bucket.

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
from designpatterns_ref.ratelimit.units import UnitTimeLimiter

__all__ = ["GCRA"]

_INF = math.inf
_next_up = math.nextafter


class GCRA(UnitTimeLimiter):
    """``rate`` units per ``per`` seconds with bursts up to ``burst``, as one time per key.

    The stored time is ``[stamp, lead]``: the TAT runs ``lead`` units (emission intervals)
    after the clock reading ``stamp``, the key's last admission (:mod:`.units`).

    Safe to share between threads.
    """

    def _decide(self, key: Hashable, cost: int, at_time: float, commit: bool) -> Decision:
        burst, interval = self._burst, self._interval
        state = self._states.get(key)
        lead = self._lead_now(state, at_time, "GCRA")  # units the TAT leads now by
        ahead = lead + cost  # how far ahead the TAT would run after this request
        if ahead <= burst:
            reset = ahead * interval
            if state is not None and state[0] > at_time:  # a clock that stepped back: it must
                reset += state[0] - at_time  # first get back to the stamp
            if commit:
                if state is None:
                    self._remember(key, [at_time, ahead], at_time)
                else:
                    if at_time > state[0]:  # the stamp never moves back
                        state[0] = at_time
                    state[1] = ahead
            return new_decision(Decision, (True, self.limit, int(burst - ahead), 0.0, reset, 0.0))
        assert state is not None  # a key never seen is never denied
        return self._refuse(state, cost, at_time, lead)

    def _refuse(self, state: list[float], cost: int, now: float, lead: float) -> Decision:
        """A refusal: admitted once the TAT leads by ``burst - cost`` units, checked with the
        arithmetic of a decision replayed then (``_admits``, inlined), corrected once if the
        grid left it short."""
        burst, interval, speed, grid = self._burst, self._interval, self._speed, self._quantum
        stamp, saved = state
        at = stamp + (saved - (burst - cost)) * interval
        passed = (at - stamp) * speed  # _admits(state, cost, at), inlined
        passed -= passed % grid
        if not (saved - passed if saved > passed else 0.0) + cost <= burst:
            at += ((at if at > 0.0 else -at) + self._span) * CORRECTION  # the one correction
            passed = (at - stamp) * speed
            passed -= passed % grid
            if not (saved - passed if saved > passed else 0.0) + cost <= burst:
                at = self._settle(state, cost, at)  # never seen: the search
        wait = at - now  # wait_until, inlined: now + wait must reach at
        if now + wait < at:
            wait = _next_up(wait, _INF)
        remaining = int(burst - lead) if lead < burst else 0
        reset = lead * interval
        if stamp > now:  # a clock that stepped back: it must first get back to the stamp
            reset += stamp - now
        return new_decision(Decision, (False, self.limit, remaining, wait, reset, 0.0))

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
            state = self._states.get(key)
            if state is not None:  # the hot path, _decide inlined: a known key
                stamp, saved = state
                if at_time < stamp:  # a clock that steps back: time stands still
                    if at_time - at_time:  # -inf
                        raise bad_time("GCRA", at_time)
                    lead = saved
                else:
                    passed = (at_time - stamp) * self._speed  # units.since, inlined
                    passed -= passed % self._quantum
                    stamp = at_time
                    if saved > passed:
                        lead = saved - passed
                    else:
                        if passed - passed:  # NaN, an infinity, or too far to count in units
                            raise bad_time("GCRA", at_time)
                        lead = 0.0
                ahead = lead + cost
                if ahead <= self._burst:
                    state[0] = stamp
                    state[1] = ahead
                    reset = ahead * self._interval
                    if stamp > at_time:  # the clock stepped back: first back to the stamp
                        reset += stamp - at_time
                    return new_decision(
                        Decision, (True, self.limit, int(self._burst - ahead), 0.0, reset, 0.0)
                    )
                return self._refuse(state, cost, at_time, lead)
            return self._decide(key, cost, at_time, True)
        except TypeError as exc:
            raise bad_key("GCRA", key, exc) from None
        finally:
            lock.release()
