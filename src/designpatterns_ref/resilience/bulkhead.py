"""Bulkhead: a cap on concurrent calls to one dependency, so it cannot take every thread.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

A ship's bulkheads keep one flooded compartment from sinking the ship. When one dependency
turns slow, every caller waits on it and a server's whole thread pool (or every task)
ends up stuck there, so requests that never touch that dependency fail too. A bulkhead
gives the dependency at most ``max_concurrent`` calls at once; up to ``max_waiting`` more
wait their turn (first come, first served, at most ``max_wait`` seconds), and any other call
fails at once with :class:`BulkheadFull`. Hystrix called this "semaphore isolation".

- :class:`Bulkhead` serves threads: a list of slot tokens (taking and returning one is atomic,
  no lock), and a condition for the waiters; while anyone waits, newcomers queue behind them.
  Its ``acall`` serves coroutines too (a wait, when needed, happens in a worker thread; a
  coroutine cancelled while it waits stops that thread's wait, or gives back the slot the thread
  had just taken).
- :class:`AsyncBulkhead` serves one event loop: a counter and a queue of futures.

Trade-off: a small cap protects the rest of the server and sheds load early; too small a cap
refuses calls the dependency could have served. Size it by Little's law: the calls per second
you must serve times their latency (p99), plus a margin.

Complexity: O(1) per call; O(max_waiting) memory.

>>> bulkhead = Bulkhead(max_concurrent=2)
>>> bulkhead.call(lambda: bulkhead.active)
1
>>> bulkhead.stats().admitted, bulkhead.stats().rejected
(1, 0)
"""

from __future__ import annotations

import asyncio
import collections
import functools
import inspect
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from designpatterns_ref.resilience.base import (
    BulkheadFull,
    ResilienceTypeError,
    check_callable,
    check_int,
    check_seconds,
    count_value,
    not_callable,
)

