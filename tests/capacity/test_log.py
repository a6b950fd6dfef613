"""The event log on SQLite and a real PostgreSQL: expected versions and idempotent ids."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from designpatterns_ref.capacity import (
    BedEvent,
    CapacityError,
    ConcurrencyError,
    EventLog,
    PostgresEventLog,
    SQLiteEventLog,
)


@pytest.fixture(params=["sqlite", "postgres"])
def log(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[EventLog]:
    if request.param == "sqlite":
        made: EventLog = SQLiteEventLog(str(tmp_path) + "/log.db")
    else:
        made = PostgresEventLog(request.getfixturevalue("pg_url"))
        with made._lock:
            made._db.execute("TRUNCATE bed_events")
            made._db.commit()
    yield made
    made.close()


def ev(i: int, kind: str = "admitted", bed: str = "elm/a/1") -> BedEvent:
    return BedEvent(f"e{i}", kind, bed, at=float(i))


def test_versions_count_per_stream(log: EventLog) -> None:
    assert log.append("elm", [ev(1), ev(2, "discharged")], expected_version=0).version == 2
    assert log.append("oak", [ev(3, bed="oak/a/1")], expected_version=0).version == 1
    assert (log.version("elm"), log.version("oak"), log.version("ash"), len(log)) == (2, 1, 0, 3)
    assert [e.event_id for e in log.read()] == ["e1", "e2", "e3"]
    assert [e.event_id for e in log.read(batch=1)] == ["e1", "e2", "e3"]


def test_a_stale_expected_version_is_refused_and_writes_nothing(log: EventLog) -> None:
    log.append("elm", [ev(1)], expected_version=0)
    with pytest.raises(
        ConcurrencyError, match="expected_version=0 but stream='elm' is at version 1"
    ):
        log.append("elm", [ev(2), ev(3)], expected_version=0)
    assert [e.event_id for e in log.read()] == ["e1"]


def test_event_ids_are_idempotent_and_never_reused(log: EventLog) -> None:
    log.append("elm", [ev(1), ev(2)])
    again = log.append("elm", [ev(2), ev(1), ev(3)])
    assert (again.appended, again.duplicates, again.version) == (1, 2, 3)
    with pytest.raises(CapacityError, match="already used by a different event"):
        log.append("elm", [ev(4), BedEvent("e1", "reserved", "elm/a/1", at=1.0)])
    with pytest.raises(CapacityError, match="used twice"):
        log.append("elm", [ev(5), BedEvent("e5", "blocked", "elm/a/1")])
    assert len(log) == 3  # the refused batches wrote nothing, not even e4


def test_concurrent_writers_with_the_same_expected_version_one_wins(log: EventLog) -> None:
    """Threads race on one stream, each naming the version it read: exactly one append lands."""
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def writer(i: int) -> None:
        barrier.wait()
        try:
            log.append("elm", [ev(100 + i)], expected_version=0)
            outcomes.append("ok")
        except ConcurrencyError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]
    assert len(log) == 1


def test_two_connections_to_one_postgres_database_race(pg_url: str) -> None:
    """Two separate PostgreSQL sessions: the unique (stream, version) refuses the second."""
    a, b = PostgresEventLog(pg_url), PostgresEventLog(pg_url)
    with a._lock:
        a._db.execute("TRUNCATE bed_events")
        a._db.commit()
    # both read version 0, then write: b's insert collides with a's committed row
    a.append("elm", [ev(1)], expected_version=0)
    with pytest.raises(ConcurrencyError):
        b.append("elm", [ev(2)], expected_version=0)
    assert len(a) == 1
    a.close()
    b.close()


def test_a_failed_statement_leaves_the_log_usable(log: EventLog) -> None:
    # A statement that fails in the database (here one naming a table that is not there)
    # leaves a PostgreSQL connection in an aborted transaction until it is rolled back:
    # every later call would fail with it.
    log.append("elm", [ev(1)], expected_version=0)
    with pytest.raises(Exception, match="no_such_table"):
        log._one("SELECT count(*) FROM no_such_table")
    assert log.version("elm") == 1
    assert [e.event_id for e in log.read()] == ["e1"]
    assert log.append("elm", [ev(2, "discharged")], expected_version=1).version == 2
