"""Leaky bucket as a queue: a shaper that turns bursts into an even flow.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Requests join a per-key FIFO queue that holds at most ``burst`` units and is served at
``rate`` units per ``per`` seconds. An admitted request is told how long it waits before it
runs (``Decision.delay``); a request that would overflow the queue is refused. This is the
leaky bucket of traffic shaping (NGINX ``limit_req`` without ``nodelay``): downstream sees
requests spaced ``per / rate`` apart, never a burst.

The queue is kept as one number per key, the time it drains (when its last request starts
plus its service time), so nothing is stored per waiting request. The caller does the
waiting (``await asyncio.sleep(d.delay)``); the limiter only schedules.

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
    BucketLimiter,
    Decision,
    bad_time,
    new_decision,
)

__all__ = ["LeakyBucketQueue"]

_INF = math.inf
_next_up = math.nextafter


class LeakyBucketQueue(BucketLimiter):
    """A queue of at most ``burst`` units, served at ``rate`` units per ``per`` seconds.

    Safe to share between threads.
    """

    __slots__ = ("_capacity", "_interval")

    def _derive(self) -> None:
        self._interval = self.per / self.rate  # service time of one unit
        self._capacity = self.burst * self._interval  # queued work the queue may hold
        self._span = self._capacity

    def _admits(self, state: float, cost: int, t: float) -> bool:
        """Whether the arithmetic of a decision, replayed at time ``t`` on ``state``, admits."""
        return (state - t if state > t else 0.0) + cost * self._interval <= self._capacity

    def _decide(self, key: Hashable, cost: int, now: float, commit: bool) -> Decision:
        interval, capacity = self._interval, self._capacity
        saved = self._states.get(key)  # when the queue drains
        if saved is None:
            if now - now:  # NaN or an infinity: refuse before it is stored
                raise bad_time("LeakyBucketQueue", now)
            delay = 0.0
        else:
            delay = saved - now  # queued before us
            if not delay > 0.0:
                if now - now:  # NaN falls through the comparison, +inf lands here
                    raise bad_time("LeakyBucketQueue", now)
                delay = 0.0
        spent = cost * interval
        backlog = delay + spent  # queued work once this request joins
        # Lengths of time, not absolute times: rounding cannot refuse what fits an empty queue.
        if backlog <= capacity:
            if commit:
                if saved is None:
                    self._remember(key, now + backlog, now)
                else:
                    self._states[key] = now + backlog
            remaining = int((capacity - backlog) / interval)
            return new_decision(Decision, (True, self.limit, remaining, 0.0, backlog, delay))
        assert saved is not None  # a key never seen is never denied
        # Refused: room once capacity - cost * interval is left queued; checked with the
        # arithmetic above replayed then, and corrected once if rounding left it short.
        at = saved - (capacity - spent)
        if not (saved - at if saved > at else 0.0) + spent <= capacity:
            at += ((at if at > 0.0 else -at) + capacity) * CORRECTION  # the one correction
            if not (saved - at if saved > at else 0.0) + spent <= capacity:
                at = self._settle(saved, cost, at)  # never seen: the search
        remaining = int((capacity - delay) / interval) if delay < capacity else 0
        wait = at - now  # wait_until, inlined: now + wait must reach at
        if not now + wait >= at:  # rounded short, or -inf (NaN >= at is false)
            if now - now:  # -inf: every queue drains infinitely far ahead of it
                raise bad_time("LeakyBucketQueue", now)
            wait = _next_up(wait, _INF)
        return new_decision(Decision, (False, self.limit, remaining, wait, delay, 0.0))

    def _idle(self, state: float, now: float) -> bool:
        return state <= now
