"""Bulkheads never admit more than their cap: 16 threads, and 1,000 asyncio tasks."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.resilience import AsyncBulkhead, Bulkhead, BulkheadFull


class Gauge:
    """Counts calls in flight, independently of the bulkhead, and keeps the peak."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


@settings(max_examples=10)
@given(cap=st.integers(1, 6), waiting=st.integers(0, 8))
def test_threads_never_exceed_the_cap(cap: int, waiting: int) -> None:
    bulkhead = Bulkhead(cap, max_waiting=waiting, max_wait=0.5)
    gauge = Gauge()
    outcomes: list[str] = []

    def body() -> None:
        with gauge:
            time.sleep(0.0005)

    def work() -> None:
        for _ in range(25):
            try:
                bulkhead.call(body)
                outcomes.append("ok")
            except BulkheadFull:
                outcomes.append("full")

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = bulkhead.stats()
    assert gauge.peak <= cap
    assert stats.peak <= cap
    assert stats.active == 0 and stats.waiting == 0
    assert stats.admitted == outcomes.count("ok")
    assert stats.rejected == outcomes.count("full")
    assert len(outcomes) == 16 * 25


def test_threads_peak_measured_inside_only() -> None:
    bulkhead = Bulkhead(3, max_waiting=16, max_wait=5.0)
    gauge = Gauge()

    def body() -> None:
        with gauge:
            time.sleep(0.001)

    def work() -> None:
        for _ in range(20):
            bulkhead.call(body)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gauge.peak <= 3
    assert bulkhead.stats().admitted == 320


def test_full_bulkhead_fails_fast_with_a_clear_error() -> None:
    bulkhead = Bulkhead(1)
    inside = threading.Event()
    release = threading.Event()
    worker = threading.Thread(target=lambda: bulkhead.call(lambda: (inside.set(), release.wait(5))))
    worker.start()
    inside.wait(5)
    with pytest.raises(BulkheadFull, match="1 calls running"):
        bulkhead.call(lambda: None)
    release.set()
    worker.join()
    assert bulkhead.call(lambda: "free again") == "free again"


@pytest.mark.parametrize("cls", [AsyncBulkhead, Bulkhead])
def test_a_thousand_tasks_never_exceed_the_cap(cls: type) -> None:
    async def main() -> tuple[int, int, int]:
        bulkhead = cls(7, max_waiting=1000, max_wait=30.0)
        now = peak = 0

        async def body() -> None:
            nonlocal now, peak
            now += 1
            peak = max(peak, now)
            await asyncio.sleep(0)
            now -= 1

        results = await asyncio.gather(
            *(bulkhead.acall(body) for _ in range(1000)), return_exceptions=True
        )
        errors = sum(isinstance(r, BaseException) for r in results)
        return peak, errors, bulkhead.stats().admitted

    peak, errors, admitted = asyncio.run(main())
    assert peak <= 7
    assert errors == 0
    assert admitted == 1000


def test_async_bulkhead_rejects_past_its_queue() -> None:
    async def main() -> list[object]:
        bulkhead = AsyncBulkhead(2, max_waiting=3, max_wait=10.0)
        gate = asyncio.Event()

        async def body() -> str:
            await gate.wait()
            return "ok"

        tasks = [asyncio.ensure_future(bulkhead.acall(body)) for _ in range(8)]
        await asyncio.sleep(0.01)
        gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    assert results.count("ok") == 5
    assert sum(isinstance(r, BulkheadFull) for r in results) == 3
