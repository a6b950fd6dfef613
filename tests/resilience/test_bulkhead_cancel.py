"""Bulkhead.acall cancelled while it waits for a slot gives every slot back.

A coroutine that finds the thread bulkhead full waits in line on a future of its event loop.
These tests cancel the coroutine (task.cancel, asyncio.timeout) at each point of that wait:
at once (with the loop's default executor busy, which the wait must not need), while it waits
in line, and just after a release handed it the freed slot but before the coroutine hears of
it. Afterwards no call is running, no one waits, and the full capacity is free again."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.resilience import Bulkhead, BulkheadStats


def until(condition: Callable[[], bool], what: str) -> None:
    """Spin (blocking the event loop on purpose) until ``condition()``; fail after 10 s."""
    give_up = time.monotonic() + 10
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.0005)


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Let the event loop run until ``condition()``; fail after 10 s."""
    give_up = time.monotonic() + 10
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.0005)


def hold(bulkhead: Bulkhead) -> tuple[threading.Thread, threading.Event]:
    """A thread holding one slot until the returned event is set."""
    inside, release = threading.Event(), threading.Event()
    body = lambda: (inside.set(), release.wait(10))  # noqa: E731
    thread = threading.Thread(target=bulkhead.call, args=(body,))
    thread.start()
    assert inside.wait(10)
    return thread, release


async def nothing() -> str:
    return "ran"


def settled(bulkhead: Bulkhead, pool: concurrent.futures.ThreadPoolExecutor) -> BulkheadStats:
    """Stats once every worker thread has returned; then check the capacity is all free."""
    pool.shutdown(wait=True)
    stats = bulkhead.stats()
    for _ in range(bulkhead.max_concurrent):  # every slot can be taken again, at once
        bulkhead._acquire()
    assert bulkhead.active == bulkhead.max_concurrent
    for _ in range(bulkhead.max_concurrent):
        bulkhead._release()
    return stats


def run(main: Callable[[concurrent.futures.ThreadPoolExecutor], object]) -> None:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)

    async def with_pool() -> None:
        asyncio.get_running_loop().set_default_executor(pool)
        await main(pool)  # type: ignore[misc]

    asyncio.run(with_pool())


def test_cancelled_at_once_with_the_default_executor_busy() -> None:
    bulkhead = Bulkhead(1, max_waiting=1, max_wait=10.0)

    async def main(_: object) -> None:
        one = concurrent.futures.ThreadPoolExecutor(max_workers=1)  # busy all along
        asyncio.get_running_loop().set_default_executor(one)
        busy = threading.Event()
        one.submit(busy.wait, 10)
        holder, release = hold(bulkhead)
        waiter = asyncio.ensure_future(bulkhead.acall(nothing))
        await asyncio.sleep(0)  # the waiter is now in line
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        busy.set()
        release.set()
        holder.join()
        stats = settled(bulkhead, one)
        assert (stats.active, stats.waiting, stats.admitted) == (0, 0, 1)

    run(main)


def test_cancelled_while_waiting_in_line() -> None:
    bulkhead = Bulkhead(1, max_waiting=1, max_wait=10.0)

    async def main(pool: concurrent.futures.ThreadPoolExecutor) -> None:
        holder, release = hold(bulkhead)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):  # a client gone: the wait is cancelled
                await bulkhead.acall(nothing)
        release.set()
        holder.join()
        stats = settled(bulkhead, pool)
        assert (stats.active, stats.waiting, stats.admitted) == (0, 0, 1)
        assert await bulkhead.acall(nothing) == "ran"

    run(main)


def test_cancelled_right_after_its_thread_took_the_freed_slot() -> None:
    bulkhead = Bulkhead(1, max_waiting=1, max_wait=10.0)

    async def main(pool: concurrent.futures.ThreadPoolExecutor) -> None:
        holder, release = hold(bulkhead)
        waiter = asyncio.ensure_future(bulkhead.acall(nothing))
        await eventually(lambda: bulkhead.stats().waiting == 1, "the waiter in line")
        release.set()  # the holder leaves; the waiting thread takes its slot at once...
        holder.join()
        until(lambda: (bulkhead.active, bulkhead.stats().waiting) == (1, 0), "the thread took it")
        waiter.cancel()  # ...but the coroutine is cancelled before it learns it
        with pytest.raises(asyncio.CancelledError):
            await waiter
        stats = settled(bulkhead, pool)
        assert (stats.active, stats.waiting, stats.admitted) == (0, 0, 1)

    run(main)


@settings(max_examples=25, deadline=None)
@given(
    cap=st.integers(1, 2),
    plan=st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=1, max_size=5),
    holders_leave_after=st.integers(0, 6),
)
@example(cap=1, plan=[0], holders_leave_after=0)
@example(cap=1, plan=[3, None], holders_leave_after=3)
def test_any_cancellation_gives_every_slot_back(
    cap: int, plan: list[int | None], holders_leave_after: int
) -> None:
    """Waiters cancelled after ``n`` event-loop turns (None: never) while holders leave."""
    bulkhead = Bulkhead(cap, max_waiting=len(plan), max_wait=10.0)
    outcomes: list[str] = []

    async def main(pool: concurrent.futures.ThreadPoolExecutor) -> None:
        holders = [hold(bulkhead) for _ in range(cap)]

        async def waiter(cancel_after: int | None) -> None:
            task = asyncio.ensure_future(bulkhead.acall(nothing))
            if cancel_after is not None:
                for _ in range(cancel_after):
                    await asyncio.sleep(0)
                task.cancel()
            try:
                outcomes.append(await task)
            except asyncio.CancelledError:
                outcomes.append("cancelled")

        async def holders_leave() -> None:
            for _ in range(holders_leave_after):
                await asyncio.sleep(0)
            for thread, release in holders:
                release.set()
                thread.join()

        await asyncio.gather(holders_leave(), *(waiter(n) for n in plan))
        stats = settled(bulkhead, pool)
        assert (stats.active, stats.waiting) == (0, 0)
        assert stats.peak <= cap
        assert stats.admitted == cap + outcomes.count("ran")
        assert outcomes.count("ran") >= plan.count(None)

    run(main)
