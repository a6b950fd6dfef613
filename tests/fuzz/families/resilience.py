"""resilience: every guard's constructor and calls, the backoff policies, and the chaos tools."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import (
    AsyncBulkhead,
    Bulkhead,
    CircuitBreaker,
    Constant,
    DecorrelatedJitter,
    EqualJitter,
    Exponential,
    Fallback,
    FullJitter,
    Hedge,
    ResilienceError,
    Retry,
    RetryBudget,
    Timeout,
    compose,
    retry_after_hint,
)
from designpatterns_ref.resilience.chaos import (
    ChaosProxy,
    EchoServer,
    FaultSchedule,
    Fleet,
    Latency,
    Phase,
    Toxic,
    contention_study,
    run_experiment,
    simulate_contention,
)
from designpatterns_ref.resilience.chaos.monkey import ChaosMonkey
from tests.fuzz.spec import Entry

ERRORS = (ResilienceError,)
NOT_FUZZED: dict[str, str] = {
    "Stack": "built by compose (fuzzed), which checks the guards and their order",
    "BreakerState": "the enum CircuitBreaker.state returns; users compare against its members",
    "BreakerMetrics": "a snapshot CircuitBreaker.metrics returns; users read it",
    "StateChange": "what CircuitBreaker hands its listeners; users read it",
    "BulkheadStats": "the counters Bulkhead.stats and AsyncBulkhead.stats return; users read them",
    "RetryEvent": "what Retry hands its listeners; users read it",
    "RetryStats": "the counters Retry.stats returns; users read them",
}


def _acall(guard: Any, fn: Any) -> object:
    """Run ``guard.acall(fn)`` to completion on a fresh event loop."""
    return asyncio.run(guard.acall(fn))


class _Hinted(Exception):
    """A failure carrying a ``retry_after`` hint, as a throttled server's error does."""

    def __init__(self, hint: object) -> None:
        super().__init__("throttled")
        self.retry_after = hint


def _kwargs_entries(name: str, build: Any, ok: dict[str, Any]) -> list[Entry]:
    """One entry per keyword argument of a constructor, every other argument valid."""
    return [
        Entry(f"{name}({arg}=)", call=lambda _, v, arg=arg: build(**{**ok, arg: v})) for arg in ok
    ]


def _breaker() -> CircuitBreaker:
    return CircuitBreaker(window_size=4, minimum_calls=2, clock=ManualClock())


def _retry() -> Retry:
    return Retry(attempts=2, backoff=Constant(0), budget=RetryBudget(0.5), clock=ManualClock())


BREAKER_OK: dict[str, Any] = {
    "failure_rate_threshold": 50.0,
    "slow_call_rate_threshold": 100.0,
    "slow_call_duration": 1.0,
    "window_type": "count",
    "window_size": 4,
    "minimum_calls": 2,
    "wait_in_open": 1.0,
    "half_open_calls": 1,
    "max_wait_in_half_open": 5.0,
    "record": Exception,
    "ignore": (),
    "name": "b",
}
RETRY_OK: dict[str, Any] = {
    "attempts": 2,
    "backoff": Constant(0),
    "on": Exception,
    "on_result": None,
    "attempt_timeout": None,
    "deadline": None,
    "budget": None,
    "retry_after": None,
    "timeout_mode": "cooperative",
    "timeout_workers": 2,
    "seed": 1,
}
HEDGE_OK: dict[str, Any] = {
    "delay": None,
    "percentile": 95.0,
    "window": 10,
    "min_samples": 2,
    "initial_delay": 0.1,
    "max_workers": 2,
}
PHASE_OK: dict[str, Any] = {
    "start": 0.0,
    "end": 1.0,
    "latency": None,
    "error_rate": 0.0,
    "blackhole": False,
    "killed": False,
}
TOXIC_OK: dict[str, Any] = {
    "name": "t",
    "kind": "latency",
    "direction": "downstream",
    "latency": 0.0,
    "jitter": 0.0,
    "rate": 0.0,
    "timeout": 0.0,
}
EXPERIMENT_OK: dict[str, Any] = {
    "guards": "timeout",
    "scenario": "steady",
    "requests": 5,
    "rate": 2.0,
    "blast_radius": 1.0,
    "fleet_size": 2,
    "mean_interval": 60.0,
    "seed": 0,
}
RNG = random.Random(0)

