"""Hedged requests: if the answer is late, ask again, and take whichever answer comes first.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

Dean and Barroso's "The Tail at Scale" (CACM, 2013): most slow answers are slow by bad luck
(a garbage collection, a busy disk, a dead instance still in the load balancer), not because
the request is hard. So send the request; if it has not answered by the latency that 95% of
answers beat (the p95 of the recent calls), send a second copy, probably to another instance,
and use the first answer that arrives. Only about 5% of requests are sent twice, and the tail
shrinks a lot.

- :meth:`Hedge.acall` runs the copies as asyncio tasks and cancels the loser.
- :meth:`Hedge.call` runs them in worker threads; the loser cannot be cancelled (a thread
  cannot be killed) and runs on until it returns; its answer is dropped.

The delay is ``delay`` when given, else the ``percentile`` of the last ``window`` latencies of
calls that answered (``initial_delay`` until ``min_samples`` are known, so ``min_samples``
may not exceed ``window``). A copy that fails does not win: the other copy's answer is
awaited, and the call fails only if every copy fails.

Trade-off: hedging spends a little extra load to cut the tail; only hedge idempotent calls, and
never in a retry storm (a dependency that is down gets twice the traffic).

Complexity: O(1) per call, plus a sort of ``window`` latencies every 16 calls.

>>> hedge = Hedge(delay=0.05)
>>> hedge.call(lambda: "answer")
'answer'
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextvars
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.resilience.base import (
    ResilienceError,
    awaitable_of,
    check_callable,
    check_int,
    check_seconds,
    decorate,
    discard,
    not_callable,
)

__all__ = ["Hedge"]

T = TypeVar("T")


class Hedge:
    """Send a second copy of a call after the p95 latency; the first answer wins."""

    kind: ClassVar[str] = "hedge"

    def __init__(
        self,
        delay: float | None = None,
        *,
        percentile: float = 95.0,
        window: int = 100,
        min_samples: int = 20,
        initial_delay: float = 0.1,
        max_workers: int = 32,
        clock: Clock = time.monotonic,
    ) -> None:
        owner = "Hedge"
        self.delay: float | None = check_seconds(owner, "delay", delay, allow_none=True)
        if isinstance(percentile, bool) or not isinstance(percentile, int | float):
            raise ResilienceError(f"{owner}: percentile={shown(percentile, 60)} must be a number")
        if not 0 < percentile < 100:
            raise ResilienceError(
                f"{owner}: percentile={shown(percentile, 60)} must be in (0, 100)"
            )
        self.percentile = float(percentile)
        self.window = check_int(owner, "window", window, minimum=1, maximum=10**6)
        self.min_samples = check_int(owner, "min_samples", min_samples, minimum=1, maximum=10**6)
        if self.delay is None and self.min_samples > self.window:
            # the window keeps at most ``window`` latencies: the percentile would never start
            raise ResilienceError(
                f"{owner}: min_samples={self.min_samples} must be <= window={self.window} "
                "(the window never holds more latencies than that)"
            )
        self.initial_delay: float = check_seconds(owner, "initial_delay", initial_delay)
        self.max_workers = check_int(owner, "max_workers", max_workers, minimum=2, maximum=4096)
        self._clock: Clock = check_callable(owner, "clock", clock)
        self._lock = threading.Lock()
        self._samples: collections.deque[float] = collections.deque(maxlen=self.window)
        self._since_sort = 0
        self._cached = self.initial_delay
        self._known = False  # whether _cached holds a percentile yet
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.calls = 0
        self.hedged = 0  # calls that sent a second copy
        self.won_by_hedge = 0  # calls the second copy answered first

    def current_delay(self) -> float:
        """The wait before the second copy: ``delay``, or the percentile of recent latencies."""
        if self.delay is not None:
            fixed: float = self.delay
            return fixed
        with self._lock:
            if len(self._samples) < self.min_samples:
                return self.initial_delay
            if self._since_sort >= 16 or not self._known:
                ordered = sorted(self._samples)
                rank = max(1, math.ceil(self.percentile / 100 * len(ordered)))
                self._cached = ordered[rank - 1]
                self._since_sort = 0
                self._known = True
            cached: float = self._cached
            return cached

    def _observe(self, seconds: float, hedged: bool, second_won: bool) -> None:
        with self._lock:
            self._samples.append(seconds)
            self._since_sort += 1
            self.calls += 1
            self.hedged += hedged
            self.won_by_hedge += second_won

    def _now(self) -> float:
        """The clock's reading: a NaN would make every latency estimate NaN from then on."""
        return read_seconds(self._clock, ResilienceError, "Hedge")

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` in a worker thread; after the delay, a second copy; first answer wins."""
        if not callable(fn):
            raise not_callable("Hedge.call", fn)
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = concurrent.futures.ThreadPoolExecutor(
                        self.max_workers, thread_name_prefix="dpref-hedge"
                    )
        pool = self._pool
        start = self._now()
        wait = self.current_delay()
        copies = [pool.submit(contextvars.copy_context().run, fn, *args, **kwargs)]
        done, _ = concurrent.futures.wait(copies, timeout=wait)
        if not done:
            copies.append(pool.submit(contextvars.copy_context().run, fn, *args, **kwargs))
        pending = set(copies)
        error: BaseException | None = None
        while pending:
            done, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in done:
                if future.exception() is None:
                    for other in pending:
                        other.cancel()
                    self._observe(self._now() - start, len(copies) > 1, future is not copies[0])
                    return future.result()
                error = future.exception()
        assert error is not None
        raise error

    async def acall(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn``; after the delay, a second copy as another task; cancel the loser.

        A caller cancelled at any point (during the delay too) cancels every copy still running.
        """
        awaitable = awaitable_of("Hedge.acall", fn, args, kwargs)
        try:
            start = self._now()
        except BaseException:
            discard(awaitable)
            raise
        first = asyncio.ensure_future(awaitable)
        copies = [first]
        error: BaseException | None = None
        try:  # whatever ends the wait (an answer, an error, the caller cancelled), no copy runs on
            done, _ = await asyncio.wait(copies, timeout=self.current_delay())
            if not done:
                copies.append(asyncio.ensure_future(awaitable_of("Hedge.acall", fn, args, kwargs)))
            pending = set(copies)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if not task.cancelled() and task.exception() is None:
                        self._observe(self._now() - start, len(copies) > 1, task is not first)
                        return task.result()
                    error = task.exception() if not task.cancelled() else error
        finally:
            for task in copies:
                if not task.done():
                    task.cancel()
        if error is None:
            raise asyncio.CancelledError()
        raise error

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate a function or a coroutine function."""
        return decorate(self, "Hedge", fn)

    def __repr__(self) -> str:
        shown = f"p{self.percentile:g}" if self.delay is None else f"{self.delay:g}s"
        return f"Hedge(delay={shown}, hedged={self.hedged}/{self.calls})"
