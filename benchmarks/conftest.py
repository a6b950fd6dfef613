"""Benchmark options: quick mode shrinks every workload so CI can run each once."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def quick(request: pytest.FixtureRequest) -> bool:
    """True under --benchmark-disable (CI's run) or DPREF_QUICK=1: small workloads."""
    return bool(
        request.config.getoption("benchmark_disable", default=False)
        or os.environ.get("DPREF_QUICK") == "1"
    )
