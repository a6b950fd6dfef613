"""The rate limiters on Redis: the counter lives where every server sees it.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Each class here is the Redis twin of the in-memory limiter of the same name (all but the
queue), with the same constructor arguments after the client and the same
``allow`` / ``peek`` / ``reset`` interface. Every decision is one ``EVALSHA`` of a Lua
script (:mod:`._lua`: one per algorithm, one for composites): atomic on the server, one
round trip, and loaded on first use (a ``NOSCRIPT`` reply after a restart or failover
reloads it and retries once).

- **Keys** are ``prefix:{key}:algorithm:name``: the ``{hash tag}`` puts every limit of one
  client in the same Redis Cluster slot, so :func:`all_of` can run them in one script (a key
  that is empty or starts with ``}``, which would make no tag, is ``prefix:"{"key}:...``, and
  an int key is ``prefix:#{key}:...``, so that ``7`` and ``"7"`` are two keys; an enum
  member of str or int is its plain value's key, as in memory). Every
  key expires once its state is back to "never seen" (plus ``ttl_slack`` seconds). The expiry
  runs in the Redis server's real time, even when ``clock=`` is yours: on a simulated clock
  it is only safe while real time does not outrun the slack, so a limiter on a
  :class:`~designpatterns_ref.clock.ManualClock` defaults to ``ttl_slack`` of
  :data:`SIMULATED_TTL_SLACK` (an hour) instead of :data:`DEFAULT_TTL_SLACK` (a second).
- **Time** comes from the Redis server (``TIME``) by default, so application servers with
  skewed clocks still agree; pass ``clock=`` to use the limiter's own clock instead (for
  deterministic tests, or to keep ``retry_after`` in the caller's time).
- **Failure**: when Redis cannot be reached, ``on_error`` decides: ``"deny"`` (fail closed:
  protect the backend, refuse everyone), ``"allow"`` (fail open: keep serving, unlimited) or
  ``"raise"`` (:class:`BackendUnavailable`; the caller decides). ``reset`` follows it too
  (with ``"deny"`` or ``"allow"`` a reset that cannot reach Redis is skipped: the key
  expires on its own).
- **Deadline**: each decision has one of its own, ``deadline`` seconds (default
  :data:`DEFAULT_DEADLINE`, 50 ms). A limiter does not use the client it is given as it
  is: redis-py retries a failed command with backoff (seconds per decision when the server
  is down or frozen), so the limiter talks through a bounded twin of that client, with the
  same address and options, connect and read timeouts of half the deadline each, and no
  retries (limiters given the same client and deadline share one twin and its pool). A
  blocking pool waits at most half the deadline for a free connection; a Sentinel client
  keeps its service and sentinels; a pool that cannot be rebuilt raises RateLimitError. A
  killed or frozen server then reaches ``on_error`` within about the deadline. With a Sentinel
  client the deadline bounds the talk with the server the sentinels name, not the asking: the
  sentinels are asked with your ``Sentinel``'s own timeouts, so give it short ones. A cluster
  client (``RedisCluster``) cannot be twinned: it is checked instead, and refused unless its
  timeouts fit the deadline and it does not retry. ``deadline=None`` opts out: the client is
  used as given and its own settings bound the failure time.
- **asyncio**: the ``Async*`` classes take a ``redis.asyncio.Redis`` and run the same script.
- **Threads and processes**: a limiter holds no mutable state of its own, so one instance may
  be shared between threads (redis-py pools its connections), and any number of processes
  may share a key: the server serialises the scripts.

redis-py is imported lazily, so ``import designpatterns_ref.ratelimit`` needs no optional
package.

Complexity: one round trip per decision; on the server, O(1) per decision for every
algorithm but the log and the concurrency cap, which read O(log k) of their n entries (a
galloping search from the oldest, k the number that expired). The log is a list that the
script appends to and trims, so nothing is copied; the concurrency cap copies its string of
holds (40 bytes a hold, at most ``limit`` of them) when it admits.

Usage, with a Redis server at hand (the contract tests run every limiter against a real one)::

    import redis
    limiter = TokenBucket(redis.Redis(), rate=5, per=1.0, burst=10)
    limiter.allow("alice").allowed   # True
"""

from __future__ import annotations

from designpatterns_ref.ratelimit._redis_base import AsyncRedisLimiter, RedisLimiter
from designpatterns_ref.ratelimit._redis_client import (
    DEFAULT_DEADLINE,
    DEFAULT_TTL_SLACK,
    SIMULATED_TTL_SLACK,
    RedisOptions,
    _token,
    bounded,
)
from designpatterns_ref.ratelimit._redis_composite import (
    AsyncAllOf,
    RedisAllOf,
    all_of,
    limiter_from_text,
)
from designpatterns_ref.ratelimit._redis_limiters import (
    GCRA,
    AsyncConcurrencyLimiter,
    AsyncFixedWindow,
    AsyncGCRA,
    AsyncLeakyBucket,
    AsyncSlidingWindowCounter,
    AsyncSlidingWindowLog,
    AsyncTokenBucket,
    ConcurrencyLimiter,
    FixedWindow,
    LeakyBucket,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
)
from designpatterns_ref.ratelimit.backend import FAIL_CLOSED_RETRY, BackendUnavailable, OnError
from designpatterns_ref.ratelimit.base import Decision, RateLimitError, RateLimitExceeded

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TTL_SLACK",
    "GCRA",
    "SIMULATED_TTL_SLACK",
    "AsyncAllOf",
    "AsyncConcurrencyLimiter",
    "AsyncFixedWindow",
    "AsyncGCRA",
    "AsyncLeakyBucket",
    "AsyncRedisLimiter",
    "AsyncSlidingWindowCounter",
    "AsyncSlidingWindowLog",
    "AsyncTokenBucket",
    "BackendUnavailable",
    "ConcurrencyLimiter",
    "FixedWindow",
    "LeakyBucket",
    "OnError",
    "RedisAllOf",
    "RedisLimiter",
    "RedisOptions",
    "SlidingWindowCounter",
    "SlidingWindowLog",
    "TokenBucket",
    "all_of",
    "limiter_from_text",
]

#: Kept importable from here: the module the rest of the library and its users import.
_REEXPORTED = (FAIL_CLOSED_RETRY, _token, bounded, Decision, RateLimitError, RateLimitExceeded)
