"""Module boundaries on Django's source: graph build and contract checks, cold and cached.

Targets (issue 22): a cold run within 3x of ``lint-imports`` on the same contracts, and a cached
re-run over an unchanged tree at least 4x faster than ``lint-imports``' cached run (100 ms or
less). ``lint-imports`` and grimp are measured in the same run.

Run the figures: ``pytest benchmarks/bench_boundaries.py --benchmark-only``; the command-line
comparison (both tools started as CI starts them) is ``dpref bench boundaries``. CI runs this
file once with ``--benchmark-disable`` (quick mode: one round each).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.boundaries import FileCache, build_graph, find_violations
from designpatterns_ref.boundaries._bench import contract_folder
from designpatterns_ref.boundaries.contracts import django_config, django_root

ROOT = django_root()
CONFIG = django_config()
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    path = contract_folder()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _rounds(quick: bool) -> dict[str, int]:
    return {"rounds": 1, "iterations": 1} if quick else {"rounds": 5, "iterations": 1}


def test_build_cold(benchmark: BenchmarkFixture, quick: bool) -> None:
    graph = benchmark.pedantic(lambda: build_graph(["django"], [ROOT]), **_rounds(quick))
    assert len(graph.modules) > 800


def test_build_cold_one_process(benchmark: BenchmarkFixture, quick: bool) -> None:
    graph = benchmark.pedantic(lambda: build_graph(["django"], [ROOT], jobs=1), **_rounds(quick))
    assert graph.edge_count > 3000


def test_build_and_check_cached(benchmark: BenchmarkFixture, quick: bool) -> None:
    cache_dir = Path(tempfile.mkdtemp(prefix="dpref-bench-cache-"))
    build_graph(["django"], [ROOT], cache=FileCache(cache_dir / "c.bin"))

    def cached() -> int:
        graph = build_graph(["django"], [ROOT], cache=FileCache(cache_dir / "c.bin"))
        return len(find_violations(graph, CONFIG))

    found = benchmark.pedantic(cached, **({"rounds": 1} if quick else {"rounds": 20}))
    shutil.rmtree(cache_dir)
    assert found > 0


def test_check_contracts(benchmark: BenchmarkFixture, quick: bool) -> None:
    graph = build_graph(["django"], [ROOT])
    found = benchmark.pedantic(
        lambda: find_violations(graph, CONFIG), **({"rounds": 1} if quick else {"rounds": 20})
    )
    assert found


def test_grimp_build_cold(benchmark: BenchmarkFixture, quick: bool) -> None:
    graph = benchmark.pedantic(
        lambda: grimp.build_graph("django", cache_dir=None), **_rounds(quick)
    )
    assert len(graph.modules) > 800


def test_lint_imports_cold(benchmark: BenchmarkFixture, quick: bool, folder: Path) -> None:
    def run() -> int:
        return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=folder,
                              capture_output=True, check=False).returncode  # fmt: skip

    assert benchmark.pedantic(run, **_rounds(quick)) == 1  # the contract set has broken ones


def test_lint_imports_cached(benchmark: BenchmarkFixture, quick: bool, folder: Path) -> None:
    subprocess.run([str(LINT_IMPORTS)], cwd=folder, capture_output=True, check=False)

    def run() -> int:
        return subprocess.run([str(LINT_IMPORTS)], cwd=folder, capture_output=True,
                              check=False).returncode  # fmt: skip

    assert benchmark.pedantic(run, **_rounds(quick)) == 1


def test_ours_cli_cached(benchmark: BenchmarkFixture, quick: bool, folder: Path) -> None:
    command = [sys.executable, "-m", "designpatterns_ref.boundaries", "check", str(folder)]
    subprocess.run(command, capture_output=True, check=False)

    def run() -> int:
        return subprocess.run(command, capture_output=True, check=False).returncode

    assert benchmark.pedantic(run, **_rounds(quick)) == 1
