"""RedisCircuitBreaker on a real Redis: the in-memory breaker's decisions, shared by processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Coroutine
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import BreakerState, CallNotPermitted, CircuitBreaker
from designpatterns_ref.resilience.redis import RedisCircuitBreaker

pytestmark = pytest.mark.redis

CONFIG = dict(
    window_size=4,
    minimum_calls=3,
    failure_rate_threshold=50.0,
    wait_in_open=2.0,
    half_open_calls=2,
    record=ConnectionError,
)


def _client(url: str):  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis.from_url(url, socket_timeout=5)


def _step(breaker: object, clock: ManualClock, kind: str) -> str:
    def body() -> str:
        if kind == "fail":
            raise ConnectionError()
        return "ok"

    try:
        breaker.call(body)  # type: ignore[attr-defined]
    except CallNotPermitted:
        return "refused"
    except ConnectionError:
        return "failed"
    return "ok"


class _Forever:
    def __await__(self):  # type: ignore[no-untyped-def]
        yield None  # suspends, and nobody resumes it


def _hang(breaker: Any, held: list[Coroutine[Any, Any, Any]]) -> str:
    """A call that takes its permission and never finishes (it hangs, or its process died)."""

    async def body() -> None:
        await _Forever()

    call = breaker.acall(body)
    try:
        call.send(None)
    except CallNotPermitted:
        return "refused"
    held.append(call)
    return "hung"


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(st.sampled_from(["ok", "fail", "wait", "wait_in_open", "hang"]), max_size=30),
    max_wait=st.sampled_from([1.0, 2.5, 60.0, float("inf")]),
    start=st.sampled_from([0.0, 1765152000.123456, 1.7e9 + 0.987654321]),  # Unix-time scale too
)
@example(
    steps=["fail"] * 3 + ["wait", "wait", "hang", "hang"] + ["wait"] * 4 + ["ok"] * 3,
    max_wait=2.5,
    start=0.0,
)
@example(steps=["fail"] * 3 + ["wait_in_open", "ok"], max_wait=60.0, start=1765152000.123456)
def test_same_decisions_as_the_memory_breaker(
    redis_url: str, steps: list[str], max_wait: float, start: float
) -> None:
    client = _client(redis_url)
    client.flushall()
    clock = ManualClock(start)
    config = {**CONFIG, "max_wait_in_half_open": max_wait}
    memory = CircuitBreaker(**config, clock=clock)  # type: ignore[arg-type]
    shared = RedisCircuitBreaker(client, name="dep", **config, clock=clock)  # type: ignore[arg-type]
    heard: dict[str, list[tuple[str, str]]] = {"memory": [], "shared": []}
    memory.add_listener(lambda c: heard["memory"].append((c.old.value, c.new.value)))
    shared.add_listener(lambda c: heard["shared"].append((c.old.value, c.new.value)))
    held: list[Coroutine[Any, Any, Any]] = []
    for step in steps:
        if step in ("wait", "wait_in_open"):  # the latter exactly to the end of the open wait
            clock.advance(1.5 if step == "wait" else CONFIG["wait_in_open"])  # type: ignore[arg-type]
            continue
        if step == "hang":
            assert _hang(shared, held) == _hang(memory, held)
        else:
            assert _step(shared, clock, step) == _step(memory, clock, step)
        assert shared.state is memory.state
    assert heard["shared"] == heard["memory"]
    for call in held:
        call.close()
    client.close()


DIES = """
import os, signal, sys
import redis
from designpatterns_ref.resilience.redis import RedisCircuitBreaker

breaker = RedisCircuitBreaker(
    redis.Redis.from_url(sys.argv[1]), name="dep", window_size=2, minimum_calls=2,
    wait_in_open=10, half_open_calls=1, clock=lambda: float(sys.argv[2]),
)
breaker.call(lambda: os.kill(os.getpid(), signal.SIGKILL))  # killed inside its trial call
"""


def test_a_process_killed_holding_the_trial_permit_cannot_keep_it_half_open(
    redis_url: str,
) -> None:
    clock = ManualClock()
    kw: dict[str, Any] = dict(
        name="dep", window_size=2, minimum_calls=2, wait_in_open=10, half_open_calls=1
    )
    b = RedisCircuitBreaker(_client(redis_url), **kw, clock=clock)
    seen: list[tuple[str, str, float]] = []
    b.add_listener(lambda c: seen.append((c.old.value, c.new.value, c.at)))
    for _ in range(2):
        _step(b, clock, "fail")
    clock.advance(10)
    dead = subprocess.run([sys.executable, "-c", DIES, redis_url, repr(clock())], timeout=60)
    assert dead.returncode == -signal.SIGKILL
    assert b.state is BreakerState.HALF_OPEN  # the dead process took the only permit
    clock.advance(59.5)
    assert _step(b, clock, "ok") == "refused"
    assert b.state is BreakerState.HALF_OPEN
    clock.advance(0.5)  # 60 s in half-open: the default max_wait_in_half_open
    assert _step(b, clock, "ok") == "refused"
    assert b.state is BreakerState.OPEN
    assert seen[-1] == ("half_open", "open", 70.0)
    clock.advance(10)  # a fresh wait in open, then a fresh trial permit
    assert _step(b, clock, "ok") == "ok"
    assert b.state is BreakerState.CLOSED


def test_two_instances_share_one_breaker(redis_url: str) -> None:
    clock = ManualClock()
    a = RedisCircuitBreaker(_client(redis_url), name="payments", **CONFIG, clock=clock)  # type: ignore[arg-type]
    b = RedisCircuitBreaker(_client(redis_url), name="payments", **CONFIG, clock=clock)  # type: ignore[arg-type]
    seen = []
    b.add_listener(lambda change: seen.append((change.old.value, change.new.value)))
    for _ in range(3):
        _step(a, clock, "fail")
    assert b.state is BreakerState.OPEN  # b never saw a failure itself
    assert _step(b, clock, "ok") == "refused"
    clock.advance(2.0)
    # half-open: exactly two trial calls across both instances
    assert [_step(x, clock, "ok") for x in (a, b)] == ["ok", "ok"]
    assert a.state is BreakerState.CLOSED
    # listeners hear the changes their own instance made: a moved it to half-open, b closed it
    assert seen == [("half_open", "closed")]
    b.reset()


HAMMER = """
import sys
import redis
from designpatterns_ref.resilience import CallNotPermitted
from designpatterns_ref.resilience.redis import RedisCircuitBreaker

