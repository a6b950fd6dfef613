"""The thread Bulkhead's line: first come, first served, and no thread spent on waiting.

A release hands its slot straight to the head of the line, so a newcomer cannot take it from a
waiter that has not woken up yet; a coroutine waits on a future of its own event loop, so the
guarded calls can still use the loop's default executor while others wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from designpatterns_ref.resilience import AsyncBulkhead, Bulkhead, BulkheadFull


def until(condition: Callable[[], bool], what: str) -> None:
    """Spin until ``condition()``; fail after 10 s."""
    give_up = time.monotonic() + 10
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.0005)


@pytest.fixture
def no_thread_switches() -> Iterator[None]:
    """Let the running thread keep the GIL until it blocks (a waiter cannot wake meanwhile)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(10.0)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.mark.usefixtures("no_thread_switches")
def test_a_newcomer_queues_behind_a_waiter_that_has_not_woken_yet() -> None:
    bulkhead = Bulkhead(1, max_waiting=2, max_wait=10.0)
    served: list[str] = []
    waiter = threading.Thread(target=bulkhead.call, args=(served.append, "waiter"))

    def hold_until_someone_waits() -> None:
        waiter.start()
        until(lambda: bulkhead.stats().waiting == 1, "the waiter in line")

    bulkhead.call(hold_until_someone_waits)  # leaves: the slot is now the waiter's...
    bulkhead.call(served.append, "newcomer")  # ...so the newcomer, next, waits for it
    waiter.join()
    assert served == ["waiter", "newcomer"]
    stats = bulkhead.stats()
    assert (stats.active, stats.waiting, stats.admitted) == (0, 0, 3)


def test_threads_are_served_in_the_order_they_lined_up() -> None:
    bulkhead = Bulkhead(1, max_waiting=8, max_wait=10.0)
    served: list[int] = []
    threads = [threading.Thread(target=bulkhead.call, args=(served.append, i)) for i in range(8)]

    def hold_while_all_line_up() -> None:
        for i, thread in enumerate(threads, start=1):
            thread.start()
            until(lambda: bulkhead.stats().waiting == i, f"{i} threads in line")  # noqa: B023

    bulkhead.call(hold_while_all_line_up)
    for thread in threads:
        thread.join()
    assert served == list(range(8))
    assert bulkhead.stats().active == 0


def test_waiting_coroutines_leave_the_default_executor_to_the_guarded_calls() -> None:
    """With a one-thread default executor, the calls in their slots still get that thread."""
    bulkhead = Bulkhead(1, max_waiting=5, max_wait=2.0)
    served: list[int] = []

    async def work(i: int) -> int:
        await asyncio.to_thread(served.append, i)  # needs the loop's default executor
        return i

    async def one(i: int) -> int | str:
        try:
            return await bulkhead.acall(work, i)
        except BulkheadFull:
            return "full"

    async def main() -> list[int | str]:
        asyncio.get_running_loop().set_default_executor(
            concurrent.futures.ThreadPoolExecutor(max_workers=1)
        )
        return await asyncio.gather(*(one(i) for i in range(5)))

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]
    assert served == [0, 1, 2, 3, 4]  # in the order they came
    stats = bulkhead.stats()
    assert (stats.active, stats.waiting, stats.admitted, stats.rejected) == (0, 0, 5, 0)


def test_threads_and_coroutines_share_one_line() -> None:
    bulkhead = Bulkhead(1, max_waiting=4, max_wait=10.0)
    served: list[str] = []

    async def note(what: str) -> None:
        served.append(what)

    async def main() -> None:
        gate = threading.Event()
        holder = threading.Thread(target=bulkhead.call, args=(gate.wait, 10))
        holder.start()
        until(lambda: bulkhead.active == 1, "the holder in its slot")
        first = asyncio.ensure_future(bulkhead.acall(note, "coroutine 1"))
        await asyncio.sleep(0)
        thread = threading.Thread(target=bulkhead.call, args=(served.append, "thread"))
        thread.start()
        until(lambda: bulkhead.stats().waiting == 2, "the thread in line")
        second = asyncio.ensure_future(bulkhead.acall(note, "coroutine 2"))
        await asyncio.sleep(0)
        assert bulkhead.stats().waiting == 3
        gate.set()
        await asyncio.gather(first, second)
        holder.join()
        thread.join()

    asyncio.run(main())
    assert served == ["coroutine 1", "thread", "coroutine 2"]
    assert bulkhead.stats().active == 0


