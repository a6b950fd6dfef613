"""Shared fixtures: hypothesis profiles, a real Redis server, the shared data folder."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from designpatterns_ref.testing import env_flag

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if env_flag("CI") else "dev"))

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path | None:
    """The shared data folder: $DPREF_DATA, else ../shared/data beside the checkout."""
    env = os.environ.get("DPREF_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; tests that need it skip with the reason when it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("shared data not found: set DPREF_DATA or place it at ../shared/data")
    return path


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Threads switch as often as the interpreter allows, so an unlocked read-then-write is
    caught between its read and its write many times over within a second."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.fixture
def redis_url(redis_srv: Any) -> Iterator[str]:
    """The session server's URL (restarted if it died), flushed before each test."""
    import redis

    from conftest import revived

    url = revived(redis_srv)
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()
    yield url
