"""streaming benchmarks: a whole 10-minute session per ABR rule, the MPC planner, the CDN caches.

Run ``pytest benchmarks/bench_streaming.py --benchmark-only`` for figures, or
``--benchmark-disable`` for the quick correctness pass CI makes (fewer traces, every session
checked for the model's invariants). Targets: a whole session (Big Buck Bunny, 199 segments of
3 s, about 10 minutes) in under 5 ms for each rule-based algorithm and under 50 ms for robust
MPC. The summary tables of ``dpref bench streaming`` (QoE, bitrate, stalls and switches per
algorithm on every shared 3G and 4G log; the CDN hit ratios) come from
``designpatterns_ref.streaming._bench``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.streaming import (
    AbrAlgorithm,
    Manifest,
    Trace,
    algorithms,
    plan,
    plan_brute_force,
    simulate,
)
from designpatterns_ref.streaming._bench import bench_steps
from designpatterns_ref.streaming.cdn import LFUCache, LRUCache, TinyLFUCache, zipf_workload
from designpatterns_ref.streaming.data import bbb, find_abr_data, shared_traces

NAMES = [a.name for a in algorithms()]


@pytest.fixture(scope="module")
def abr_data() -> Path:
    folder = find_abr_data()
    if folder is None:
        pytest.skip("abr data not found: set DPREF_DATA or place it at ../shared/data")
    return folder


@pytest.fixture(scope="module")
def movie(abr_data: Path) -> Manifest:
    return bbb()


@pytest.fixture(scope="module")
def traces(abr_data: Path, quick: bool) -> dict[str, Trace]:
    logs = {t.name: t for t in shared_traces()}
    keep = ["3g/report.2010-09-13_1003CEST", "3g/report.2010-12-09_1222CET", "4g/report_bus_0003"]
    return {k: logs[k] for k in keep} if quick else logs


def _algorithm(name: str) -> AbrAlgorithm:
    return next(a for a in algorithms() if a.name == name)


@pytest.mark.parametrize("network", ["3g", "4g"])
@pytest.mark.parametrize("name", NAMES)
def test_session(
    benchmark: BenchmarkFixture,
    name: str,
    network: str,
    movie: Manifest,
    traces: dict[str, Trace],
) -> None:
    """One whole session per round, cycling over the network's logs."""
    logs = [t for k, t in traces.items() if k.startswith(network)]
    algo = _algorithm(name)
    state = {"i": 0}

    def one() -> None:
        trace = logs[state["i"] % len(logs)]
        state["i"] += 1
        result = simulate(movie, trace, algo)
        assert result.played_s == pytest.approx(movie.duration_s)

    benchmark(one)


def test_mpc_plan_against_enumeration(benchmark: BenchmarkFixture, movie: Manifest) -> None:
    """One planning decision: the branch and bound, checked against the 10 ** 5 enumeration."""
    from designpatterns_ref.streaming import QoEWeights

    w = QoEWeights()
    u = w.utilities(movie.bitrates_kbps)
    download = [[100 + bits / 1800 for bits in row] for row in movie.segment_sizes_bits[40:45]]
    fast = plan(download, u, 5, 9000.0, 3000.0, 25_000.0, w)
    assert fast[0] == pytest.approx(
        plan_brute_force(download, u, 5, 9000.0, 3000.0, 25_000.0, w)[0]
    )
    benchmark(lambda: plan(download, u, 5, 9000.0, 3000.0, 25_000.0, w))


@pytest.mark.parametrize("make", [LRUCache, LFUCache, TinyLFUCache], ids=lambda m: m.__name__)
def test_cache_access(
    benchmark: BenchmarkFixture, make: Callable[[int], object], quick: bool
) -> None:
    reqs = zipf_workload(objects=2_000, requests=5_000 if quick else 50_000, seed=3)
    total = sum({r.key: r.size for r in reqs}.values())

    def replay() -> None:
        cache = make(total // 20)
        for r in reqs:
            cache.access(r.key, r.size)  # type: ignore[attr-defined]

    benchmark(replay)


def test_bench_tables(abr_data: Path) -> None:
    """The ``dpref bench streaming`` steps run and fill their tables."""
    for _, step in bench_steps(True):
        for table in step():
            assert table.rows