def test_a_coroutine_whose_wait_runs_out_is_refused_and_leaves_the_line() -> None:
    bulkhead = Bulkhead(1, max_waiting=1, max_wait=0.05)

    async def main() -> None:
        gate = threading.Event()
        holder = threading.Thread(target=bulkhead.call, args=(gate.wait, 10))
        holder.start()
        until(lambda: bulkhead.active == 1, "the holder in its slot")
        with pytest.raises(BulkheadFull):
            await bulkhead.acall(asyncio.sleep, 0, "late")
        assert bulkhead.stats().waiting == 0
        gate.set()
        holder.join()
        assert await bulkhead.acall(asyncio.to_thread, str, "free") == "free"

    asyncio.run(main())
    stats = bulkhead.stats()
    assert (stats.active, stats.waiting, stats.admitted, stats.rejected) == (0, 0, 2, 1)


def test_async_bulkhead_uses_a_slot_handed_over_as_its_wait_runs_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race of Python 3.12+, where ``wait_for`` is ``async with timeout(): await fut``.

    The slot can be handed over in the very loop turn in which the wait's timer fires: the
    future then holds its result and yet TimeoutError is raised. This stand-in for
    ``wait_for`` always ends that way, so the race happens on every run, on every version.
    """

    async def wait_for_racing_the_hand_over(fut: asyncio.Future[None], timeout: float) -> None:
        await fut  # the slot is handed over...
        raise TimeoutError  # ...as the timer fires

    monkeypatch.setattr(asyncio, "wait_for", wait_for_racing_the_hand_over)
    bulkhead = AsyncBulkhead(1, max_waiting=1, max_wait=1.0)

    async def main() -> list[str]:
        gate = asyncio.Event()
        holder = asyncio.ensure_future(bulkhead.acall(gate.wait))
        await asyncio.sleep(0)
        waiter = asyncio.ensure_future(bulkhead.acall(asyncio.to_thread, str, "waited"))
        await asyncio.sleep(0)
        assert bulkhead.stats().waiting == 1
        gate.set()
        await holder
        served = [await waiter]
        served.append(await bulkhead.acall(asyncio.to_thread, str, "after"))
        return served

    assert asyncio.run(main()) == ["waited", "after"]
    stats = bulkhead.stats()
    assert (stats.active, stats.waiting, stats.admitted, stats.rejected) == (0, 0, 3, 0)


def test_a_waiter_whose_loop_was_closed_is_passed_over_not_given_the_slot() -> None:
    bulkhead = Bulkhead(1, max_waiting=5, max_wait=5.0)
    started, done = threading.Event(), threading.Event()
    holder = threading.Thread(target=lambda: bulkhead.call(lambda: (started.set(), done.wait())))
    holder.start()
    started.wait()
    loop = asyncio.new_event_loop()
    task = loop.create_task(bulkhead.acall(asyncio.sleep, 0))
    loop.run_until_complete(asyncio.sleep(0))  # the coroutine is now in line
    assert bulkhead.stats().waiting == 1
    loop.close()  # closed with the task still waiting: it will never run again
    done.set()
    holder.join()
    assert bulkhead.stats().active == 0  # the slot was not handed to the closed loop's waiter
    assert bulkhead.call(lambda: "ran") == "ran"
    del task  # gone with its loop: closing its coroutine must not fail on the line it left
