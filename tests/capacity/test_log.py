"""The event log on SQLite and a real PostgreSQL: expected versions and idempotent ids."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

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
            made._db.execute("TRUNCATE bed_events, stream_seen")
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


def test_an_event_delivered_twice_in_one_batch_counts_as_a_duplicate(log: EventLog) -> None:
    """Every event of a batch is either appended or a duplicate: a home that sends the same
    message twice in one batch is told so, as when it sends it in two batches."""
    first = log.append("elm", [ev(1), ev(1), ev(2)])
    assert (first.appended, first.duplicates, first.version) == (2, 1, 2)
    again = log.append("elm", [ev(2), ev(3), ev(3), ev(2)])
    assert (again.appended, again.duplicates, again.version) == (1, 3, 3)
    assert len(log) == 3


@pytest.mark.parametrize(("after", "batch"), [(-1, 10), (0, 0), (True, 10), (0, "10")])
def test_read_refuses_bad_arguments_when_called(after: object, batch: object) -> None:
    """The error comes from the call, not later from whoever first iterates the result."""
    log = SQLiteEventLog()
    with pytest.raises(CapacityError, match=r"after|batch"):
        log.read(after, batch)  # type: ignore[arg-type]


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


def test_a_second_connection_with_a_stale_expected_version_is_refused(pg_url: str) -> None:
    """Two PostgreSQL sessions, one after the other: b names the version 0 it saw before a
    wrote, and the version check (not the unique index) refuses it."""
    a, b = PostgresEventLog(pg_url), PostgresEventLog(pg_url)
    with a._lock:
        a._db.execute("TRUNCATE bed_events")
        a._db.commit()
    a.append("elm", [ev(1)], expected_version=0)
    with pytest.raises(
        ConcurrencyError, match="expected_version=0 but stream='elm' is at version 1"
    ):
        b.append("elm", [ev(2)], expected_version=0)
    assert len(a) == 1
    a.close()
    b.close()


# -- several connections at once: one log object per thread, so nothing in Python serialises --


@pytest.fixture(params=["sqlite", "postgres"])
def logs(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[list[EventLog]]:
    """Four separate connections to one log, emptied."""
    opened: list[EventLog] = []
    for _ in range(4):
        if request.param == "sqlite":
            opened.append(SQLiteEventLog(str(tmp_path) + "/shared.db"))
        else:
            opened.append(PostgresEventLog(request.getfixturevalue("pg_url")))
    empty_log(opened[0])
    yield opened
    for log in opened:
        log.close()


def empty_log(log: EventLog) -> None:
    """Delete every event of ``log`` (the tables stay)."""
    with log._lock:
        conn = log._conn()
        log._begin(conn)
        conn.cursor().execute("DELETE FROM bed_events")
        conn.cursor().execute("DELETE FROM stream_seen")
        conn.commit()


def _run(threads: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in ``threads`` threads released together; the exceptions they raised."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:  # collected, reported by the test
            errors.append(exc)

    pool = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return errors


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    writers=st.integers(2, 4),
    per_writer=st.integers(5, 25),
    redeliver=st.integers(0, 3),
    batch=st.integers(1, 3),
)
@example(writers=4, per_writer=25, redeliver=2, batch=1)
def test_concurrent_appends_without_an_expected_version_all_land_once(
    logs: list[EventLog], writers: int, per_writer: int, redeliver: int, batch: int
) -> None:
    """Regression: on PostgreSQL, appends with expected_version=None racing on one stream
    collided on UNIQUE(stream, version) and were refused (229 of 400 in one run), and so were
    concurrent redeliveries of one event. Each writer sends its own events and every writer
    sends the same ``redeliver`` shared events, each from its own connection."""
    first = logs[0]
    empty_log(first)  # hypothesis reruns the body with the same connections
    shared = [BedEvent(f"shared-{k}", "blocked", "elm/a/9", at=float(k)) for k in range(redeliver)]

    def work(i: int) -> None:
        mine = [
            BedEvent(f"w{i}-{j}", "admitted", "elm/a/1", at=float(j)) for j in range(per_writer)
        ]
        for j in range(0, per_writer, batch):
            logs[i].append("elm", [*mine[j : j + batch], *shared[: j % (redeliver + 1)]])
        logs[i].append("elm", shared)

    assert _run(writers, work) == []
    stored = [e.event_id for e in first.read()]
    expected = {f"w{i}-{j}" for i in range(writers) for j in range(per_writer)}
    expected |= {e.event_id for e in shared}
    assert sorted(stored) == sorted(expected)  # every event stored, and once
    assert first.version("elm") == len(expected) == len(first)
    versions = sorted(v for v, _ in first.read_stream("elm"))
    assert versions == list(range(1, len(expected) + 1))  # no gap, no repeat


def test_concurrent_connections_with_the_same_expected_version_one_wins(
    logs: list[EventLog],
) -> None:
    """Separate connections (not one log object's lock) racing with expected_version=0."""
    outcomes: list[str] = []

    def work(i: int) -> None:
        try:
            logs[i].append("elm", [ev(100 + i)], expected_version=0)
            outcomes.append("ok")
        except ConcurrencyError:
            outcomes.append("conflict")

    assert _run(4, work) == []
    assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]
    assert len(logs[0]) == 1


