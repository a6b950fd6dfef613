"""Resilience: circuit breakers, retries with jitter, bulkheads, timeouts, and chaos to test them.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

Wrap a flaky dependency in a guard, break the dependency on purpose, and measure what the
users would see. Every guard answers ``call(fn, *args)``, ``await acall(fn, *args)`` and works
as a decorator, takes an injected ``clock=`` and may be shared between threads:

- :class:`CircuitBreaker`: closed / open / half-open over a count- or time-based sliding
  window, as resilience4j does it (:class:`RedisCircuitBreaker` in
  :mod:`.redis` shares one breaker's state between processes);
- :class:`Retry`: attempts, per-attempt timeout, deadline, the backoff policies of
  :mod:`.backoff` (constant, exponential, full / equal / decorrelated jitter), a
  :class:`RetryBudget`, and ``Retry-After`` hints;
- :class:`Bulkhead` (threads) and :class:`AsyncBulkhead` (asyncio): a cap on concurrent calls;
- :class:`Timeout`, :class:`Fallback`, :class:`Hedge`;
- :func:`compose`: all of them in one line, in the order that makes sense.

:mod:`designpatterns_ref.resilience.chaos` breaks things: seeded fault schedules on callables,
a fault-injecting TCP proxy, a Chaos Monkey experiment and the AWS backoff contention study.

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> from designpatterns_ref import resilience
    >>> clock = ManualClock()
    >>> guard = resilience.compose(
    ...     resilience.Fallback(lambda error: "cached"),
    ...     resilience.Retry(attempts=3, clock=clock, seed=1),
    ...     resilience.CircuitBreaker(window_size=10, minimum_calls=5, clock=clock),
    ... )
    >>> def down():
    ...     raise ConnectionError("dependency down")
    >>> guard.call(down)
    'cached'
"""

from __future__ import annotations

from designpatterns_ref.resilience.backoff import (
    Backoff,
    Constant,
    DecorrelatedJitter,
    EqualJitter,
    Exponential,
    FullJitter,
)
from designpatterns_ref.resilience.base import (
    BulkheadFull,
    CallNotPermitted,
    CallTimeout,
    Guard,
    ResilienceError,
    ResilienceFailure,
    ResilienceTypeError,
)
from designpatterns_ref.resilience.breaker import (
    BreakerMetrics,
    BreakerState,
    CircuitBreaker,
    StateChange,
)
from designpatterns_ref.resilience.budget import RetryBudget
from designpatterns_ref.resilience.bulkhead import AsyncBulkhead, Bulkhead, BulkheadStats
from designpatterns_ref.resilience.compose import ORDER, Stack, compose
from designpatterns_ref.resilience.fallback import Fallback
from designpatterns_ref.resilience.hedge import Hedge
from designpatterns_ref.resilience.retry import Retry, RetryEvent, RetryStats, retry_after_hint
from designpatterns_ref.resilience.timeout import Timeout, remaining

__all__ = [
    "ORDER",
    "AsyncBulkhead",
    "Backoff",
    "BreakerMetrics",
    "BreakerState",
    "Bulkhead",
    "BulkheadFull",
    "BulkheadStats",
    "CallNotPermitted",
    "CallTimeout",
    "CircuitBreaker",
    "Constant",
    "DecorrelatedJitter",
    "EqualJitter",
    "Exponential",
    "Fallback",
    "FullJitter",
    "Guard",
    "Hedge",
    "ResilienceError",
    "ResilienceFailure",
    "ResilienceTypeError",
    "Retry",
    "RetryBudget",
    "RetryEvent",
    "RetryStats",
    "Stack",
    "StateChange",
    "Timeout",
    "compose",
    "remaining",
    "retry_after_hint",
]
