"""Blocking acquisition: wait out ``retry_after`` instead of being refused.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

A batch job or a crawler calling someone else's API would rather wait than be refused.
:func:`acquire` asks the limiter (``allow``); when refused, it sleeps the decision's
``retry_after`` and asks again, until admitted or until waiting longer would pass
``timeout``. Every limiter has it as a method, ``limiter.acquire(key, cost=1, timeout=...)``,
and :func:`acquire_async` / ``limiter.acquire_async(...)`` waits with ``asyncio.sleep``
(for the asyncio Redis limiters it awaits their ``allow``).

- **The answer** is a :class:`~designpatterns_ref.ratelimit.base.Decision`, truthy when
  admitted. When the wait would pass the timeout, it returns the last refusing decision at
  once, without sleeping out the rest (a falsy answer, whose ``retry_after`` says how long
  the wait would have been): the same test, ``if limiter.acquire(...)``, serves both.
  ``timeout=None`` waits as long as needed, except for a wait that is infinite (a
  concurrency cap without a lease), which is returned refused at once.
- **Nothing partial.** Waiting only ever calls ``allow``, and a refused ``allow`` consumes
  nothing (a composite consumes from all its parts or from none), so a timed-out
  ``acquire`` leaves the limiter exactly as it found it.
- **Simulated time.** On a :class:`~designpatterns_ref.clock.ManualClock`, "sleeping" is
  ``clock.advance(wait)``, so a test or a notebook sees the same waits every run and no real
  time passes; the timeout is then in simulated seconds. On any other clock it sleeps for
  real and measures the timeout with :func:`time.monotonic`.
- **Under contention** another caller may take the units it waited for; it then asks again,
  with the new ``retry_after``, within the same timeout. Waiters are not queued: the first
  to ask after the refill wins (a fair queue is
  :class:`~designpatterns_ref.ratelimit.leaky_queue.LeakyBucketQueue`, which admits and
  returns a ``delay``; ``acquire`` does not sleep that ``delay``, the caller does).
- **Concurrency caps** give units back when their holder releases them, which no
  ``retry_after`` can foresee (it says when the lease would free them): on a limiter with a
  cap (one with ``release``, or a composite with one) it asks again every
  :data:`CAP_POLL` seconds at most, and waits until its timeout even when the lease ends
  after it. A cap without a lease and ``timeout=None`` is still refused at once.

pyrate-limiter's ``try_acquire(..., blocking=True)`` is the same idea; its limiter sleeps
until its bucket says the item fits, with a ``max_delay`` or timeout past which it gives up.

Complexity: one ``allow`` per wake-up; usually one wait and two calls.

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> from designpatterns_ref.ratelimit import TokenBucket
    >>> clock = ManualClock()
    >>> bucket = TokenBucket(rate=2, per=1.0, burst=2, clock=clock)
    >>> [bool(bucket.acquire("k")) for _ in range(3)], clock()
    ([True, True, True], 0.5)
    >>> bucket.acquire("k", timeout=0.1).retry_after  # would need 0.5 s: refused at once
    0.5
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections.abc import Callable, Hashable
from typing import Any

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit.base import Decision, RateLimitError

__all__ = ["CAP_POLL", "AcquiringAsync", "acquire", "acquire_async", "check_timeout"]

#: What to call instead of ``acquire`` on an asyncio limiter.
_USE_ASYNC = "await acquire_async(limiter, key, ...) instead"

#: Seconds between asks while a concurrency cap is full: a release can free it at any time.
CAP_POLL = 0.05


def check_timeout(owner: str, timeout: object) -> float:
    """``timeout`` as seconds (``math.inf`` for None), or RateLimitError unless it is None or a
    finite number of seconds from 0."""
    if timeout is None:
        return math.inf
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise RateLimitError(
            f"{owner}: timeout={shown(timeout, 80)} must be None (wait as needed) or seconds >= 0"
        )
    try:
        seconds = float(timeout)
    except OverflowError:
        seconds = math.inf
    if not (math.isfinite(seconds) and seconds >= 0):
        raise RateLimitError(
            f"{owner}: timeout={shown(timeout, 80)} must be None (wait as needed) or a finite "
            "number of seconds >= 0"
        )
    return seconds


def check_sync(owner: str, limiter: Any, advice: str) -> None:
    """RateLimitError when ``limiter`` is an asyncio one (its ``allow`` is a coroutine
    function): its answer is a coroutine, which a synchronous caller would take for a truthy
    decision without ever running it. ``advice`` says what to use instead."""
    if inspect.iscoroutinefunction(getattr(limiter, "allow", None)):
        raise RateLimitError(
            f"{owner}: limiter={shown(limiter, 80)} is an asyncio limiter (its allow is a "
            f"coroutine); {advice}"
        )


def sync_answer(owner: str, answer: object, advice: str) -> Decision:
    """``answer`` itself, or (closing it unrun) RateLimitError when ``allow`` gave an awaitable:
    the limiter was an asyncio one that :func:`check_sync` could not tell in advance."""
    if inspect.isawaitable(answer):
        close = getattr(answer, "close", None)
        if callable(close):
            close()  # never run, and no "never awaited" warning
        raise RateLimitError(
            f"{owner}: the limiter's allow returned an awaitable, not a Decision (an asyncio "
            f"limiter); {advice}"
        )
    return answer  # type: ignore[return-value]


def _clock_of(limiter: Any) -> ManualClock | None:
    """The limiter's ManualClock (waits advance it), or None (waits are real)."""
    try:
        clock = getattr(limiter, "clock", None)
    except RateLimitError:  # a composite whose parts keep different clocks
        return None
    return clock if isinstance(clock, ManualClock) else None


