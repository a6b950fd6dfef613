"""Bulkhead: a cap on concurrent calls to one dependency, so it cannot take every thread.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

A ship's bulkheads keep one flooded compartment from sinking the ship. When one dependency
turns slow, every caller waits on it and a server's whole thread pool (or every task)
ends up stuck there, so requests that never touch that dependency fail too. A bulkhead
gives the dependency at most ``max_concurrent`` calls at once; up to ``max_waiting`` more
wait their turn (first come, first served, at most ``max_wait`` seconds), and any other call
fails at once with :class:`BulkheadFull`. Hystrix called this "semaphore isolation".

- :class:`Bulkhead` serves threads: a list of slot tokens (taking and returning one is atomic,
  no lock), and a line of waiters to which a release hands its slot directly, so while anyone
  waits, newcomers queue behind them. Its ``acall`` serves coroutines too: a coroutine waits on
  a future of its own event loop, woken from the thread that frees the slot, so a wait blocks
  no thread (not even one of the loop's executor, which the guarded calls may need); one
  cancelled while it waits leaves the line, or gives back the slot just handed to it.
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
    awaitable_of,
    check_callable,
    check_int,
    check_seconds,
    count_value,
    discard,
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


class _Waiter:
    """One caller's place in line: a thread's or a coroutine's.

    ``granted`` turns true, under the bulkhead's lock, when a release hands this waiter its
    slot; ``wake`` (called under the lock too) then tells the caller: it notifies the thread's
    condition, or resolves the coroutine's future on its own event loop, and returns False
    when that loop is closed (the slot then goes to the next waiter).
    """

    __slots__ = ("granted", "wake")

    def __init__(self, wake: Callable[[], object]) -> None:
        self.granted = False
        self.wake = wake


def _resolve(turn: asyncio.Future[None]) -> None:
    if not turn.done():
        turn.set_result(None)


def _waker(loop: asyncio.AbstractEventLoop, turn: asyncio.Future[None]) -> Callable[[], bool]:
    """Resolve ``turn`` on ``loop`` from any thread (the one that frees the slot); False when
    the loop is closed, so no one is left to take the slot."""

    def wake() -> bool:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:  # freed by a task of the same loop: no need to wake the loop up
            _resolve(turn)
            return True
        try:
            loop.call_soon_threadsafe(_resolve, turn)
        except RuntimeError:  # the loop is closed: its waiter will never run
            return False
        return True

    return wake


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
    """At most ``max_concurrent`` calls at once across threads; a bounded FIFO line of waiters.

    The slots are tokens in a list: ``list.pop`` and ``list.append`` are atomic under the GIL,
    so a call that finds a free slot and no one waiting takes no lock. Only waiting takes the
    lock: a waiter joins the line, and a release hands its slot on to the head of the line
    at once, so a newcomer that arrives while anyone waits queues behind them. Threads
    sleep on a condition of their own; coroutines await a future of their own event loop, woken
    from whichever thread frees the slot (no worker thread is used).
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
        self._line: collections.deque[_Waiter] = collections.deque()
        self._admitted = itertools.count()
        self._rejected = 0
        self._peak = 0

    @property
    def active(self) -> int:
        """Calls holding a slot now (a slot handed to a waiter counts as held)."""
        return self.max_concurrent - len(self._slots)

    def stats(self) -> BulkheadStats:
        with self._lock:
            return BulkheadStats(
                self.active,
                len(self._line),
                count_value(self._admitted),
                self._rejected,
                self._peak,
            )

    def _refuse(self) -> BulkheadFull:
        self._rejected += 1
        return BulkheadFull(
            f"bulkhead full: {self.max_concurrent} calls running and "
            f"{len(self._line)} of {self.max_waiting} waiting"
        )

    def _admit(self) -> None:
        next(self._admitted)
        in_use = self.max_concurrent - len(self._slots)
        if in_use > self._peak:
            self._peak = in_use

    def _hand_over(self) -> None:
        """Under the lock: give free slots to the waiters at the head of the line, in order."""
        while self._line and self._slots:
            try:
                self._slots.pop()
            except IndexError:  # a newcomer that saw no one waiting took it first
                return
            waiter = self._line.popleft()
            waiter.granted = True
            if waiter.wake() is False:  # its loop is closed: the slot goes to the next one
                waiter.granted = False
                self._slots.append(None)

    def _line_up(self, waiter: _Waiter) -> bool:
        """Under the lock: join the line, or raise BulkheadFull; True if served at once.

        The waiter joins before it looks for a free slot, so a release that appended its slot
        a moment ago either is seen here or sees the waiter and hands the slot over itself.
        """
        if len(self._line) >= self.max_waiting or self.max_wait <= 0:
            if not self._line and self._slots:  # freed since we looked, and no one is ahead
                try:
                    self._slots.pop()
                except IndexError:
                    pass
                else:
                    waiter.granted = True
                    return True
            raise self._refuse()
        self._line.append(waiter)
        self._hand_over()
        return waiter.granted

    def _acquire(self) -> None:
        """Take a slot, waiting in line if allowed; raise BulkheadFull otherwise."""
        if not self._line:
            try:
                self._slots.pop()
            except IndexError:
                pass
            else:
                self._admit()
                return
        with self._lock:
            turn = threading.Condition(self._lock)
            waiter = _Waiter(turn.notify)
            if not self._line_up(waiter):
                give_up = time.monotonic() + self.max_wait
                while not waiter.granted:
                    left = give_up - time.monotonic()
                    if left <= 0:
                        self._line.remove(waiter)
                        raise self._refuse()
                    turn.wait(left)
            self._admit()

    def _release(self) -> None:
        """Give the slot back; if anyone waits, it goes on at once to the head of the line.

        A newcomer that finds anyone in line does not look at the free slots, so between the
        append and the hand-over only a call that arrived before the waiter can take it.
        """
        self._slots.append(None)
        if self._line:
            with self._lock:
                self._hand_over()

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
        """Await ``fn(*args, **kwargs)`` in a slot (waiting, if needed, on the event loop).

        Cancelling the awaiting task while it waits for a slot leaves the bulkhead as if the
        call had never come: it leaves the line, or gives back the slot just handed to it.
        """
        awaitable = awaitable_of("Bulkhead.acall", fn, args, kwargs)  # checked before a slot
        try:
            try:
                if self._line:
                    raise IndexError
                self._slots.pop()
                self._admit()
            except IndexError:
                await self._await_turn()
        except BaseException:  # full, or cancelled in line: the call never runs
            discard(awaitable)
            raise
        try:
            return await awaitable
        finally:
            self._release()

    async def _await_turn(self) -> None:
        """Wait in line for a slot on a future of the running loop (no thread is blocked).

        The future is resolved by the release that hands the slot over, or by a timer when
        ``max_wait`` runs out; which one it was is read under the lock, so a slot that comes
        as the wait runs out is used, and one that comes as the task is cancelled is given
        back: no slot is ever left held.
        """
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        waiter = _Waiter(_waker(loop, turn))
        with self._lock:
            if self._line_up(waiter):
                self._admit()
                return
        timer = loop.call_later(self.max_wait, _resolve, turn)
        try:
            await turn
        except BaseException:  # cancelled (a timeout around the call, a client gone)
            with self._lock:
                if not waiter.granted:
                    if waiter in self._line:  # (a closed loop's waiter was passed over)
                        self._line.remove(waiter)
                    raise
            self._release()  # handed a slot, but cancelled before using it: pass it on
            raise
        finally:
            timer.cancel()
        with self._lock:
            if not waiter.granted:  # woken by the timer: the wait ran out
                self._line.remove(waiter)
                raise self._refuse()
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
                # From Python 3.12 the wait can run out in the very loop turn in which a
                # release handed this call its slot: then the slot is ours, and is used.
                if not turn.done() or turn.cancelled():
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
        awaitable = awaitable_of("AsyncBulkhead.acall", fn, args, kwargs)  # before a slot
        try:
            await self._acquire()
        except BaseException:  # full, or cancelled in line: the call never runs
            discard(awaitable)
            raise
        try:
            return await awaitable
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
