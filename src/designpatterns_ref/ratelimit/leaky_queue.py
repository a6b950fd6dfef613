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

from collections.abc import Hashable

from designpatterns_ref.ratelimit.base import (
    BucketLimiter,
    Decision,
    honest_wait,
    new_decision,
)

__all__ = ["LeakyBucketQueue"]


class LeakyBucketQueue(BucketLimiter):
    """A queue of at most ``burst`` units, served at ``rate`` units per ``per`` seconds.

    Safe to share between threads.
    """

    __slots__ = ("_capacity", "_interval")

    def _derive(self) -> None:
        self._interval = self.per / self.rate  # service time of one unit
        self._capacity = self.burst * self._interval  # queued work the queue may hold

    def _decide(self, key: Hashable, cost: int, now: float, commit: bool) -> Decision:
        interval, capacity = self._interval, self._capacity
        saved = self._states.get(key)  # when the queue drains
        delay = saved - now if saved is not None and saved > now else 0.0  # queued before us
        backlog = delay + cost * interval  # queued work once this request joins
        # Lengths of time, not absolute times: rounding cannot refuse what fits an empty queue.
        if backlog <= capacity:
            if commit:
                if saved is None:
                    self._remember(key, now + backlog, now)
                else:
                    self._states[key] = now + backlog
            remaining = int((capacity - backlog) / interval)
            return new_decision(Decision, (True, self.limit, remaining, 0.0, backlog, delay))

        def admits_at(t: float) -> bool:  # the arithmetic above, replayed at time t
            later = saved - t if saved is not None and saved > t else 0.0
            return later + cost * interval <= capacity

        wait = honest_wait(admits_at, now, backlog - capacity)
        remaining = int((capacity - delay) / interval) if delay < capacity else 0
        return new_decision(Decision, (False, self.limit, remaining, wait, delay, 0.0))

    def _idle(self, state: float, now: float) -> bool:
        return state <= now
