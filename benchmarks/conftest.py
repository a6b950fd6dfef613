"""Benchmark options: quick mode shrinks every workload so CI can run each once."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from designpatterns_ref.testing import RedisServer, ServerUnavailable, redis_server


@pytest.fixture(scope="session")
def quick(request: pytest.FixtureRequest) -> bool:
    """True under --benchmark-disable (CI's run) or DPREF_QUICK=1: small workloads."""
    return bool(
        request.config.getoption("benchmark_disable", default=False)
        or os.environ.get("DPREF_QUICK") == "1"
    )


@pytest.fixture(scope="session")
def redis_srv() -> Iterator[RedisServer]:
    try:
        with redis_server() as server:
            yield server
    except ServerUnavailable as exc:
        pytest.skip(f"needs a real Redis: {exc}")
