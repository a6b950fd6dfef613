"""``dpref bench resilience``: what each guard costs on a call that succeeds, beside the peers.

Steps:

- **overhead**: microseconds per successful call through each guard, over a plain call of the
  same no-op function, measured in one run beside ``pybreaker``, ``circuitbreaker`` and
  ``tenacity`` when installed (the ``bench`` extra): a closed breaker (count and time windows),
  a retry that succeeds first time (with and without a budget), a bulkhead, a cooperative
  timeout, and the full stack (retry, breaker, bulkhead, timeout), sync and asyncio; and the
  cost of one retry with a zero wait, ours beside tenacity's;
- **chaos**: the availability tables of the Chaos Monkey experiment (instances killed) and of
  a dependency outage, for every set of guards;
- **contention**: the AWS backoff-and-jitter study: calls and completion time per policy.

Every time is the median of repeated runs; quick mode shrinks the runs to seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

from designpatterns_ref.benchkit import Table, installed, interpreter, time_per_call
from designpatterns_ref.resilience import (
    Bulkhead,
    CircuitBreaker,
    Constant,
    Retry,
    RetryBudget,
    Timeout,
    compose,
)
from designpatterns_ref.resilience.chaos import availability_table, contention_study

__all__ = [
    "FAIL_EVERY",
    "bench_chaos",
    "bench_contention",
    "bench_overhead",
    "bench_steps",
    "contenders",
    "full_stack",
    "noop",
]


def noop() -> None:
    """The dependency whose cost is measured away: it does nothing."""


async def anoop() -> None:
    """The same, as a coroutine."""


def full_stack() -> Any:
    """Retry, breaker, bulkhead and timeout composed (the figure the targets speak of)."""
    return compose(
        Retry(attempts=3),
        CircuitBreaker(window_size=100, minimum_calls=100),
        Bulkhead(64),
        Timeout(1.0),
    )


class Flaky(Exception):
    """What :func:`boom` raises: the one failure in every :data:`FAIL_EVERY` calls."""


def boom() -> None:
    """A dependency call that fails."""
    raise Flaky("the one failure in the window")


#: In the breaker rows "1 failure in 50 calls", every 50th call goes to :func:`boom`.
FAIL_EVERY = 50


def one_failure_in(
    every: int, call: Callable[[Callable[[], None]], object]
) -> Callable[[], object]:
    """A zero-argument call: ``call(noop)``, but ``call(boom)`` (its failure caught) every
    ``every``-th time. A breaker that opened would raise its own error, which is not caught, so
    the benchmark stops rather than time rejections."""
    count = itertools.count(1)

    def run() -> object:
        if next(count) % every:
            return call(noop)
        try:
            call(boom)
        except Flaky:
            return None
        raise AssertionError("boom() returned")

    return run


def contenders() -> dict[str, Callable[[], object]]:
    """name -> a zero-argument call that runs ``noop`` once through that guard.

    The breakers are timed twice: with every call a success (ours then stays on its fast path,
    a window full of successes) and with one failure in :data:`FAIL_EVERY` calls (each failure
    caught by the loop), beside a baseline that runs the same mix with no breaker.
    """
    fail = f", 1 failure in {FAIL_EVERY} calls"
    breaker = CircuitBreaker(window_size=100, minimum_calls=100)
    timed = CircuitBreaker(window_type="time", window_size=10, minimum_calls=100)
    retry = Retry(attempts=3)
    budgeted = Retry(attempts=3, budget=RetryBudget(0.1))
    bulkhead = Bulkhead(64)
    timeout = Timeout(1.0)
    stack = full_stack()
    out: dict[str, Callable[[], object]] = {
        "no-op (baseline)": lambda: noop(),
        "CircuitBreaker (count window)": lambda: breaker.call(noop),
        "CircuitBreaker (time window)": lambda: timed.call(noop),
        "Retry, first-try success": lambda: retry.call(noop),
        "Retry + budget, first-try success": lambda: budgeted.call(noop),
        "Bulkhead": lambda: bulkhead.call(noop),
        "Timeout (cooperative)": lambda: timeout.call(noop),
        "full stack (retry, breaker, bulkhead, timeout)": lambda: stack.call(noop),
    }
    flaky = CircuitBreaker(window_size=100, minimum_calls=100)
    out[f"no-op{fail} (baseline)"] = one_failure_in(FAIL_EVERY, lambda f: f())
    out[f"CircuitBreaker (count window){fail}"] = one_failure_in(FAIL_EVERY, flaky.call)
    if installed("pybreaker"):
        import pybreaker

        peer = pybreaker.CircuitBreaker(fail_max=100)
        out["pybreaker"] = lambda: peer.call(noop)
        flaky_peer = pybreaker.CircuitBreaker(fail_max=100)
        out[f"pybreaker{fail}"] = one_failure_in(FAIL_EVERY, flaky_peer.call)
    if installed("circuitbreaker"):
        import circuitbreaker

        guarded = circuitbreaker.CircuitBreaker(failure_threshold=100)(noop)
        out["circuitbreaker"] = lambda: guarded()
        flaky_cb = circuitbreaker.CircuitBreaker(failure_threshold=100)
        ok, bad = flaky_cb(noop), flaky_cb(boom)  # decorated once, as in use
        out[f"circuitbreaker{fail}"] = one_failure_in(
            FAIL_EVERY, lambda f: ok() if f is noop else bad()
        )
    if installed("tenacity"):
        import tenacity

        retrying = tenacity.Retrying(stop=tenacity.stop_after_attempt(3))
        out["tenacity, first-try success"] = lambda: retrying(noop)
    return out


def _async_stack_overhead(calls: int, repeat: int) -> tuple[float, float]:
    """Median µs per awaited call: the bare coroutine and the full stack (one event loop)."""
    stack = compose(
        Retry(attempts=3),
        CircuitBreaker(window_size=100, minimum_calls=100),
        Bulkhead(64),
        Timeout(1.0),
    )

    async def run() -> tuple[float, float]:
        bare, guarded = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(calls):
                await anoop()
            bare.append((time.perf_counter() - start) / calls)
            start = time.perf_counter()
            for _ in range(calls):
                await stack.acall(anoop)
            guarded.append((time.perf_counter() - start) / calls)
            # let the loop run once, as any real program does: it sweeps the timers the
            # timeouts armed and cancelled (a loop that never turns lets them pile up)
            await asyncio.sleep(0)
        return statistics.median(bare) * 1e6, statistics.median(guarded) * 1e6

    return asyncio.run(run())


def _per_retry(calls: int, repeat: int) -> list[tuple[str, float]]:
    """µs per extra attempt with a zero wait: a call failing once, minus a first-try success."""
    rows = []
    state = {"n": 0}

    def fails_once() -> None:
        state["n"] += 1
        if state["n"] % 2:
            raise ConnectionError("transient")

    ours = Retry(attempts=3, backoff=Constant(0), sleep=lambda s: None)
    base = time_per_call(lambda: ours.call(noop), number=calls, repeat=repeat)
    once = time_per_call(lambda: ours.call(fails_once), number=calls, repeat=repeat)
    rows.append(("Retry (ours)", (once - base) * 1e6))
    if installed("tenacity"):
        import tenacity

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_none(), sleep=lambda s: None
        )
        n = max(calls // 20, 50)
        base = time_per_call(lambda: retrying(noop), number=n, repeat=repeat)
        once = time_per_call(lambda: retrying(fails_once), number=n, repeat=repeat)
        rows.append(("tenacity", (once - base) * 1e6))
    return rows


def bench_overhead(quick: bool) -> list[Table]:
    """Microseconds per successful call through each guard, over a plain call."""
    # Short batches, many of them: on a busy machine a batch longer than a scheduler time
    # slice is often preempted, which shows up as a second mode far above the true cost; the
    # median of many short batches is the cost of the call.
    calls, repeat = (200, 5) if quick else (200, 301)
    timings = {}
    for name, fn in contenders().items():
        number = calls // 20 if name.startswith("tenacity") else calls
        timings[name] = time_per_call(fn, number=number, repeat=repeat) * 1e6
    base = timings["no-op (baseline)"]
    mixed_base = timings[f"no-op, 1 failure in {FAIL_EVERY} calls (baseline)"]
    table = Table(
        "resilience: overhead per successful call (µs, medians)",
        ["guard", "µs per call", "overhead µs"],
        note=interpreter(),
    )
    for name, micros in timings.items():
        table.add(name, micros, micros - (mixed_base if "failure in" in name else base))
    table.note += (
        f"; rows with 1 failure in {FAIL_EVERY} calls: every {FAIL_EVERY}th call raises and the "
        "loop catches it; their overhead is over the same mix with no breaker"
    )
    bare, guarded = _async_stack_overhead(calls // 10, repeat)  # ~10 µs a call: short batches
    table.add("await no-op (async baseline)", bare, 0.0)
    table.add("full stack, asyncio (acall)", guarded, guarded - bare)
    retries = Table("resilience: cost of one retry with a zero wait (µs)", ["library", "µs"])
    for name, micros in _per_retry(calls, repeat):
        retries.add(name, micros)
    return [table, retries]


def bench_chaos(quick: bool) -> list[Table]:
    """The availability tables: instances killed, and a whole-dependency outage."""
    requests = 600 if quick else 6_000
    tables = []
    for scenario in ("monkey", "outage"):
        table = Table(
            f"resilience: what clients saw, scenario={scenario} ({requests:,} requests, seed 0)",
            [
                "guards",
                "answered %",
                "fallback %",
                "failed %",
                "p50 ms",
                "p99 ms",
                "load x",
                "kills",
            ],
        )
        for row in availability_table(scenario, requests=requests, seed=0):
            e = row.experiment
            table.add(
                row.guards,
                100 * e.ok / e.requests,
                100 * e.degraded / e.requests,
                100 * e.failed / e.requests,
                e.p50 * 1000,
                e.p99 * 1000,
                e.fleet_calls / e.requests,
                row.kills,  # instances the monkey killed during the run
            )
        tables.append(table)
    return tables


def bench_contention(quick: bool) -> list[Table]:
    """The AWS study: total calls and completion time for each backoff policy."""
    counts = (10, 50) if quick else (10, 25, 50, 75, 100)
    study = contention_study(counts, seeds=1 if quick else 3)
    table = Table(
        "resilience: N clients contending for one row (OCC), calls and completion time",
        ["policy", *(f"calls N={n}" for n in counts), *(f"time s N={n}" for n in counts)],
    )
    for name, rows in study.items():
        table.add(name, *(r.calls for r in rows), *(r.completion for r in rows))
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench resilience`` runs, in order."""
    return [
        ("overhead", lambda: bench_overhead(quick)),
        ("chaos", lambda: bench_chaos(quick)),
        ("contention", lambda: bench_contention(quick)),
    ]
