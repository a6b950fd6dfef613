"""notifications benchmarks: notifications per second end to end in memory, on SQLite and on Redis
Streams with 1 and 4 worker processes; the dedup and cap checks; draining a big campaign.

Run ``pytest benchmarks/bench_notifications.py --benchmark-only`` for figures, or
``--benchmark-disable`` for the quick pass CI makes. ``dpref bench notifications`` prints the
tables (with the 1M-notification campaign).
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import DedupWindow
from designpatterns_ref.notifications._bench import end_to_end, redis_workers
from designpatterns_ref.ratelimit import FixedWindow


@pytest.mark.parametrize("engine", ["memory", "sqlite"])
def test_end_to_end(benchmark: BenchmarkFixture, quick: bool, engine: str) -> None:
    users = (500 if quick else 20_000) if engine == "memory" else (200 if quick else 5_000)
    rate = benchmark.pedantic(end_to_end, args=(users, engine), rounds=1 if quick else 5)
    benchmark.extra_info["notifications/s"] = round(rate)
    assert rate > 0


@pytest.mark.parametrize("workers", [1, 4])
def test_redis_streams(
    benchmark: BenchmarkFixture, quick: bool, redis_srv: Any, workers: int
) -> None:
    users = 200 if quick else 5_000
    rate = benchmark.pedantic(
        redis_workers, args=(redis_srv.url, users, workers), rounds=1 if quick else 3
    )
    benchmark.extra_info["notifications/s"] = round(rate)
    assert rate > 0


def test_dedup_check(benchmark: BenchmarkFixture) -> None:
    dedup = DedupWindow(3600.0, clock=ManualClock())
    ids = iter(range(10**8))
    benchmark(lambda: dedup.deliver(f"n{next(ids)}|tok"))


def test_cap_check(benchmark: BenchmarkFixture) -> None:
    caps = FixedWindow(10**6, per=86400.0, clock=ManualClock())
    users = iter(range(10**8))
    benchmark(lambda: caps.allow(f"user{next(users) % 1000}"))
