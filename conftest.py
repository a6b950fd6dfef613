"""Fixtures shared by the tests and the benchmarks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from designpatterns_ref.testing import RedisServer, ServerUnavailable, redis_server


@pytest.fixture(scope="session")
def redis_srv() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port for the whole session."""
    try:
        with redis_server() as server:
            yield server
    except ServerUnavailable as exc:
        pytest.skip(f"needs a real Redis: {exc}")
