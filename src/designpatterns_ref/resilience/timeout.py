"""Timeout: give up on a call after a time limit, so a slow dependency cannot hold the caller.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

A timeout is the innermost guard: without one, a dependency that stops answering (a
blackhole, the worst failure there is) holds a thread or a task forever, and every guard
outside it waits too. How to stop waiting depends on what runs the call:

- **asyncio** (:meth:`Timeout.acall`): the task is cancelled at the limit (``asyncio.timeout``)
  and :class:`CallTimeout` is raised. This is a real, preemptive timeout.
- **threads** (``mode="thread"``): the call runs in a worker thread and the caller stops
  waiting at the limit. *A Python thread cannot be killed*: the worker runs on until the call
  returns by itself, holding whatever it holds. The caller is freed, the work is not. Give the
  underlying client its own socket timeout so abandoned workers end too. Each ``Timeout`` has
  its own pool of at most ``max_workers`` threads (started on first use): the workers left
  behind by one hung dependency pile up in its own guard only, and cannot starve the guard of
  another dependency.
- **cooperative** (``mode="cooperative"``, the default for sync calls): the call runs in the
  caller's thread with a deadline the callee can read (:func:`remaining`, to set its socket
  timeout from); if it overruns anyway its result is discarded and :class:`CallTimeout` is
  raised when it returns. Cheap (no thread hop), and honest about what it cannot do.

Trade-off: too short a limit turns slow successes into failures (and retries into load); too
long a limit holds resources. Set it from the dependency's latency distribution (p99.9 plus a
margin), and keep ``timeout <= deadline`` for everything outside it.

Complexity: O(1) per call; ``mode="thread"`` adds a thread hop (tens of microseconds).

>>> from designpatterns_ref.clock import ManualClock
>>> clock = ManualClock()
>>> guard = Timeout(2.0, clock=clock)
>>> guard.call(lambda: round(remaining(), 3))
2.0
>>> guard.call(lambda: clock.advance(3))
Traceback (most recent call last):
...
designpatterns_ref.resilience.base.CallTimeout: call took 3s, over the 2s timeout (result discarded)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Literal, TypeVar

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.resilience.base import (
    CallTimeout,
    ResilienceError,
    awaitable_of,
    check_callable,
    check_int,
    check_seconds,
    decorate,
    not_callable,
)

__all__ = ["Timeout", "remaining"]

T = TypeVar("T")

# (deadline, clock) of the innermost cooperative timeout of this thread or task
_DEADLINE: contextvars.ContextVar[tuple[float, Clock] | None] = contextvars.ContextVar(
    "designpatterns_ref_resilience_deadline", default=None
)


def remaining() -> float:
    """Seconds left before the innermost cooperative deadline (``inf`` when there is none).

    A callee uses it to bound its own waits, e.g. ``sock.settimeout(remaining())``.
    """
    current = _DEADLINE.get()
    if current is None:
        return math.inf
    deadline, clock = current
    return max(0.0, deadline - read_seconds(clock, ResilienceError, "remaining"))


class Timeout:
    """Cut a call short after ``seconds`` (see the module docstring for the three modes)."""

    kind: ClassVar[str] = "timeout"

    def __init__(
        self,
        seconds: float,
        *,
        mode: Literal["cooperative", "thread"] = "cooperative",
        max_workers: int = 32,
        clock: Clock = time.monotonic,
    ) -> None:
        self.seconds: float = check_seconds("Timeout", "seconds", seconds, positive=True)
        if mode not in ("cooperative", "thread"):
            raise ResilienceError(
                f"Timeout: mode={shown(mode, 60)} must be 'cooperative' or 'thread'"
            )
        self.mode = mode
        self._threaded = mode == "thread"
        self.max_workers = check_int("Timeout", "max_workers", max_workers, minimum=1, maximum=4096)
        self._clock: Clock = check_callable("Timeout", "clock", clock)
        self.timeouts = 0  # calls cut short (approximate under threads)
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        """This guard's own worker pool, made on first use (its threads start as needed)."""
        pool = self._executor
        if pool is None:
            with self._executor_lock:
                pool = self._executor
                if pool is None:
                    pool = concurrent.futures.ThreadPoolExecutor(
                        self.max_workers, thread_name_prefix="dpref-timeout"
                    )
                    self._executor = pool
        return pool

    def _expired(self, seconds: float, took: float | None) -> CallTimeout:
        self.timeouts += 1
        if took is None:
            return CallTimeout(f"call did not finish within the {seconds:g}s timeout")
        return CallTimeout(f"call took {took:g}s, over the {seconds:g}s timeout (result discarded)")

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` with the time limit; raise CallTimeout past it."""
        if not callable(fn):
            raise not_callable("Timeout.call", fn)
        return self._within(self.seconds, fn, args, kwargs)

    def _within(self, seconds: float, fn: Callable[..., T], args: Any, kwargs: Any) -> T:
        """:meth:`call` with a limit of ``seconds`` for this call only, in this guard's pool.

        :class:`~designpatterns_ref.resilience.Retry` gives each attempt what its deadline
        leaves, through one guard, so its ``max_workers`` bounds the threads of every attempt.
        """
        if self._threaded:
            return self._call_in_thread(seconds, fn, args, kwargs)
        clock = self._clock
        start = read_seconds(clock, ResilienceError, "Timeout.call")  # NaN: never past the limit
        deadline = start + seconds
        outer = _DEADLINE.get()
        # An enclosing cooperative guard with an earlier deadline: the callee sees that one, and
        # if the call overruns it, the enclosing guard reports it (and counts it) when the call
        # returns to it; this guard only answers for a deadline of its own.
        enclosed = False
        if outer is not None and outer[0] < deadline and outer[1] is clock:
            deadline, enclosed = outer[0], True
        token = _DEADLINE.set((deadline, clock))
        try:
            result = fn(*args, **kwargs)
        finally:
            _DEADLINE.reset(token)
        now = read_seconds(clock, ResilienceError, "Timeout.call")
        if now > deadline and not enclosed:
            raise self._expired(seconds, now - start)
        return result

    def _call_in_thread(self, seconds: float, fn: Callable[..., T], args: Any, kwargs: Any) -> T:
        context = contextvars.copy_context()
        future = self._pool().submit(context.run, fn, *args, **kwargs)
        try:
            return future.result(timeout=seconds)
        except concurrent.futures.TimeoutError:
            future.cancel()  # only helps if it has not started; a running thread runs on
            raise self._expired(seconds, None) from None

    async def acall(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)``, cancelling it at the time limit."""
        return await self._await_within(
            self.seconds, awaitable_of("Timeout.acall", fn, args, kwargs)
        )

    async def _await_within(self, seconds: float, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` (already checked), cancelling it after ``seconds``."""
        limit = asyncio.timeout(seconds)
        try:
            async with limit:
                return await awaitable
        except TimeoutError:
            if limit.expired():
                raise self._expired(seconds, None) from None
            raise  # the callee's own TimeoutError

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate a function or a coroutine function."""
        return decorate(self, "Timeout", fn)

    def __repr__(self) -> str:
        return f"Timeout({self.seconds:g}s, mode={self.mode!r})"
