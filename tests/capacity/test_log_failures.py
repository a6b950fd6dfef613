"""A database failure under the event log's reads is the family's error, as under its appends:
a dropped table, a closed log, a PostgreSQL session lost. (A SQLite reader in WAL mode never
waits for another process's write lock, so a locked file fails appends, not reads.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref.capacity import BedEvent, CapacityError, PostgresEventLog, SQLiteEventLog
from designpatterns_ref.capacity.log import EventLog

READS: dict[str, Callable[[EventLog], object]] = {
    "read_stream": lambda log: list(log.read_stream("elm")),
    "read": lambda log: list(log.read()),
    "version": lambda log: log.version("elm"),
    "len": len,
}


def ev(i: int) -> BedEvent:
    return BedEvent(f"e{i}", "admitted", "elm/a/1", at=float(i))


@pytest.mark.parametrize("call", list(READS))
def test_a_dropped_table_fails_a_sqlite_read_with_our_error(call: str, tmp_path: Any) -> None:
    log = SQLiteEventLog(str(tmp_path / "log.db"))
    log.append("elm", [ev(1)])
    log._db.execute("DROP TABLE bed_events")
    with pytest.raises(CapacityError, match="no such table"):
        READS[call](log)
    log.close()


@pytest.mark.parametrize("call", [*READS, "append"])
def test_a_closed_sqlite_log_fails_with_our_error(call: str, tmp_path: Any) -> None:
    log = SQLiteEventLog(str(tmp_path / "log.db"))
    log.append("elm", [ev(1)])
    log.close()
    with pytest.raises(CapacityError, match="closed"):
        if call == "append":
            log.append("elm", [ev(2)])
        else:
            READS[call](log)


@pytest.mark.parametrize("call", [*READS, "append"])
def test_a_lost_postgres_session_fails_with_our_error(call: str, pg_url: str) -> None:
    """The server ends the log's session (pg_terminate_backend from another connection): the
    call raises the family's error, not the error of the rollback that follows it on a dead
    connection."""
    import psycopg

    log = PostgresEventLog(pg_url)
    with log._lock:
        log._db.execute("TRUNCATE bed_events")
        log._db.commit()
    log.append("elm", [ev(1)])
    pid = log._db.info.backend_pid
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(CapacityError, match="terminating connection"):
        if call == "append":
            log.append("elm", [ev(2)])
        else:
            READS[call](log)
    log.close()
    again = PostgresEventLog(pg_url)
    assert again.version("elm") == 1  # the failed append wrote nothing
    again.close()


@pytest.mark.parametrize("call", list(READS))
def test_a_dropped_table_fails_a_postgres_read_with_our_error(call: str, pg_url: str) -> None:
    log = PostgresEventLog(pg_url)
    try:
        with log._lock:
            log._db.execute("DROP TABLE bed_events")
            log._db.commit()
        with pytest.raises(CapacityError, match="bed_events"):
            READS[call](log)
    finally:
        log.close()
        PostgresEventLog(pg_url).close()  # makes the table again for the tests that follow


def test_a_role_that_cannot_create_the_tables_fails_with_our_error(pg_url: str) -> None:
    """The schema is made in the constructor: a role without CREATE on it gets the family's
    error, and the constructor closes the connection it opened (none of the role's sessions
    is left on the server)."""
    import time

    import psycopg
    from psycopg.conninfo import make_conninfo

    role = "capacity_no_create"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {role}_schema".encode())
        admin.execute(f"DROP ROLE IF EXISTS {role}".encode())
        admin.execute(f"CREATE ROLE {role} LOGIN".encode())
        admin.execute(f"CREATE SCHEMA {role}_schema".encode())  # owned by admin: no CREATE
        admin.execute(f"GRANT USAGE ON SCHEMA {role}_schema TO {role}".encode())
    url = make_conninfo(pg_url, user=role, options=f"-csearch_path={role}_schema")
    try:
        with pytest.raises(CapacityError, match="InsufficientPrivilege"):
            PostgresEventLog(url)
        with psycopg.connect(pg_url, autocommit=True) as admin:
            left = 1
            for _ in range(100):  # the server ends a closed session a moment later
                row = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (role,)
                ).fetchone()
                left = row[0] if row else 0
                if left == 0:
                    break
                time.sleep(0.05)
            assert left == 0
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )
            admin.execute(f"DROP SCHEMA IF EXISTS {role}_schema".encode())
            admin.execute(f"DROP ROLE IF EXISTS {role}".encode())
