"""Timeout, Fallback, Hedge and compose: each does what it says, sync and asyncio."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import (
    ORDER,
    Bulkhead,
    CallNotPermitted,
    CallTimeout,
    CircuitBreaker,
    Constant,
    Fallback,
    Hedge,
    ResilienceError,
    ResilienceTypeError,
    Retry,
    Timeout,
    compose,
    remaining,
)


def test_cooperative_timeout_gives_the_callee_its_deadline() -> None:
    clock = ManualClock()
    outer = Timeout(5.0, clock=clock)
    inner = Timeout(2.0, clock=clock)
    assert remaining() == float("inf")
    assert outer.call(lambda: inner.call(remaining)) == 2.0
    assert inner.call(lambda: outer.call(remaining)) == 2.0  # the tighter deadline wins
    with pytest.raises(CallTimeout):
        outer.call(clock.advance, 6.0)
    assert outer.timeouts == 1


def test_thread_timeout_frees_the_caller_though_the_thread_runs_on() -> None:
    guard = Timeout(0.05, mode="thread")
    release = threading.Event()
    finished = threading.Event()

    def stuck() -> None:
        release.wait(10)
        finished.set()

    with pytest.raises(CallTimeout):
        guard.call(stuck)
    assert not finished.is_set()  # a thread cannot be killed: it is still running
    release.set()
    assert finished.wait(10)
    assert Timeout(10.0, mode="thread").call(lambda: "quick") == "quick"


def test_thread_timeouts_do_not_share_workers() -> None:
    """Workers hung on one dependency fill that guard's pool only, not another guard's."""
    payments = Timeout(0.05, mode="thread", max_workers=2)
    inventory = Timeout(5.0, mode="thread", max_workers=2)
    release = threading.Event()
    try:
        for _ in range(2):  # every worker of the payments guard is now stuck
            with pytest.raises(CallTimeout):
                payments.call(release.wait, 10)
        with pytest.raises(CallTimeout):  # its own cap still holds: no worker is free
            payments.call(lambda: "queued behind the stuck ones")
        assert inventory.call(lambda: "inventory ok") == "inventory ok"
        assert inventory.timeouts == 0
    finally:
        release.set()


def test_async_timeout_cancels_and_keeps_the_callees_own_timeout_error() -> None:
    guard = Timeout(0.05)

    async def forever() -> None:
        await asyncio.sleep(3600)

    async def own() -> None:
        raise TimeoutError("the callee's own")

    with pytest.raises(CallTimeout):
        asyncio.run(guard.acall(forever))
    with pytest.raises(TimeoutError, match="own") as info:
        asyncio.run(guard.acall(own))
    assert not isinstance(info.value, CallTimeout)


def test_fallback_answers_for_stated_failures_only() -> None:
    fallback = Fallback(lambda error: f"cached ({type(error).__name__})", on=ConnectionError)
    assert fallback.call(lambda: "live") == "live"

    def down() -> None:
        raise ConnectionRefusedError()

    assert fallback.call(down) == "cached (ConnectionRefusedError)"
    with pytest.raises(ValueError):
        fallback.call(lambda: int("x"))
    assert fallback.used == 1

    async def adown() -> None:
        raise ConnectionError()

    async def handler(error: BaseException) -> str:
        return "async default"

    assert asyncio.run(Fallback(handler).acall(adown)) == "async default"


def test_hedge_takes_the_first_answer_sync() -> None:
    hedge = Hedge(delay=0.01)
    release = threading.Event()
    calls = []
    lock = threading.Lock()

    def request() -> str:
        with lock:
            calls.append(1)
            first = len(calls) == 1
        if first:
            release.wait(10)  # the first copy is stuck (a GC pause, a dead instance)
            return "slow"
        return "fast"

    assert hedge.call(request) == "fast"
    assert hedge.hedged == 1 and hedge.won_by_hedge == 1
    release.set()


def test_hedge_async_cancels_the_loser_and_survives_one_failure() -> None:
    async def main() -> tuple[str, str, bool]:
        hedge = Hedge(delay=0.01)
        state = {"n": 0}
        cancelled = asyncio.Event()

        async def request() -> str:
            state["n"] += 1
            if state["n"] == 1:
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    cancelled.set()
                    raise
            return "fast"

        first = await hedge.acall(request)
        await asyncio.sleep(0)
        hedged = asyncio.Event()  # set when the second copy starts
        first_failed = asyncio.Event()
        copies = {"n": 0}

        async def flaky() -> str:
            copies["n"] += 1
            if copies["n"] == 1:  # held until the hedge is sent, then fails
                await hedged.wait()
                first_failed.set()
                raise ConnectionError("first copy fails")
            hedged.set()
            await first_failed.wait()  # answers only after the first copy has failed
            return "second copy"

        second = await hedge.acall(flaky)
        return first, second, cancelled.is_set()

    first, second, cancelled = asyncio.run(main())
    assert (first, second, cancelled) == ("fast", "second copy", True)


def test_hedge_async_caller_cancelled_during_the_delay_cancels_the_first_copy() -> None:
    """A caller that gives up before the hedge is sent leaves no copy running on."""

    async def main() -> list[str]:
        hedge = Hedge(delay=3600.0)
        started, release = asyncio.Event(), asyncio.Event()
        outcome: list[str] = []

        async def charge() -> str:
            started.set()
            try:
                await release.wait()
            except asyncio.CancelledError:
                outcome.append("cancelled")
                raise
            outcome.append("charged")  # the side effect the caller no longer waits for
            return "charged"

        caller = asyncio.ensure_future(hedge.acall(charge))
        await started.wait()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        release.set()
        for _ in range(10):
            await asyncio.sleep(0)
        return outcome

    assert asyncio.run(main()) == ["cancelled"]


def test_hedge_delay_follows_the_percentile() -> None:
    hedge = Hedge(percentile=95, window=100, min_samples=20, initial_delay=0.5)
    assert hedge.current_delay() == 0.5
    for i in range(100):
        hedge._observe(i / 1000, False, False)
    assert hedge.current_delay() == 0.094  # the 95th of 0.000 .. 0.099, by nearest rank


def test_compose_orders_the_guards_and_explains() -> None:
    clock = ManualClock()
    guards = [
        Timeout(1.0, clock=clock),
        Bulkhead(2),
        CircuitBreaker(clock=clock),
        Retry(attempts=2, clock=clock),
        Fallback(lambda e: "fb"),
        Hedge(delay=1.0),
    ]
    stack = compose(*guards)
    assert [g.kind for g in stack.guards] == list(ORDER)
    assert stack.describe() == [
        "Fallback", "Retry", "CircuitBreaker", "Hedge", "Bulkhead", "Timeout"
    ]  # fmt: skip


def test_retry_outside_the_breaker_stops_hammering_once_it_opens() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(window_size=2, minimum_calls=2, wait_in_open=60, clock=clock)
    retry = Retry(attempts=10, backoff=Constant(0.1), on=(ConnectionError, CallNotPermitted),
                  clock=clock)  # fmt: skip
    stack = compose(breaker, retry)
    hits = []

    def down() -> None:
        hits.append(clock())
        raise ConnectionError()

    with pytest.raises(CallNotPermitted):
        stack.call(down)
    assert len(hits) == 2  # the breaker opened after two failures; eight attempts failed fast


def test_compose_refuses_nonsense() -> None:
    with pytest.raises(ResilienceError):
        compose()
    with pytest.raises(ResilienceTypeError):
        compose(object())
    with pytest.raises(ResilienceError, match="two retry"):
        compose(Retry(), Retry())
    with pytest.raises(ResilienceError, match="could never fire"):
        compose(Retry(deadline=1.0), Timeout(5.0))
    with pytest.raises(ResilienceError):
        Retry(attempts=0)
    with pytest.raises(ResilienceError):
        CircuitBreaker(wait_in_open=-1)


def test_stack_async_and_decorator() -> None:
    clock = ManualClock()
    stack = compose(Retry(attempts=3, backoff=Constant(0.5), clock=clock), Timeout(1.0))
    failures = [ConnectionError()]

    @stack
    async def fetch() -> str:
        if failures:
            raise failures.pop()
        return "ok"

    assert asyncio.run(fetch()) == "ok"
    assert clock() == 0.5
    assert stack.call(lambda x: x + 1, 1) == 2


@settings(max_examples=100, deadline=None)
@given(window=st.integers(1, 40), min_samples=st.integers(1, 40))
def test_an_adaptive_hedge_either_adapts_or_is_refused(window: int, min_samples: int) -> None:
    """A Hedge without a fixed delay is accepted exactly when its window can hold
    ``min_samples`` latencies, and then, once that many calls answered, it hedges at their
    percentile (here 0: the clock never moves), not at ``initial_delay`` for ever."""
    clock = ManualClock()
    try:
        hedge = Hedge(window=window, min_samples=min_samples, initial_delay=0.5, clock=clock)
    except ResilienceError as exc:
        assert min_samples > window
        assert f"min_samples={min_samples}" in str(exc) and f"window={window}" in str(exc)
        return
    assert min_samples <= window
    for _ in range(min_samples):
        hedge.call(lambda: None)
    assert hedge.current_delay() == 0.0
    assert Hedge(delay=0.1, window=window, min_samples=window + 1).current_delay() == 0.1
