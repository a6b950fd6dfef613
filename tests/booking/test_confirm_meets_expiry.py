"""A confirm that loses its hold to a concurrent expiry says the hold expired (PostgreSQL).

The confirm reads the hold as held, then its conditional update waits for the row: another
``Holds``, whose clock is past the expiry, is expiring that hold in an open transaction. When
the expiry commits, the confirm's update changes nothing. It used to take any such loss for a
concurrent confirm and say the hold "was converted by another payment"; it now reads the status
the winner left and says the hold is expired. The test plays the expiry by hand (its two
statements, the hold's status and then the nights), deterministically: it waits until the
confirm is waiting for the hold's row before it commits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from designpatterns_ref.booking import Holds, PostgresStore, SoldOut, Stay
from designpatterns_ref.clock import ManualClock

D1, D2 = date(2026, 6, 1), date(2026, 6, 2)


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    s = PostgresStore(pg_url)
    s.statement("TRUNCATE inventory, bookings, holds, payments, rooms")
    s.add_inventory("h1", "double", D1, 1, total=1, numbered=False)
    yield s
    s.close()


def _wait_until_waiting(pg_url: str, holder: int) -> None:
    with psycopg.connect(pg_url, autocommit=True) as watch:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            row = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid NOT IN (%s, pg_backend_pid())",
                [holder],
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.01)
    pytest.fail("the confirm never waited for the hold's row")  # pragma: no cover


def test_a_confirm_beaten_by_an_expiry_says_expired(store: PostgresStore, pg_url: str) -> None:
    holds = Holds(store, ttl=10, clock=ManualClock(0.0))  # to this clock the hold is live
    hold = holds.hold(Stay("h1", "double", D1, D2))
    out: dict[str, object] = {}
    with psycopg.connect(pg_url) as expiry:  # another Holds, whose clock is past the expiry
        expiry.execute(
            "UPDATE holds SET status = 'expired' WHERE id = %s AND status = 'held'", [hold]
        )

        def confirm() -> None:
            try:
                out["confirm"] = holds.confirm(hold, "pay-1", amount=100)
            except SoldOut as exc:
                out["confirm"] = exc
            finally:
                store.close()

        thread = threading.Thread(target=confirm)
        thread.start()
        _wait_until_waiting(pg_url, expiry.info.backend_pid)
        expiry.execute(
            "UPDATE inventory SET booked = booked - 1, version = version + 1 WHERE night = %s",
            [D1],
        )
        expiry.commit()
        thread.join(timeout=30)
    refused = out["confirm"]
    assert isinstance(refused, SoldOut), refused
    assert str(refused) == f"hold {hold} is expired"
    assert store.query("SELECT count(*) FROM bookings") == [(0,)]
    assert store.query("SELECT count(*) FROM payments") == [(0,)]
    assert store.query("SELECT booked FROM inventory") == [(0,)]
