"""``dpref bench serverless``: the idempotency layer's overhead per invocation, and simulated
calls per second of the 9 am model."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from designpatterns_ref.benchkit import Table
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.serverless.idempotency import Idempotency
from designpatterns_ref.serverless.loadlevel import Scenario, simulate
from designpatterns_ref.serverless.table import KeyValueTable

__all__ = ["bench_steps", "idempotency_overhead", "simulated_calls_per_second"]


def _handler(event: dict[str, Any]) -> dict[str, Any]:
    return {"booked": event["call"]}


def idempotency_overhead(n: int, repeat: int = 5) -> tuple[float, float, float]:
    """Median microseconds per call: bare handler, first (fresh) call, duplicate call."""
    bare: list[float] = []
    fresh: list[float] = []
    dup: list[float] = []
    for _ in range(repeat):
        clock = ManualClock()
        layer = Idempotency(KeyValueTable(clock=clock), clock=clock)
        events = [{"call": i, "patient": f"p{i}"} for i in range(n)]
        t = time.perf_counter()
        for e in events:
            _handler(e)
        bare.append((time.perf_counter() - t) / n * 1e6)
        for sink in (fresh, dup):
            t = time.perf_counter()
            for e in events:
                layer.run(_handler, e)
            sink.append((time.perf_counter() - t) / n * 1e6)
    med = sorted(bare)[repeat // 2], sorted(fresh)[repeat // 2], sorted(dup)[repeat // 2]
    return med


def simulated_calls_per_second(calls: int, repeat: int = 3) -> float:
    """Median calls simulated per wall-clock second, the default 9 am scenario."""
    rates = []
    for seed in itertools.islice(itertools.count(1), repeat):
        t = time.perf_counter()
        simulate(Scenario(calls=calls, burst_seconds=120.0 * calls / 10_000, seed=seed))
        rates.append(calls / (time.perf_counter() - t))
    return sorted(rates)[repeat // 2]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench serverless`` runs, each returning its tables."""

    def overhead() -> list[Table]:
        n = 200 if quick else 5000
        table = Table(f"idempotency layer, {n} events, SQLite in memory",
                      ["path", "us/call (median of 5)"])  # fmt: skip
        bare, fresh, dup = idempotency_overhead(n)
        table.add("bare handler", round(bare, 2))
        table.add("first call (claim + complete)", round(fresh, 1))
        table.add("duplicate (stored response)", round(dup, 1))
        return [table]

    def simulation() -> list[Table]:
        calls = 1000 if quick else 10_000
        table = Table("9 am model, default scenario", ["calls", "simulated calls/s (median)"])
        table.add(calls, round(simulated_calls_per_second(calls)))
        return [table]

    return [("idempotency overhead", overhead), ("simulation speed", simulation)]
