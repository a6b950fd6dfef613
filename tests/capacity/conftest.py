"""Fixtures shared by the capacity tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from designpatterns_ref.capacity import EventLog, PostgresEventLog, SQLiteEventLog
from tests.capacity.test_log import empty_log


@pytest.fixture(params=["sqlite", "postgres"])
def shared_logs(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[list[EventLog]]:
    """Two connections to one emptied log (a SQLite file or a PostgreSQL database)."""
    if request.param == "sqlite":
        logs: list[EventLog] = [SQLiteEventLog(f"{tmp_path}/beds.db") for _ in range(2)]
    else:
        logs = [PostgresEventLog(request.getfixturevalue("pg_url")) for _ in range(2)]
    empty_log(logs[0])
    yield logs
    for log in logs:
        log.close()