def test_read_stream_gives_one_stream_with_its_versions(log: EventLog) -> None:
    log.append("elm", [ev(1), ev(2, "discharged")])
    log.append("oak", [ev(3, bed="oak/a/1")])
    log.append("elm", [ev(4, "released")])
    assert [(v, e.event_id) for v, e in log.read_stream("elm")] == [(1, "e1"), (2, "e2"), (3, "e4")]
    assert [(v, e.event_id) for v, e in log.read_stream("elm", after_version=2)] == [(3, "e4")]
    assert list(log.read_stream("ash")) == []
    for bad in (-1, True, 2**62, "1", None):
        with pytest.raises(CapacityError, match="after_version"):
            list(log.read_stream("elm", after_version=bad))  # type: ignore[arg-type]


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


def test_one_event_id_sent_to_two_streams_at_once_lands_once(logs: list[EventLog]) -> None:
    """An event id is unique across the whole log. Two connections append the same ids (in
    opposite orders) to two different streams at the same moment: one batch lands, the other
    is refused as the docstring says (``already used by a different event``), never with a
    ConcurrencyError (its stream did not change), a database error or a deadlock."""
    for log in logs[:2]:  # a deadlock would fail fast instead of waiting a second
        if isinstance(log, PostgresEventLog):
            with log._lock:
                log._db.execute("SET deadlock_timeout = '50ms'")
                log._db.commit()
    homes = ("elm", "oak")
    for size in [1, 2, 3, 6] * 5:
        empty_log(logs[0])
        outcomes: list[str] = []

        def work(i: int, size: int = size, outcomes: list[str] = outcomes) -> None:
            batch = [BedEvent(f"e{k}", "admitted", f"{homes[i]}/a/1", at=1.0) for k in range(size)]
            try:
                logs[i].append(homes[i], batch if i == 0 else batch[::-1])
                outcomes.append("ok")
            except CapacityError as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")

        assert _run(2, work) == []
        refused = "CapacityError: event_id='e{}' is already used by a different event"
        assert sorted(outcomes) in (
            [refused.format(0), "ok"],
            [refused.format(size - 1), "ok"],
        )
        assert len(logs[0]) == size
        assert sorted(logs[0].version(h) for h in homes) == [0, size]


def test_a_locked_sqlite_file_fails_the_append_with_our_error(tmp_path: object) -> None:
    """Another process holds the write lock past the busy timeout: the append raises the
    family's error (not a bare sqlite3 error), writes nothing, and the log stays usable."""
    import sqlite3

    path = str(tmp_path) + "/log.db"
    log = SQLiteEventLog(path)
    log._db.execute("PRAGMA busy_timeout=50")  # fail fast
    log.append("elm", [ev(1)])
    other = sqlite3.connect(path, isolation_level=None)  # a second process writing
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(CapacityError, match="locked"):
        log.append("elm", [ev(2)])
    other.execute("COMMIT")
    assert log.append("elm", [ev(3)]).version == 2
    assert [(v, e.event_id) for v, e in log.read_stream("elm")] == [(1, "e1"), (2, "e3")]
    other.close()
    log.close()