breaker = RedisCircuitBreaker(
    redis.Redis.from_url(sys.argv[1]), name="shared-dep", window_size=50, minimum_calls=10
)
refused = 0
for _ in range(20):
    try:
        breaker.call(lambda: (_ for _ in ()).throw(ConnectionError()))
    except CallNotPermitted:
        refused += 1
    except ConnectionError:
        pass
print(refused)
"""


def test_processes_trip_it_together(redis_url: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HAMMER, redis_url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    refused = [int(p.communicate(timeout=60)[0]) for p in procs]
    # 10 failures in all open it (minimum_calls=10, 100% failures): everything after is
    # refused, except what the two other processes had already been permitted at that moment
    assert 60 - 10 - 2 <= sum(refused) <= 60 - 10
    client = _client(redis_url)
    assert RedisCircuitBreaker(client, name="shared-dep").state is BreakerState.OPEN


@pytest.mark.parametrize(
    "bad",
    [float("nan"), float("inf"), float("-inf"), True, "1", None, 10**400],
    ids=["nan", "inf", "-inf", "True", "str", "None", "10**400"],
)
def test_a_clock_gone_wrong_is_refused_before_it_reaches_redis(redis_url: str, bad: Any) -> None:
    """float(clock()) took "1" and True for seconds, and 10**400 raised a bare OverflowError."""
    from designpatterns_ref.resilience import ResilienceError

    client = _client(redis_url)
    client.flushall()
    now: list[Any] = [100.0]
    breaker = RedisCircuitBreaker(client, name="bad", **CONFIG, clock=lambda: now[0])  # type: ignore[arg-type]
    assert _step(breaker, ManualClock(), "ok") == "ok"
    before = {k: client.dump(k) for k in client.keys("*")}
    now[0] = bad
    ran: list[int] = []
    with pytest.raises(ResilienceError, match=r"clock\(\) returned"):
        breaker.call(lambda: ran.append(1))
    assert not ran and {k: client.dump(k) for k in client.keys("*")} == before


def test_a_non_callable_is_refused_and_nothing_is_recorded(redis_url: str) -> None:
    """As the in-memory breaker does: the family's error, and the shared window untouched."""
    import asyncio

    from designpatterns_ref.resilience import ResilienceTypeError

    client = _client(redis_url)
    client.flushall()
    breaker = RedisCircuitBreaker(client, name="typo", **CONFIG)  # type: ignore[arg-type]
    assert _step(breaker, ManualClock(), "ok") == "ok"
    before = {k: client.dump(k) for k in client.keys("*")}
    with pytest.raises(ResilienceTypeError, match=r"RedisCircuitBreaker.call: fn='a str'"):
        breaker.call("a str")  # type: ignore[arg-type]
    with pytest.raises(ResilienceTypeError, match=r"RedisCircuitBreaker.acall: fn=42"):
        asyncio.run(breaker.acall(42))  # type: ignore[arg-type]
    assert {k: client.dump(k) for k in client.keys("*")} == before
    for _ in range(3):  # three refused calls would have opened it, had they counted as failures
        with pytest.raises(ResilienceTypeError):
            breaker.call(None)  # type: ignore[arg-type]
    assert breaker.state is BreakerState.CLOSED


def test_a_call_of_exactly_the_slow_duration_is_not_slow(redis_url: str) -> None:
    """Strictly above the threshold is slow, as in the in-memory breaker and resilience4j."""
    client = _client(redis_url)
    client.flushall()
    clock = ManualClock()
    breaker = RedisCircuitBreaker(
        client, name="edge", window_size=1, minimum_calls=1, slow_call_rate_threshold=100.0,
        slow_call_duration=1.0, clock=clock,
    )  # fmt: skip

    def taking(seconds: float) -> str:
        clock.advance(seconds)
        return "ok"

    assert breaker.call(taking, 1.0) == "ok"
    assert breaker.state is BreakerState.CLOSED  # one call, not slow: a 0% slow-call rate
    assert breaker.call(taking, 1.0 + 2**-40) == "ok"
    assert breaker.state is BreakerState.OPEN  # one call, slow: 100%
