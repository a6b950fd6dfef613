"""Leaky bucket as a queue: a shaper that turns bursts into an even flow.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Requests join a per-key FIFO queue that holds at most ``burst`` units and is served at
``rate`` units per ``per`` seconds. An admitted request is told how long it waits before it
runs (``Decision.delay``); a request that would overflow the queue is refused. This is the
leaky bucket of traffic shaping (NGINX ``limit_req`` without ``nodelay``): downstream sees
requests spaced ``per / rate`` apart, never a burst.

The queue is kept as one number per key, the time it drains (when its last request starts
plus its service time), so nothing is stored per waiting request. That time is counted in
units of service time (:func:`.units.in_units`), so requests at one instant add whole numbers
and a queue that is empty takes its whole ``burst``: no rounding refuses the last unit.
The caller does the waiting (``await asyncio.sleep(d.delay)``); the limiter only schedules.

Promise: admitted requests *start* at least ``cost * per / rate`` seconds apart, and no more
than ``burst`` units wait at once. Loose where: latency, not rejection, absorbs bursts, so a
client can wait up to ``burst * per / rate`` seconds.

Choose it in front of a fragile downstream that must see a smooth rate (a payment
provider, a legacy API), when waiting beats failing.

Complexity: O(1) time per decision; one float of state per key.

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> queue = LeakyBucketQueue(rate=2, per=1.0, burst=3, clock=ManualClock())
    >>> [(bool(d), d.delay) for d in (queue.allow("k") for _ in range(4))]
    [(True, 0.0), (True, 0.5), (True, 1.0), (False, 0.0)]
"""

from __future__ import annotations

import math
from collections.abc import Hashable

from designpatterns_ref.ratelimit.base import (
    CORRECTION,
    Decision,
    bad_time,
    new_decision,
)
from designpatterns_ref.ratelimit.units import UnitTimeLimiter, in_units

__all__ = ["LeakyBucketQueue"]

_INF = math.inf
_next_up = math.nextafter
_ulp = math.ulp


class LeakyBucketQueue(UnitTimeLimiter):
    """A queue of at most ``burst`` units, served at ``rate`` units per ``per`` seconds.

    Safe to share between threads.
    """

    def _admits(self, state: float, cost: int, t: float) -> bool:
        """Whether the arithmetic of a decision, replayed at time ``t`` on ``state``, admits."""
        now = in_units(t, self._speed, self._burst)
        return (state - now if state > now else 0.0) + cost <= self._burst

    def _decide(self, key: Hashable, cost: int, at_time: float, commit: bool) -> Decision:
        burst, interval, speed = self._burst, self._interval, self._speed
        now = at_time * speed  # in_units, inlined
        now -= now % _ulp((now if now > 0.0 else -now) + burst)
        if now - now:  # NaN, an infinity, or a time too large to count in units
            raise bad_time("LeakyBucketQueue", at_time)
        saved = self._states.get(key)  # when the queue drains, in units
        queued = 0.0 if saved is None or not saved > now else saved - now  # units before us
        backlog = queued + cost  # queued units once this request joins
        # Whole units at one instant: rounding cannot refuse what fits an empty queue.
        if backlog <= burst:
            if commit:
                if saved is None:
                    self._remember(key, now + backlog, at_time)
                else:
                    self._states[key] = now + backlog
            reset, delay = backlog * interval, queued * interval
            return new_decision(
                Decision, (True, self.limit, int(burst - backlog), 0.0, reset, delay)
            )
        assert saved is not None  # a key never seen is never denied
        # Refused: room once burst - cost units are left queued; checked with the arithmetic
        # above replayed then, and corrected once if the clock's grid left it short.
        at = (saved - (burst - cost)) * interval
        then = at * speed  # in_units(at), inlined
        then -= then % _ulp((then if then > 0.0 else -then) + burst)
        if not (saved - then if saved > then else 0.0) + cost <= burst:
            at += ((at if at > 0.0 else -at) + self._span) * CORRECTION  # the one correction
            then = at * speed
            then -= then % _ulp((then if then > 0.0 else -then) + burst)
            if not (saved - then if saved > then else 0.0) + cost <= burst:
                at = self._settle(saved, cost, at)  # never seen: the search
        remaining = int(burst - queued) if queued < burst else 0
        wait = at - at_time  # wait_until, inlined: at_time + wait must reach at
        if at_time + wait < at:
            wait = _next_up(wait, _INF)
        return new_decision(Decision, (False, self.limit, remaining, wait, queued * interval, 0.0))
