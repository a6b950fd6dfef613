"""serverless benchmarks: the idempotency layer's overhead per invocation (bare handler, a
fresh event, a duplicate answered from the stored record) and simulated calls per second of the
9 am model.

Run ``pytest benchmarks/bench_serverless.py --benchmark-only`` for figures, or
``--benchmark-disable`` for the quick pass CI makes. ``dpref bench serverless`` prints the table.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.serverless import Idempotency, KeyValueTable, Scenario, simulate

_ids = itertools.count()


def _handler(event: dict[str, Any]) -> dict[str, Any]:
    return {"booked": event["call"]}


@pytest.mark.parametrize("path", ["bare", "fresh", "duplicate"])
def test_idempotency_overhead(benchmark: BenchmarkFixture, path: str) -> None:
    clock = ManualClock()
    layer = Idempotency(KeyValueTable(clock=clock), clock=clock)
    layer.run(_handler, {"call": -1})
    if path == "bare":
        result = benchmark(lambda: _handler({"call": next(_ids)}))
    elif path == "fresh":
        result = benchmark(lambda: layer.run(_handler, {"call": next(_ids)}))
    else:
        result = benchmark(lambda: layer.run(_handler, {"call": -1}))
    assert "booked" in result


def test_simulated_calls_per_second(benchmark: BenchmarkFixture, quick: bool) -> None:
    calls = 500 if quick else 10_000
    scenario = Scenario(calls=calls, burst_seconds=120.0 * calls / 10_000)
    report = benchmark.pedantic(simulate, args=(scenario,), rounds=1 if quick else 3)
    assert report.booked == calls and report.double_bookings == 0
    benchmark.extra_info["calls"] = calls