__all__ = ["AsyncBulkhead", "Bulkhead", "BulkheadStats"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BulkheadStats:
    """Counters of one bulkhead: now, and over its lifetime."""

    active: int
    waiting: int
    admitted: int
    rejected: int
    peak: int  # the most calls ever running at once


class _Ticket:
    """One coroutine's place in line, shared with the worker thread that waits for it.

    Both fields change only under the bulkhead's lock.
    """

    __slots__ = ("abandoned", "took")

    def __init__(self) -> None:
        self.abandoned = False  # the coroutine gave up: the thread must not take a slot
        self.took = False  # the thread took a slot for the coroutine


def _decorate(guard: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    check_callable(type(guard).__name__, "fn", fn)
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_guarded(*args: Any, **kwargs: Any) -> Any:
            return await guard.acall(fn, *args, **kwargs)

        return async_guarded

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        return guard.call(fn, *args, **kwargs)

    return guarded


class Bulkhead:
    """At most ``max_concurrent`` calls at once across threads; a bounded queue of waiters.

    The slots are tokens in a list: ``list.pop`` and ``list.append`` are atomic under the GIL,
    so a call that finds a free slot takes no lock. Only waiting takes the lock: a waiter
    registers, tries again, then sleeps on a condition that every release signals while
    anyone waits; newcomers queue behind existing waiters instead of taking a freed slot.
    """

    kind: ClassVar[str] = "bulkhead"

    def __init__(self, max_concurrent: int, *, max_waiting: int = 0, max_wait: float = 0.0) -> None:
        self.max_concurrent = check_int(
            "Bulkhead", "max_concurrent", max_concurrent, minimum=1, maximum=10**6
        )
        self.max_waiting = check_int(
            "Bulkhead", "max_waiting", max_waiting, minimum=0, maximum=10**6
        )
        self.max_wait: float = check_seconds("Bulkhead", "max_wait", max_wait)
        self._slots: list[None] = [None] * self.max_concurrent
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)
        self._waiting = 0
        self._admitted = itertools.count()
        self._rejected = 0
        self._peak = 0

    @property
    def active(self) -> int:
        """Calls holding a slot now."""
        return self.max_concurrent - len(self._slots)

    def stats(self) -> BulkheadStats:
        with self._lock:
            return BulkheadStats(
                self.active, self._waiting, count_value(self._admitted), self._rejected, self._peak
            )

    def _refuse(self) -> BulkheadFull:
        self._rejected += 1
        return BulkheadFull(
            f"bulkhead full: {self.max_concurrent} calls running and "
            f"{self._waiting} of {self.max_waiting} waiting"
        )

    def _admit(self) -> None:
        next(self._admitted)
        in_use = self.max_concurrent - len(self._slots)
        if in_use > self._peak:
            self._peak = in_use

    def _acquire(self, ticket: _Ticket | None = None) -> None:
        """Take a slot, waiting in line if allowed; raise BulkheadFull otherwise.

        With a ``ticket`` (a coroutine's wait, run in a worker thread) the slot is marked on
        the ticket instead of counted as admitted, and the wait ends, empty-handed, as soon
        as the coroutine abandons the ticket.
        """
        if ticket is None and not self._waiting:
            try:
                self._slots.pop()
            except IndexError:
                pass
            else:
                self._admit()
                return
        with self._lock:
            if ticket is not None and ticket.abandoned:
                return
            if self._waiting >= self.max_waiting or self.max_wait <= 0:
                if not self._waiting and self._slots:  # freed since we looked
                    self._slots.pop()
                    self._took(ticket)
                    return
                raise self._refuse()
            self._waiting += 1
            try:
                give_up = time.monotonic() + self.max_wait
                while True:
                    if ticket is not None and ticket.abandoned:
                        return
                    try:
                        self._slots.pop()
                        break
                    except IndexError:
                        left = give_up - time.monotonic()
                        if left <= 0:
                            raise self._refuse() from None
                        self._turn.wait(left)
            finally:
                self._waiting -= 1
            self._took(ticket)

    def _took(self, ticket: _Ticket | None) -> None:
        if ticket is None:
            self._admit()
        else:
            ticket.took = True  # the coroutine counts it once it knows

    def _release(self) -> None:
        self._slots.append(None)
        if self._waiting:
            with self._lock:
                self._turn.notify()

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` in a slot, or raise BulkheadFull."""
        if not callable(fn):
            raise not_callable("Bulkhead.call", fn)
        self._acquire()
        try:
            return fn(*args, **kwargs)
        finally:
            self._release()

    async def acall(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)`` in a slot (waiting, if needed, in a worker thread).

        Cancelling the awaiting task while it waits for a slot leaves the bulkhead as if the
        call had never come: the worker thread stops waiting and holds no slot.
        """
        if not callable(fn):
            raise not_callable("Bulkhead.acall", fn)
        try:
            if self._waiting:
                raise IndexError
            self._slots.pop()
            self._admit()
        except IndexError:
            await self._wait_in_thread()
        try:
            return await fn(*args, **kwargs)
        finally:
            self._release()

    async def _wait_in_thread(self) -> None:
        """Wait for a slot in a worker thread (blocking a thread, not the loop); cancellable.

        If the coroutine is cancelled (a timeout, a client gone) while the thread waits, the
        ticket is abandoned and every waiter woken, so the thread stops waiting; if the thread
        had already taken a slot, it is given back here. Either way no slot is left held.
        """
        ticket = _Ticket()
        try:
            await asyncio.to_thread(self._acquire, ticket)
        except BaseException:
            with self._lock:
                ticket.abandoned = True
                took = ticket.took
                self._turn.notify_all()
            if took:
                self._release()
            raise
        self._admit()

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate a function or a coroutine function."""
        return _decorate(self, fn)

    def __repr__(self) -> str:
        return f"Bulkhead(max_concurrent={self.max_concurrent}, max_waiting={self.max_waiting})"


class AsyncBulkhead:
    """At most ``max_concurrent`` coroutines at once on one event loop; a bounded FIFO queue."""

    kind: ClassVar[str] = "bulkhead"

    def __init__(self, max_concurrent: int, *, max_waiting: int = 0, max_wait: float = 0.0) -> None:
        owner = "AsyncBulkhead"
        self.max_concurrent = check_int(
            owner, "max_concurrent", max_concurrent, minimum=1, maximum=10**6
        )
        self.max_waiting = check_int(owner, "max_waiting", max_waiting, minimum=0, maximum=10**6)
        self.max_wait: float = check_seconds(owner, "max_wait", max_wait)
        self._active = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._admitted = 0
        self._rejected = 0
        self._peak = 0

    @property
    def active(self) -> int:
        """Calls holding a slot now."""
        return self._active

    def stats(self) -> BulkheadStats:
        waiting = sum(not w.done() for w in self._waiters)
        return BulkheadStats(self._active, waiting, self._admitted, self._rejected, self._peak)

    def _refuse(self) -> BulkheadFull:
        self._rejected += 1
        return BulkheadFull(
            f"bulkhead full: {self.max_concurrent} calls running and "
            f"{len(self._waiters)} of {self.max_waiting} waiting"
        )

    async def _acquire(self) -> None:
        while self._waiters and self._waiters[0].done():
            self._waiters.popleft()  # timed out or cancelled: no longer in line
        if self._active < self.max_concurrent:  # then no one is waiting: see _release
            self._active += 1
        else:
            waiting = sum(not w.done() for w in self._waiters)
            if waiting >= self.max_waiting or self.max_wait <= 0:
                raise self._refuse()
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(turn)
            try:
                await asyncio.wait_for(turn, self.max_wait)
            except TimeoutError:
                raise self._refuse() from None
            except BaseException:
                if turn.done() and not turn.cancelled():
                    self._release()  # handed a slot, but cancelled before using it
                raise
        self._admitted += 1
        if self._active > self._peak:
            self._peak = self._active

    def _release(self) -> None:
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)  # hand the slot over: _active is unchanged
                return
        self._active -= 1

    async def acall(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)`` in a slot, or raise BulkheadFull."""
        if not callable(fn):
            raise not_callable("Bulkhead.acall", fn)
        await self._acquire()
        try:
            return await fn(*args, **kwargs)
        finally:
            self._release()

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Refused: an AsyncBulkhead guards coroutines; use :class:`Bulkhead` for threads."""
        raise ResilienceTypeError(
            "AsyncBulkhead.call: an AsyncBulkhead guards coroutines (use acall), "
            "or use Bulkhead for threads"
        )

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate a coroutine function."""
        return _decorate(self, fn)

    def __repr__(self) -> str:
        return (
            f"AsyncBulkhead(max_concurrent={self.max_concurrent}, max_waiting={self.max_waiting})"
        )
