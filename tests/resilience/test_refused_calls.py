"""A call the caller got wrong (``fn`` not callable, or a plain function given to ``acall``) is
refused with ResilienceTypeError before the guard acts: no permit, slot, outcome, retry, budget
token or clock tick, and no state change. Compared with a twin guard that never saw the call."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import (
    AsyncBulkhead,
    Bulkhead,
    CallNotPermitted,
    CircuitBreaker,
    Constant,
    Fallback,
    Hedge,
    ResilienceTypeError,
    Retry,
    RetryBudget,
    Timeout,
    compose,
)


def _plain() -> int:
    return 1


async def _ok() -> str:
    return "ok"


async def _fail() -> str:
    raise ConnectionError("down")


def _breaker(clock: ManualClock) -> CircuitBreaker:
    return CircuitBreaker(
        window_size=3,
        minimum_calls=2,
        wait_in_open=5.0,
        half_open_calls=2,
        max_wait_in_half_open=7.0,
        clock=clock,
    )


def _answer(breaker: CircuitBreaker, op: str) -> str:
    def body() -> str:
        if op == "fail":
            raise ConnectionError("down")
        return "ok"

    try:
        return breaker.call(body)
    except CallNotPermitted:
        return "refused"
    except ConnectionError:
        return "failed"


_OPS = st.lists(
    st.one_of(
        st.sampled_from(["ok", "fail", "refuse call", "refuse acall"]),
        st.floats(0.5, 8.0).map(lambda s: ("advance", s)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(ops=_OPS)
def test_a_refused_call_leaves_the_breaker_as_a_twin_that_never_saw_it(ops: list[Any]) -> None:
    clock, twin_clock = ManualClock(), ManualClock()
    breaker, twin = _breaker(clock), _breaker(twin_clock)
    seen: list[object] = []
    breaker.add_listener(seen.append)
    for op in ops:
        if isinstance(op, tuple):
            clock.advance(op[1])
            twin_clock.advance(op[1])
        elif op == "refuse call":
            changes = len(seen)
            with pytest.raises(ResilienceTypeError, match="must be callable"):
                breaker.call(42)  # type: ignore[arg-type]
            assert len(seen) == changes  # no listener heard of a transition
        elif op == "refuse acall":
            with pytest.raises(ResilienceTypeError, match="cannot be awaited"):
                asyncio.run(breaker.acall(_plain))  # type: ignore[arg-type]
        else:
            assert _answer(breaker, op) == _answer(twin, op)
        assert breaker.state is twin.state
        assert breaker.metrics() == twin.metrics()


def _retry_state(guard: Retry) -> object:
    assert guard.budget is not None
    return guard.stats(), guard.budget.balance, guard._clock()


def _hedge_state(guard: Hedge) -> object:
    return guard.calls, guard.hedged, guard.won_by_hedge, guard.current_delay()


def _make_retry() -> Retry:
    return Retry(
        attempts=4, backoff=Constant(1.0), budget=RetryBudget(0.1, reserve=5), clock=ManualClock()
    )


def _make_stack() -> Any:
    clock = ManualClock()
    return compose(
        Fallback(lambda e: "fallback"),
        Retry(attempts=3, backoff=Constant(1.0), clock=clock),
        _breaker(clock),
        Timeout(5.0, clock=clock),
    )


def _stack_state(stack: Any) -> object:
    fallback, retry, breaker, timeout = stack.guards
    return fallback.used, retry.stats(), breaker.metrics(), timeout.timeouts, retry._clock()


GUARDS: dict[str, tuple[Callable[[], Any], Callable[[Any], object]]] = {
    "CircuitBreaker": (lambda: _breaker(ManualClock()), lambda g: g.metrics()),
    "Retry": (_make_retry, _retry_state),
    "Bulkhead": (lambda: Bulkhead(max_concurrent=1, max_wait=0.0), lambda g: g.stats()),
    "AsyncBulkhead": (lambda: AsyncBulkhead(max_concurrent=1), lambda g: g.stats()),
    "Hedge": (lambda: Hedge(delay=0.01), _hedge_state),
    "Fallback": (lambda: Fallback(lambda e: "fallback"), lambda g: g.used),
    "Timeout": (lambda: Timeout(1.0), lambda g: g.timeouts),
    "Stack": (_make_stack, _stack_state),
}


@pytest.mark.parametrize("name", sorted(GUARDS))
def test_acall_refuses_a_plain_function_before_the_guard_acts(name: str) -> None:
    make, state = GUARDS[name]
    guard = make()
    before = state(guard)
    for fn in (_plain, lambda: "a str", 42):
        with pytest.raises(ResilienceTypeError, match=rf"{name}\.acall: fn=") as info:
            asyncio.run(guard.acall(fn))
        assert not isinstance(info.value.__cause__, TypeError)  # refused, not a failed await
        assert state(guard) == before
    assert asyncio.run(guard.acall(_ok)) in ("ok", "fallback")  # and it works on


def test_a_synchronous_raise_in_acall_is_still_the_calls_outcome() -> None:
    breaker = _breaker(ManualClock())

    def raises_as_called() -> Any:
        raise ConnectionError("down")

    for _ in range(2):
        with pytest.raises(ConnectionError):
            asyncio.run(breaker.acall(raises_as_called))
    assert breaker.metrics().failures == 2 and breaker.state.value == "open"


@pytest.mark.parametrize("guard", ["breaker", "bulkhead"])
def test_a_call_refused_by_the_guard_never_runs_its_coroutine(guard: str) -> None:
    ran: list[str] = []

    async def body() -> str:
        ran.append("ran")
        return "ok"

    async def scenario() -> None:
        if guard == "breaker":
            breaker = _breaker(ManualClock())
            for _ in range(2):
                with pytest.raises(ConnectionError):
                    await breaker.acall(_fail)
            with pytest.raises(CallNotPermitted):
                await breaker.acall(body)
        else:
            bulkhead = AsyncBulkhead(max_concurrent=1, max_waiting=0)
            gate = asyncio.Event()
            holder = asyncio.ensure_future(bulkhead.acall(gate.wait))
            await asyncio.sleep(0)
            with pytest.raises(Exception, match="full"):
                await bulkhead.acall(body)
            gate.set()
            await holder

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "coroutine ... was never awaited"
        asyncio.run(scenario())
        gc.collect()
    assert ran == []


@pytest.mark.redis
def test_the_redis_breaker_refuses_a_plain_function_before_asking_redis(redis_url: str) -> None:
    import redis

    from designpatterns_ref.resilience.redis import RedisCircuitBreaker

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    client.flushall()
    clock = ManualClock(100.0)
    breaker = RedisCircuitBreaker(
        client, name="plain", window_size=2, minimum_calls=2, wait_in_open=5.0, clock=clock
    )
    for _ in range(2):
        with pytest.raises(ConnectionError):
            asyncio.run(breaker.acall(_fail))
    clock.advance(6.0)  # the next permitted call would move it to half-open
    before = {k: client.dump(k) for k in client.keys("*")}
    with pytest.raises(ResilienceTypeError, match=r"RedisCircuitBreaker\.acall: fn="):
        asyncio.run(breaker.acall(_plain))  # type: ignore[arg-type]
    assert {k: client.dump(k) for k in client.keys("*")} == before
    assert breaker.state.value == "open"
