"""Clinical NEWS2: validated scores per second from Python, and the HTTP API under load.

Targets (issue 9): at most 5 µs per validated score from Python; requests per second and
latency percentiles against a local server from a load generator on loopback.

Run the figures: ``pytest benchmarks/bench_clinical.py --benchmark-only`` (add ``-s`` to see
the load generator's table); CI runs it once with ``--benchmark-disable`` (quick mode).
"""

from __future__ import annotations

import itertools
import json

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.benchkit import percentile
from designpatterns_ref.clinical import NEWS2, VitalsError, assess, news2
from designpatterns_ref.clinical._bench import api_server, hand_coded_news2, load, observations


@pytest.fixture(scope="module")
def workload(quick: bool) -> list[dict[str, object]]:
    return observations(500 if quick else 10_000)


def test_news2_score(benchmark: BenchmarkFixture, workload: list[dict[str, object]]) -> None:
    cycle = itertools.cycle(workload)
    result = benchmark(lambda: news2.score(**next(cycle)))  # type: ignore[arg-type]
    assert 0 <= result.total <= 20


def test_assess(benchmark: BenchmarkFixture, workload: list[dict[str, object]]) -> None:
    cycle = itertools.cycle(workload)
    result = benchmark(lambda: assess(NEWS2, next(cycle)))
    assert result.risk is not None


def test_assess_interpreted(benchmark: BenchmarkFixture, workload: list[dict[str, object]]) -> None:
    cycle = itertools.cycle(workload)
    result = benchmark(lambda: assess(NEWS2, next(cycle), use_fast_path=False))
    assert result.risk is not None


def test_invalid_refused(benchmark: BenchmarkFixture, workload: list[dict[str, object]]) -> None:
    cycle = itertools.cycle([{**o, "temperature": 98.6} for o in workload[:100]])

    def refuse() -> int:
        try:
            assess(NEWS2, next(cycle))
        except VitalsError as err:
            return len(err.problems)
        raise AssertionError("scored an invalid request")

    assert benchmark(refuse) == 1


def test_hand_coded_baseline(
    benchmark: BenchmarkFixture, workload: list[dict[str, object]]
) -> None:
    cycle = itertools.cycle(workload)
    assert 0 <= benchmark(lambda: hand_coded_news2(**next(cycle))) <= 20  # type: ignore[arg-type]


def test_http_load(benchmark: BenchmarkFixture, quick: bool) -> None:
    pytest.importorskip("uvicorn")
    pytest.importorskip("fastapi")
    bodies = [json.dumps(o).encode() for o in observations(200)]
    requests, concurrency = (200, 4) if quick else (5_000, 8)
    with api_server() as server:
        load(server.port, bodies, concurrency=2, requests=20, seconds=5)  # warm up
        report = benchmark.pedantic(
            lambda: load(server.port, bodies, concurrency=concurrency, requests=requests, seconds=30),  # noqa: E501
            rounds=1 if quick else 3, iterations=1,
        )  # fmt: skip
    ms = [x * 1000 for x in report.latencies]
    print(
        f"\nNEWS2 API, {len(ms)} requests at concurrency {concurrency}: {report.rps:.0f} req/s, "
        f"p50 {percentile(ms, 50):.2f} ms, p90 {percentile(ms, 90):.2f} ms, "
        f"p99 {percentile(ms, 99):.2f} ms"
    )
    assert report.statuses[200] == len(ms) > 0