ENTRIES = [
    *_kwargs_entries("CircuitBreaker", CircuitBreaker, BREAKER_OK),
    Entry("CircuitBreaker(clock=)", call=lambda _, v: CircuitBreaker(clock=v)),
    Entry("CircuitBreaker.call(fn)", call=lambda b, v: b.call(v), make=_breaker),
    Entry("CircuitBreaker.add_listener", call=lambda b, v: b.add_listener(v), make=_breaker),
    Entry("CircuitBreaker(fn) decorator", call=lambda b, v: b(v), make=_breaker),
    *_kwargs_entries("Retry", Retry, RETRY_OK),
    Entry("Retry(clock=)", call=lambda _, v: Retry(clock=v)),
    Entry("Retry(sleep=)", call=lambda _, v: Retry(sleep=v)),
    Entry("Retry.call(fn)", call=lambda r, v: r.call(v), make=_retry),
    Entry("Retry.add_listener", call=lambda r, v: r.add_listener(v), make=_retry),
    Entry("RetryBudget(ratio=)", call=lambda _, v: RetryBudget(v)),
    Entry("RetryBudget(reserve=)", call=lambda _, v: RetryBudget(0.1, reserve=v)),
    *(
        Entry(f"{cls.__name__}({arg}=)", call=lambda _, v, cls=cls, arg=arg: cls(**{arg: v}))
        for cls in (Exponential, FullJitter, EqualJitter, DecorrelatedJitter)
        for arg in ("base", "cap")
    ),
    Entry("Exponential(multiplier=)", call=lambda _, v: Exponential(multiplier=v)),
    Entry("Constant(wait=)", call=lambda _, v: Constant(v)),
    *(
        Entry(f"{p.__name__}.delay(attempt)", call=lambda _, v, p=p: p().delay(v, 0.1, RNG))
        for p in (Constant, Exponential, FullJitter, EqualJitter, DecorrelatedJitter)
    ),
    Entry(
        "DecorrelatedJitter.delay(previous)",
        call=lambda _, v: DecorrelatedJitter().delay(0, v, RNG),
    ),
    *(
        Entry(
            f"{cls.__name__}({arg}=)",
            call=lambda _, v, cls=cls, arg=arg: cls(**{"max_concurrent": 2, arg: v}),
        )
        for cls in (Bulkhead, AsyncBulkhead)
        for arg in ("max_concurrent", "max_waiting", "max_wait")
    ),
    Entry("Bulkhead.call(fn)", call=lambda b, v: b.call(v), make=lambda: Bulkhead(2)),
    Entry("AsyncBulkhead.call(fn)", call=lambda b, v: b.call(v), make=lambda: AsyncBulkhead(2)),
    Entry("Timeout(seconds=)", call=lambda _, v: Timeout(v)),
    Entry("Timeout(mode=)", call=lambda _, v: Timeout(1.0, mode=v)),
    Entry("Timeout(max_workers=)", call=lambda _, v: Timeout(1.0, max_workers=v)),
    Entry(
        "Timeout.call(fn)",
        call=lambda t, v: t.call(v),
        make=lambda: Timeout(1.0, clock=ManualClock()),
    ),
    Entry("Fallback(handler=)", call=lambda _, v: Fallback(v)),
    Entry("Fallback(on=)", call=lambda _, v: Fallback(repr, on=v)),
    Entry("Fallback.call(fn)", call=lambda f, v: f.call(v), make=lambda: Fallback(repr)),
    *_kwargs_entries("Hedge", Hedge, HEDGE_OK),
    Entry("Hedge.call(fn)", call=lambda h, v: h.call(v), make=lambda: Hedge(delay=0.01)),
    Entry("compose(guard)", call=lambda _, v: compose(v)),
    Entry("compose(retry, guard)", call=lambda _, v: compose(Retry(), v)),
    Entry(
        "Stack.call(fn)", call=lambda s, v: s.call(v), make=lambda: compose(_retry(), _breaker())
    ),
    *_kwargs_entries("Phase", Phase, PHASE_OK),
    Entry("Latency(kind=)", call=lambda _, v: Latency(v, 0.1, 0.2)),
    Entry("Latency(a=)", call=lambda _, v: Latency("uniform", v, 1.0)),
    Entry("Latency(b=)", call=lambda _, v: Latency("uniform", 0.0, v)),
    Entry("FaultSchedule(phases=)", call=lambda _, v: FaultSchedule(v)),
    Entry("FaultSchedule(seed=)", call=lambda _, v: FaultSchedule(seed=v)),
    Entry("FaultSchedule(hang=)", call=lambda _, v: FaultSchedule(hang=v)),
    Entry("FaultSchedule.inject(fn)", call=lambda s, v: s.inject(v), make=lambda: FaultSchedule()),
    *_kwargs_entries("Toxic", Toxic, TOXIC_OK),
    Entry("ChaosProxy(upstream=)", call=lambda _, v: ChaosProxy(v)),
    Entry("ChaosProxy(upstream port)", call=lambda _, v: ChaosProxy(("127.0.0.1", v))),
    Entry("ChaosProxy(host=)", call=lambda _, v: ChaosProxy(("127.0.0.1", 1), host=v)),
    Entry("ChaosProxy(seed=)", call=lambda _, v: ChaosProxy(("127.0.0.1", 1), seed=v)),
    Entry(
        "ChaosProxy.add_toxic",
        call=lambda p, v: p.add_toxic(v),
        make=lambda: ChaosProxy(("127.0.0.1", 1)),
    ),
    Entry(
        "ChaosProxy.remove_toxic",
        call=lambda p, v: p.remove_toxic(v),
        make=lambda: ChaosProxy(("127.0.0.1", 1)),
    ),
    Entry(
        "ChaosProxy.set_enabled",
        call=lambda p, v: p.set_enabled(v),
        make=lambda: ChaosProxy(("127.0.0.1", 1)),
    ),
    Entry("EchoServer(port=)", call=lambda _, v: EchoServer(port=v)),
    Entry("Fleet(size=)", call=lambda _, v: Fleet(v, clock=ManualClock())),
    Entry("Fleet(clock=)", call=lambda _, v: Fleet(2, clock=v)),
    Entry("Fleet(error_rate=)", call=lambda _, v: Fleet(2, clock=ManualClock(), error_rate=v)),
    Entry("Fleet(latency=)", call=lambda _, v: Fleet(2, clock=ManualClock(), latency=v)),
    Entry("ChaosMonkey(fleet=)", call=lambda _, v: ChaosMonkey(v)),
    *_kwargs_entries("run_experiment", run_experiment, EXPERIMENT_OK),
    Entry("simulate_contention(clients=)", call=lambda _, v: simulate_contention(v, FullJitter())),
    Entry("simulate_contention(policy=)", call=lambda _, v: simulate_contention(2, v)),
    Entry(
        "simulate_contention(seed=)", call=lambda _, v: simulate_contention(2, FullJitter(), seed=v)
    ),
    Entry("contention_study(client_counts=)", call=lambda _, v: contention_study(v, seeds=1)),
    *(
        Entry(f"{p.__name__}.bounds(attempt)", call=lambda _, v, p=p: p().bounds(v, 0.1))
        for p in (Constant, Exponential, FullJitter, EqualJitter, DecorrelatedJitter)
    ),
    *(
        Entry(f"{p.__name__}.bounds(previous)", call=lambda _, v, p=p: p().bounds(0, v))
        for p in (Constant, Exponential, FullJitter, EqualJitter, DecorrelatedJitter)
    ),
    Entry("retry_after_hint(outcome)", call=lambda _, v: retry_after_hint(v)),
    Entry("retry_after_hint(outcome.retry_after)", call=lambda _, v: retry_after_hint(_Hinted(v))),
    Entry("CircuitBreaker.acall(fn)", call=_acall, make=_breaker),
    Entry("Retry.acall(fn)", call=_acall, make=_retry),
    Entry("Bulkhead.acall(fn)", call=_acall, make=lambda: Bulkhead(2)),
    Entry("AsyncBulkhead.acall(fn)", call=_acall, make=lambda: AsyncBulkhead(2)),
    Entry("Timeout.acall(fn)", call=_acall, make=lambda: Timeout(1.0, clock=ManualClock())),
    Entry("Fallback.acall(fn)", call=_acall, make=lambda: Fallback(repr)),
    Entry("Hedge.acall(fn)", call=_acall, make=lambda: Hedge(delay=0.01)),
    Entry("Stack.acall(fn)", call=_acall, make=lambda: compose(_retry(), _breaker())),
]
