"""resilience benchmarks: overhead per successful call of each guard, beside the peers.

Run ``pytest benchmarks/bench_resilience.py --benchmark-only`` for figures: each benchmark
times one pass of 200 calls of a no-op function through a guard (divide by 200 for µs per
call, and subtract the ``no-op`` row for the overhead; tenacity's pass is 10 calls), with
``pybreaker``, ``circuitbreaker`` and ``tenacity`` in the same run (the ``bench`` extra installs
them).
``--benchmark-disable`` is the quick correctness pass CI makes. ``dpref bench resilience``
prints the summary tables (overheads, the chaos availability tables, the contention study)
from :mod:`designpatterns_ref.resilience._bench`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.resilience import CircuitBreaker, Retry, compose
from designpatterns_ref.resilience._bench import (
    anoop,
    bench_chaos,
    bench_contention,
    bench_overhead,
    contenders,
    full_stack,
)

N = 200  # short batches: a long one is often preempted on a busy machine
CONTENDERS = contenders()


def loop(fn: Callable[[], object], n: int = N) -> Callable[[], None]:
    def run() -> None:
        for _ in range(n):
            fn()

    return run


@pytest.mark.parametrize("name", list(CONTENDERS))
def test_overhead_per_call(benchmark: BenchmarkFixture, quick: bool, name: str) -> None:
    n = N // 20 if name.startswith("tenacity") else N  # tenacity is ~30x slower per call
    n = 10 if quick else n
    benchmark(loop(CONTENDERS[name], n))


def test_full_stack_async(benchmark: BenchmarkFixture, quick: bool) -> None:
    stack = full_stack()

    async def batch() -> None:
        for _ in range(10 if quick else N // 10):  # 20 awaited calls a pass
            await stack.acall(anoop)
        await asyncio.sleep(0)  # the loop turns, as in any program: cancelled timers are swept

    benchmark(lambda: asyncio.run(batch()))


def test_breaker_still_closed_and_counting() -> None:
    breaker = CircuitBreaker(window_size=10, minimum_calls=10)
    loop(lambda: breaker.call(lambda: None), 50)()
    assert breaker.metrics().successes == 50
    assert compose(Retry(), breaker).call(lambda: 7) == 7


def test_summary_tables(quick: bool) -> None:
    """The tables ``dpref bench resilience`` prints, in quick mode under CI."""
    tables = [*bench_overhead(quick), *bench_chaos(quick), *bench_contention(quick)]
    assert all(t.rows for t in tables)
    names = {row[0] for row in tables[0].rows}
    # every breaker is also timed off the all-successes fast path
    for breaker in ("CircuitBreaker (count window)", "pybreaker", "circuitbreaker"):
        if breaker in names:
            assert f"{breaker}, 1 failure in 50 calls" in names