def _plan(owner: str, limiter: Any, timeout: object) -> tuple[Callable[[], float], float]:
    """The clock the timeout is measured on, and the time it runs out."""
    limit = check_timeout(owner, timeout)
    manual = _clock_of(limiter)
    now: Callable[[], float] = manual if manual is not None else time.monotonic
    return now, now() + limit


def _poll(limiter: Any) -> bool:
    """Whether ``limiter`` holds a concurrency cap, whose units come back on release."""
    models = getattr(limiter, "_models", None)  # a SQLite composite's in-memory twin
    parts = getattr(limiter, "limiters", None) or getattr(models, "limiters", None) or (limiter,)
    return any(callable(getattr(part, "release", None)) for part in parts)


def _wait(decision: Decision, now: float, deadline: float, poll: bool) -> float | None:
    """How long to sleep before asking again, or None when the wait would pass the deadline
    (for a cap: at most CAP_POLL, up to the deadline; None once it has passed)."""
    wait = decision.retry_after
    if poll and now < deadline and (math.isfinite(wait) or math.isfinite(deadline)):
        return min(wait if wait > 0.0 else 0.0, CAP_POLL, deadline - now)
    if not math.isfinite(wait) or now + wait > deadline:
        return None
    return wait if wait > 0.0 else 0.0


def acquire(
    limiter: Any, key: Hashable, cost: int = 1, *, timeout: float | None = None
) -> Decision:
    """Admit ``cost`` units for ``key``, waiting out refusals for at most ``timeout`` seconds.

    Returns the admitting decision, or (refused, nothing consumed) the last refusal when
    admission would come after ``timeout``. Bad arguments raise RateLimitError before any
    waiting, as ``allow`` would, and so does an asyncio limiter (use :func:`acquire_async`).
    """
    owner = f"{type(limiter).__name__}.acquire"
    check_sync(owner, limiter, _USE_ASYNC)
    now, deadline = _plan(owner, limiter, timeout)
    manual, poll = _clock_of(limiter), _poll(limiter)
    while True:
        decision = sync_answer(owner, limiter.allow(key, cost), _USE_ASYNC)
        if decision:
            return decision
        wait = _wait(decision, now(), deadline, poll)
        if wait is None:
            return decision
        if manual is not None:
            manual.advance(wait)
        else:
            time.sleep(wait)


async def acquire_async(
    limiter: Any, key: Hashable, cost: int = 1, *, timeout: float | None = None
) -> Decision:
    """:func:`acquire` for asyncio: waits with ``asyncio.sleep`` (on a ManualClock it advances
    the clock and yields to the loop once); awaits ``allow`` when the limiter's is a coroutine.
    """
    owner = f"{type(limiter).__name__}.acquire_async"
    now, deadline = _plan(owner, limiter, timeout)
    manual, poll = _clock_of(limiter), _poll(limiter)
    while True:
        answer = limiter.allow(key, cost)
        decision: Decision = await answer if inspect.isawaitable(answer) else answer
        if decision:
            return decision
        wait = _wait(decision, now(), deadline, poll)
        if wait is None:
            return decision
        if manual is not None:
            manual.advance(wait)
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(wait)


class AcquiringAsync:
    """Gives a limiter whose ``allow`` is a coroutine (the asyncio Redis limiters) the
    :meth:`acquire_async` method (and no ``acquire``: it would have to block the loop)."""

    __slots__ = ()

    async def acquire_async(
        self, key: Hashable, cost: int = 1, *, timeout: float | None = None
    ) -> Decision:
        """Wait out refusals with ``asyncio.sleep`` for at most ``timeout`` seconds (None: as
        long as needed); the admitting decision, or the last refusal, having consumed nothing
        (:func:`acquire_async`)."""
        return await acquire_async(self, key, cost, timeout=timeout)
