"""Every write to the inventory takes its nights in one order, (hotel, room type, night), so two
writers never wait for each other in a cycle (PostgreSQL).

Expiring holds updated the nights hold by hold, in the order the holds were made: an expiry that
had taken 6 June and waited for 1 June deadlocked with a booking that had taken 1 June and
wanted 6 June. Each test plays the other writer by hand, deterministically: it locks the first
night, waits until the code under test is waiting for that lock, and then asks for a later
night. In night order the later night is still free; out of order it is held, and PostgreSQL
reports a deadlock (40P01)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import psycopg
import pytest

from designpatterns_ref.booking import Holds, PessimisticBooking, PostgresStore, Stay
from designpatterns_ref.clock import ManualClock

D1 = date(2026, 6, 1)


def _day(n: int) -> date:
    return D1 + timedelta(days=n - 1)


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    s = PostgresStore(pg_url)
    s.statement("TRUNCATE inventory, bookings, holds, payments, rooms")
    s.add_inventory("h1", "double", D1, 10, total=100, numbered=False)
    yield s
    s.close()


def _wait_until_waiting(pg_url: str, holder: int, what: str, out: dict) -> None:
    """Until a session other than ``holder`` waits for a lock (polled from an autocommit
    connection: pg_stat_activity is a snapshot per transaction)."""
    with psycopg.connect(pg_url, autocommit=True) as watch:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            waiting = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid NOT IN (%s, pg_backend_pid())",
                [holder],
            ).fetchone()
            if waiting and waiting[0]:
                return
            time.sleep(0.01)
    pytest.fail(f"gave up waiting for {what}: {out}")  # pragma: no cover


def _lock_night_then(pg_url: str, first: date, later: date, call: Callable[[], object]) -> dict:
    """Lock ``first`` in a transaction of our own, run ``call`` in a thread, wait until it waits
    for our lock, then lock ``later`` (5 s at most) and commit; both outcomes."""
    out: dict[str, object] = {}
    with psycopg.connect(pg_url) as mine:
        row = "SELECT 1 FROM inventory WHERE hotel = 'h1' AND room_type = 'double' AND night = %s "
        mine.execute(row + "FOR UPDATE", [first])

        def run() -> None:
            try:
                out["call"] = call()
            except Exception as exc:  # reported below
                out["call"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        _wait_until_waiting(pg_url, mine.info.backend_pid, f"the call to wait for {first}", out)
        try:
            mine.execute("SET LOCAL lock_timeout = '5s'")
            mine.execute(row + "FOR UPDATE", [later])
            mine.commit()
            out["mine"] = "locked"
        except psycopg.Error as exc:
            out["mine"] = exc
            mine.rollback()
        thread.join(timeout=30)
    return out


def test_expiring_holds_takes_the_nights_in_night_order(store: PostgresStore, pg_url: str) -> None:
    clock = ManualClock(0.0)
    holds = Holds(store, ttl=10, clock=clock)
    holds.hold(Stay("h1", "double", _day(6), _day(7)))  # made first, expires first
    holds.hold(Stay("h1", "double", _day(1), _day(2)))
    clock.advance(20)
    out = _lock_night_then(pg_url, _day(1), _day(6), holds.expire)
    assert out == {"mine": "locked", "call": 2}
    assert store.query("SELECT sum(booked) FROM inventory") == [(0,)]


def test_cancel_takes_the_nights_in_night_order(store: PostgresStore, pg_url: str) -> None:
    hotel = PessimisticBooking(store)
    booking = hotel.book(Stay("h1", "double", _day(1), _day(9)))
    # the rows' newest versions now lie on disk in reverse night order, so a plain
    # "UPDATE ... WHERE night >= ... AND night < ..." that scans the table meets 8 June first
    for n in range(8, 0, -1):
        store.statement("UPDATE inventory SET version = version + 1 WHERE night = %s", [_day(n)])

    def cancel() -> None:
        # a sequential scan, as the planner may choose for a small table (this thread's
        # connection only)
        store.statement("SET enable_indexscan = off")
        store.statement("SET enable_bitmapscan = off")
        hotel.cancel(booking.id)

    out = _lock_night_then(pg_url, _day(1), _day(8), cancel)
    assert out == {"mine": "locked", "call": None}
    assert store.query("SELECT sum(booked) FROM inventory") == [(0,)]
