"""Benchmark options: quick mode shrinks every workload so CI can run each once."""

from __future__ import annotations

import os

import pytest

from designpatterns_ref.benchkit import interpreter_probe


@pytest.fixture(scope="session")
def quick(request: pytest.FixtureRequest) -> bool:
    """True under --benchmark-disable (CI's run) or DPREF_QUICK=1: small workloads."""
    return bool(
        request.config.getoption("benchmark_disable", default=False)
        or os.environ.get("DPREF_QUICK") == "1"
    )


def pytest_benchmark_update_machine_info(
    config: pytest.Config, machine_info: dict[str, object]
) -> None:
    """Record the interpreter probe beside pytest-benchmark's machine info (saved runs keep it),
    so figures from two machines or two Python builds can be scaled to each other."""
    machine_info["interpreter_probe_us"] = round(interpreter_probe(), 2)
