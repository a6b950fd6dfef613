"""``engine`` (each test on SQLite and on a real PostgreSQL) and ``place`` (where its shards
live, dropped afterwards) for the sharding tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sharding.shards import drop_all, new_prefix, open_shards


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def place(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a test's shards live: a folder (SQLite) or "admin_url prefix" (PostgreSQL)."""
    if engine == "sqlite":
        yield str(tmp_path)
        return
    where = f"{request.getfixturevalue('pg_url')} {new_prefix()}"
    yield where
    drop_all(open_shards(engine, where))
