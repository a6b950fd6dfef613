"""Leaky bucket as a queue: a shaper that turns bursts into an even flow.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Requests join a per-key FIFO queue that holds at most ``burst`` units and is served at
``rate`` units per ``per`` seconds. An admitted request is told how long it waits before it
runs (``Decision.delay``); a request that would overflow the queue is refused. This is the
leaky bucket of traffic shaping (NGINX ``limit_req`` without ``nodelay``): downstream sees
requests spaced ``per / rate`` apart, never a burst.

The queue is kept as one time per key, when it drains (when its last request starts plus its
service time), so nothing is stored per waiting request. That time is counted in units of
service time after the last admission, ``[stamp, queued]`` (:mod:`.units`), so requests at one
instant add whole numbers and a queue that is empty takes its whole ``burst``, at any clock
and any rate: no rounding refuses the last unit, or lets a unit pass uncounted. A clock that
reads earlier than the stamp is time standing still for the key: the queue does not drain
until the clock is back at the stamp, so a request admitted meanwhile waits for that as well
(its ``delay``, like ``reset_after``, counts the way back), and still starts after every
request admitted before it.
The caller does the waiting (``await asyncio.sleep(d.delay)``); the limiter only schedules.

Promise: admitted requests *start* at least ``cost * per / rate`` seconds apart, and no more
than ``burst`` units wait at once. Loose where: latency, not rejection, absorbs bursts, so a
client can wait up to ``burst * per / rate`` seconds (plus, after the clock steps back, the
time until it is back at the stamp).

Choose it in front of a fragile downstream that must see a smooth rate (a payment
provider, a legacy API), when waiting beats failing.

Complexity: O(1) time per decision; two floats of state per key.

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
    new_decision,
)
from designpatterns_ref.ratelimit.units import UnitTimeLimiter

__all__ = ["LeakyBucketQueue"]

_INF = math.inf
_next_up = math.nextafter


class LeakyBucketQueue(UnitTimeLimiter):
    """A queue of at most ``burst`` units, served at ``rate`` units per ``per`` seconds.

    Safe to share between threads.
    """

    def _decide(self, key: Hashable, cost: int, at_time: float, commit: bool) -> Decision:
        burst, interval = self._burst, self._interval
        state = self._states.get(key)  # [stamp, units queued then]
        queued = self._lead_now(state, at_time, "LeakyBucketQueue")  # units queued before us
        backlog = queued + cost  # queued units once this request joins
        # Whole units at one instant: rounding cannot refuse what fits an empty queue.
        if backlog <= burst:
            reset, delay = backlog * interval, queued * interval
            if state is not None and state[0] > at_time:  # a clock that stepped back: the
                behind = state[0] - at_time  # queue drains only once it is back at the stamp,
                reset += behind  # so the request waits for that as well as for those queued
                delay += behind
            if commit:
                if state is None:
                    self._remember(key, [at_time, backlog], at_time)
                else:
                    if at_time > state[0]:  # the stamp never moves back
                        state[0] = at_time
                    state[1] = backlog
            return new_decision(
                Decision, (True, self.limit, int(burst - backlog), 0.0, reset, delay)
            )
        assert state is not None  # a key never seen is never denied
        # Refused: room once burst - cost units are left queued; checked with the arithmetic
        # above replayed then, and corrected once if the grid left it short.
        stamp, saved = state
        at = stamp + (saved - (burst - cost)) * interval
        if not self._admits(state, cost, at):
            at += ((at if at > 0.0 else -at) + self._span) * CORRECTION  # the one correction
            if not self._admits(state, cost, at):
                at = self._settle(state, cost, at)  # never seen: the search
        remaining = int(burst - queued) if queued < burst else 0
        wait = at - at_time  # wait_until, inlined: at_time + wait must reach at
        if at_time + wait < at:
            wait = _next_up(wait, _INF)
        reset = queued * interval
        if stamp > at_time:  # a clock that stepped back: it must first get back to the stamp
            reset += stamp - at_time
        return new_decision(Decision, (False, self.limit, remaining, wait, reset, 0.0))
