"""Rate limiting: every classic algorithm behind one interface, in memory and on Redis.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Which algorithm, and where does the counter live? Every limiter here answers
``allow(key, cost=1) -> Decision``, ``peek(key)`` and ``reset(key)``, so swapping algorithms
is a one-line change and one contract test holds them all:

- :class:`TokenBucket`, :class:`GCRA`, :class:`LeakyBucket`: a long-run rate with bursts
  (three views of one policy: tokens, a timestamp, a draining level);
- :class:`LeakyBucketQueue`: a shaper that delays instead of refusing;
- :class:`FixedWindow`, :class:`SlidingWindowLog`, :class:`SlidingWindowCounter`: a count per
  window (cheap with a double burst at boundaries; exact; estimated);
- :class:`ConcurrencyLimiter`: requests in flight, not requests per second;
- :func:`all_of`: several limits at once, all-or-nothing; :func:`limiter_from_text` builds
  one from ``"10/second; 1000/hour"`` (:mod:`.notation`, the ``limits`` package's notation);
- ``limiter.acquire(key, cost, timeout=...)`` (and ``acquire_async``) waits out a refusal
  instead of returning it (:mod:`.blocking`).

The Redis backend (:mod:`designpatterns_ref.ratelimit.redis`, needs ``redis``) implements the
same algorithms with one Lua script call per decision; the SQLite backend
(:mod:`designpatterns_ref.ratelimit.sqlite`) shares them between the processes of one machine
through a file, one transaction per decision. :func:`simulate`, the generators in
:mod:`.traffic` and :func:`plot_decisions` replay traffic on a ManualClock.

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> from designpatterns_ref import ratelimit
    >>> limiter = ratelimit.TokenBucket(rate=5, per=1.0, burst=10, clock=ManualClock())
    >>> decision = limiter.allow("alice")
    >>> bool(decision), decision.remaining
    (True, 9)
"""

from __future__ import annotations

from designpatterns_ref.ratelimit.backend import BackendUnavailable
from designpatterns_ref.ratelimit.base import (
    Decision,
    RateLimiter,
    RateLimitError,
    RateLimitExceeded,
)
from designpatterns_ref.ratelimit.composite import AllOf, all_of
from designpatterns_ref.ratelimit.concurrency import ConcurrencyLimiter
from designpatterns_ref.ratelimit.fixed_window import FixedWindow
from designpatterns_ref.ratelimit.gcra import GCRA
from designpatterns_ref.ratelimit.leaky_bucket import LeakyBucket
from designpatterns_ref.ratelimit.leaky_queue import LeakyBucketQueue
from designpatterns_ref.ratelimit.memory import MemoryLimiter
from designpatterns_ref.ratelimit.notation import (
    LimitSpec,
    LimitSyntaxError,
    limiter_from_text,
    parse_limit,
    parse_limits,
)
from designpatterns_ref.ratelimit.plot import plot_decisions
from designpatterns_ref.ratelimit.simulate import SimulationResult, simulate
from designpatterns_ref.ratelimit.sliding_counter import SlidingWindowCounter
from designpatterns_ref.ratelimit.sliding_log import SlidingWindowLog
from designpatterns_ref.ratelimit.token_bucket import TokenBucket
from designpatterns_ref.ratelimit.traffic import boundary_burst, bursts, poisson, steady

__all__ = [
    "GCRA",
    "AllOf",
    "BackendUnavailable",
    "ConcurrencyLimiter",
    "Decision",
    "FixedWindow",
    "LeakyBucket",
    "LeakyBucketQueue",
    "LimitSpec",
    "LimitSyntaxError",
    "MemoryLimiter",
    "RateLimitError",
    "RateLimitExceeded",
    "RateLimiter",
    "SimulationResult",
    "SlidingWindowCounter",
    "SlidingWindowLog",
    "TokenBucket",
    "all_of",
    "boundary_burst",
    "bursts",
    "limiter_from_text",
    "parse_limit",
    "parse_limits",
    "plot_decisions",
    "poisson",
    "simulate",
    "steady",
]
