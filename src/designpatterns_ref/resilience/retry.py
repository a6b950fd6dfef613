"""Retry: try again after a transient failure, with backoff, a deadline and a budget.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

A retry turns a transient failure (one dead instance behind a load balancer, a dropped
connection) into a success, at the cost of extra load and extra latency. Each limit here
keeps that cost bounded:

- ``attempts``: the most attempts in all (the first one included; zero is refused);
- ``backoff``: the wait before each retry (:mod:`.backoff`: constant, exponential, and the AWS
  blog's full, equal and decorrelated jitter);
- ``on`` / ``on_result``: retry only these exceptions, or results for which the predicate is
  true (every other exception propagates at once: a bad request stays bad);
- ``attempt_timeout`` and ``deadline``: a time limit per attempt and for the whole call (no
  retry starts whose wait would end past the deadline; attempts get what is left). With
  ``timeout_mode="thread"`` every attempt runs in one pool of ``timeout_workers`` threads
  (:class:`~designpatterns_ref.resilience.Timeout`'s ``max_workers``), so attempts that hang
  hold at most that many threads, however many calls and attempts there are;
- ``budget``: a shared :class:`~designpatterns_ref.resilience.budget.RetryBudget`, so that in
  a widespread outage retries add at most a fixed share of extra load;
- ``retry_after``: a hint from the failure (by default its ``retry_after`` attribute, seconds,
  as a server's ``Retry-After`` header would give) that the wait never undercuts.

When it gives up it re-raises the last exception (or returns the last result, as resilience4j
does for results). :meth:`Retry.add_listener` sees every retry and every give-up, with the
reason: ``"attempts"``, ``"deadline"`` or ``"budget"``.

Time is injected: with a :class:`~designpatterns_ref.clock.ManualClock` the default ``sleep``
advances that clock, so a test or a notebook runs a minute of backoff in no time.

Complexity: O(attempts) per call; a first-try success costs one counter bump (two with a budget).

>>> from designpatterns_ref.clock import ManualClock
>>> from designpatterns_ref.resilience.backoff import Exponential
>>> clock = ManualClock()
>>> retry = Retry(attempts=4, backoff=Exponential(base=1, cap=60), clock=clock)
>>> answers = iter([ConnectionError(), ConnectionError(), "ok"])
>>> def flaky():
...     answer = next(answers)
...     if isinstance(answer, Exception):
...         raise answer
...     return answer
>>> retry.call(flaky), clock()  # waited 1 s, then 2 s
('ok', 3.0)
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

from designpatterns_ref.clock import Clock, ManualClock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.resilience.backoff import Backoff, FullJitter
from designpatterns_ref.resilience.base import (
    CallTimeout,
    ResilienceError,
    ResilienceTypeError,
    awaitable_of,
    check_callable,
    check_exceptions,
    check_int,
    check_int_seed,
    check_seconds,
    count_value,
    decorate,
    discard,
    not_callable,
)
from designpatterns_ref.resilience.budget import RetryBudget
from designpatterns_ref.resilience.timeout import Timeout

__all__ = ["Retry", "RetryEvent", "RetryStats", "retry_after_hint"]

T = TypeVar("T")


def retry_after_hint(outcome: object) -> float | None:
    """The ``retry_after`` attribute of a failure, when it is a finite number of seconds >= 0.

    >>> class Throttled(Exception):
    ...     retry_after = 2.5
    >>> retry_after_hint(Throttled()), retry_after_hint(ValueError())
    (2.5, None)
    """
    hint = getattr(outcome, "retry_after", None)
    if isinstance(hint, bool) or not isinstance(hint, int | float):
        return None
    try:
        seconds = float(hint)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """A retry about to wait (``reason="retry"``) or a give-up (the reason it stopped)."""

    attempt: int  # the attempt that just failed, from 1
    wait: float | None  # seconds before the next attempt; None when giving up
    reason: Literal["retry", "attempts", "deadline", "budget"]
    error: BaseException | None
    result: Any = None


@dataclass(frozen=True, slots=True)
class RetryStats:
    """Lifetime counters of one Retry."""

    first_try_successes: int
    successes_after_retry: int
    retries: int
    gave_up: dict[str, int]


def _default_sleep(clock: Clock) -> Callable[[float], object]:
    return clock.advance if isinstance(clock, ManualClock) else time.sleep


def _default_asleep(clock: Clock) -> Callable[[float], Awaitable[object]]:
    if isinstance(clock, ManualClock):
        manual = clock

        async def advance(seconds: float) -> None:
            manual.advance(seconds)
            await asyncio.sleep(0)

        return advance
    return asyncio.sleep


class Retry:
    """Retry a call on stated failures, within attempts, a deadline and a budget."""

    kind: ClassVar[str] = "retry"

    def __init__(
        self,
        *,
        attempts: int = 3,
        backoff: Backoff | None = None,
        on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
        on_result: Callable[[Any], bool] | None = None,
        attempt_timeout: float | None = None,
        deadline: float | None = None,
        budget: RetryBudget | None = None,
        retry_after: Callable[[Any], float | None] | None = retry_after_hint,
        timeout_mode: Literal["cooperative", "thread"] = "cooperative",
        timeout_workers: int = 32,
        seed: int | None = None,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        asleep: Callable[[float], Awaitable[object]] | None = None,
    ) -> None:
        owner = "Retry"
        self.attempts = check_int(owner, "attempts", attempts, minimum=1, maximum=10**6)
        if backoff is None:
            backoff = FullJitter()
        if not isinstance(backoff, Backoff):
            raise ResilienceTypeError(
                f"{owner}: backoff={shown(backoff, 60)} must be a backoff policy (Constant, "
                "Exponential, FullJitter, EqualJitter, DecorrelatedJitter)"
            )
        self.backoff = backoff
        self.on = check_exceptions(owner, "on", on)
        self.on_result = check_callable(owner, "on_result", on_result, allow_none=True)
        self.attempt_timeout = check_seconds(
            owner, "attempt_timeout", attempt_timeout, positive=True, allow_none=True
        )
        self.deadline = check_seconds(owner, "deadline", deadline, positive=True, allow_none=True)
        if budget is not None and not isinstance(budget, RetryBudget):
            raise ResilienceTypeError(f"{owner}: budget={shown(budget, 60)} must be a RetryBudget")
        self.budget = budget
        self.retry_after = check_callable(owner, "retry_after", retry_after, allow_none=True)
        if timeout_mode not in ("cooperative", "thread"):
            raise ResilienceError(
                f"{owner}: timeout_mode={shown(timeout_mode, 60)} must be 'cooperative' or 'thread'"
            )
        self.timeout_mode = timeout_mode
        self.timeout_workers = check_int(
            owner, "timeout_workers", timeout_workers, minimum=1, maximum=4096
        )
        if seed is not None:
            check_int_seed(owner, seed)
        self._clock: Clock = check_callable(owner, "clock", clock)
        self._sleep = check_callable(owner, "sleep", sleep, allow_none=True) or _default_sleep(
            clock
        )
        self._asleep = check_callable(owner, "asleep", asleep, allow_none=True) or (
            _default_asleep(clock)
        )
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[RetryEvent], object]] = []
        self._first_ok = itertools.count()
        self._after_retry = 0
        self._retries = 0
        self._gave_up = {"attempts": 0, "deadline": 0, "budget": 0}
        self._deposit = budget.deposit if budget is not None else None
        # the fast path: no per-call clock, no timeout, no result check
        self._fast = attempt_timeout is None and deadline is None and on_result is None
        # One guard for every attempt (each gets its own limit): in thread mode its pool of
        # ``timeout_workers`` threads is all that hung attempts can ever hold.
        self._guard = Timeout(
            attempt_timeout or deadline or 1.0,
            mode=timeout_mode,
            max_workers=self.timeout_workers,
            clock=clock,
        )

    # ----------------------------------------------------------------- observing
    def add_listener(self, listener: Callable[[RetryEvent], object]) -> None:
        """Call ``listener(event)`` before every wait and at every give-up."""
        check_callable("Retry.add_listener", "listener", listener)
        with self._lock:
            self._listeners.append(listener)

    def stats(self) -> RetryStats:
        """The lifetime counters."""
        with self._lock:
            return RetryStats(
                count_value(self._first_ok), self._after_retry, self._retries, dict(self._gave_up)
            )

    # ----------------------------------------------------------------- deciding
    def _plan(self, attempt: int, previous: float, outcome: object, start: float) -> RetryEvent:
        """After attempt ``attempt`` failed with ``outcome``: wait how long, or give up why."""
        error = outcome if isinstance(outcome, BaseException) else None
        result = None if error is not None else outcome
        wait: float | None = None
        reason: Literal["retry", "attempts", "deadline", "budget"] = "retry"
        if attempt >= self.attempts:
            reason = "attempts"
        else:
            wait = self.backoff.delay(attempt - 1, previous, self._rng)
            hint = self.retry_after(outcome) if self.retry_after is not None else None
            if hint is not None and hint > wait:
                wait = hint
            if self.deadline is not None and self._now() + wait >= start + self.deadline:
                wait, reason = None, "deadline"
            elif self.budget is not None and not self.budget.withdraw():
                wait, reason = None, "budget"
        event = RetryEvent(attempt, wait, reason, error, result)
        with self._lock:
            if wait is None:
                self._gave_up[reason] += 1
            else:
                self._retries += 1
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
        return event

    def _now(self) -> float:
        """The clock's reading, for the deadline: a NaN would never reach it."""
        return read_seconds(self._clock, ResilienceError, "Retry")

    def _limit(self, start: float) -> float | None:
        """The time limit of the next attempt: the attempt timeout within the deadline."""
        limit = self.attempt_timeout
        if self.deadline is not None:
            left = start + self.deadline - self._now()
            limit = left if limit is None else min(limit, left)
        return float(limit) if limit is not None else None

    def _succeeded(self, attempt: int) -> None:
        if attempt == 1:
            next(self._first_ok)
        else:
            with self._lock:
                self._after_retry += 1

    # ----------------------------------------------------------------- calling
    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)``, retrying as configured.

        The call deposits once in the budget, whatever its outcome (a non-callable ``fn`` is
        refused and deposits nothing).
        """
        if self._fast:
            try:
                result = fn(*args, **kwargs)
            except self.on as exc:
                if isinstance(exc, TypeError) and not callable(fn):
                    raise not_callable("Retry.call", fn) from None
                if self._deposit is not None:
                    self._deposit()  # a request: the budget earns its share
                return self._run(fn, args, kwargs, exc)
            except BaseException as exc:  # not retried: a request all the same
                if isinstance(exc, TypeError) and not callable(fn):
                    raise not_callable("Retry.call", fn) from None  # the caller's mistake
                if self._deposit is not None:
                    self._deposit()
                raise
            if self._deposit is not None:
                self._deposit()
            next(self._first_ok)
            return result
        if not callable(fn):
            raise not_callable("Retry.call", fn)
        if self._deposit is not None:
            self._deposit()
        return self._run(fn, args, kwargs, None)

    def _run(self, fn: Callable[..., T], args: Any, kwargs: Any, failed: BaseException | None) -> T:
        start = self._now() if self.deadline is not None else 0.0
        previous = self.backoff.first
        attempt = 1
        outcome: Any = failed
        if failed is None:  # the first attempt has not been made yet
            outcome, ok = self._attempt(fn, args, kwargs, start)
            if ok:
                self._succeeded(attempt)
                return outcome  # type: ignore[no-any-return]
        while True:
            event = self._plan(attempt, previous, outcome, start)
            if event.wait is None:
                if event.error is not None:
                    raise event.error
                return outcome  # type: ignore[no-any-return]
            previous = event.wait
            self._sleep(event.wait)
            attempt += 1
            outcome, ok = self._attempt(fn, args, kwargs, start)
            if ok:
                self._succeeded(attempt)
                return outcome  # type: ignore[no-any-return]

    def _attempt(self, fn: Callable[..., Any], args: Any, kwargs: Any, start: float) -> Any:
        """One attempt: ``(result, True)``, or ``(failure, False)`` when it should be retried."""
        limit = self._limit(start)
        try:
            if limit is None:
                result = fn(*args, **kwargs)
            elif limit <= 0:
                raise CallTimeout("the retry deadline has passed")
            else:
                result = self._guard._within(limit, fn, args, kwargs)
        except self.on as exc:
            return exc, False
        if self.on_result is not None and self.on_result(result):
            return result, False
        return result, True

    async def acall(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)``, retrying as configured (waits with ``asleep``).

        Deposits once in the budget, as :meth:`call` does. ``fn`` is called first and what it
        returns checked: a plain function is refused before any deposit, wait or retry.
        """
        pending = [awaitable_of("Retry.acall", fn, args, kwargs)]
        try:
            if self._deposit is not None:
                self._deposit()
            start = self._now() if self.deadline is not None else 0.0
        except BaseException:
            discard(pending.pop())
            raise
        previous = self.backoff.first
        attempt = 0
        while True:
            attempt += 1
            limit = self._limit(start)
            if limit is not None and limit <= 0:  # the deadline has passed: no attempt is made
                awaitable = None
                while pending:
                    discard(pending.pop())
            else:
                awaitable = (
                    pending.pop() if pending else awaitable_of("Retry.acall", fn, args, kwargs)
                )
            try:
                if awaitable is None:
                    raise CallTimeout("the retry deadline has passed")
                if limit is None:
                    result = await awaitable
                else:
                    result = await self._guard._await_within(limit, awaitable)
            except self.on as exc:
                outcome: Any = exc
            else:
                if self.on_result is None or not self.on_result(result):
                    self._succeeded(attempt)
                    return result
                outcome = result
            event = self._plan(attempt, previous, outcome, start)
            if event.wait is None:
                if event.error is not None:
                    raise event.error
                return outcome  # type: ignore[no-any-return]
            previous = event.wait
            await self._asleep(event.wait)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate a function or a coroutine function."""
        return decorate(self, "Retry", fn)

    def __repr__(self) -> str:
        return f"Retry(attempts={self.attempts}, backoff={self.backoff!r})"
