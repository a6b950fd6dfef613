"""A crash between two statements of one booking operation leaves a state the model allows.

Each operation (book by each strategy, hold, confirm, a free book through the holds, cancel,
a cancel through the holds with an expiry due, expire) is cut at its first statement, then its
second, and so on until it runs whole. On PostgreSQL the server ends the session before the
statement runs (``pg_terminate_backend``), as a crashed application server's transaction is
ended; on SQLite the statement raises and the open transaction goes, as it goes when the
process dies. The store is then opened afresh from
its file or URL, and:

- the counters agree with the ledger: on every night, ``booked`` is the rooms of the live
  bookings of the counting strategies plus the rooms of the live holds, and the constraint
  strategy's claimed room-nights are its live bookings' rooms;
- the operation either happened whole or not at all, and running it again afterwards does it
  once (a confirm retried with its key gives one booking, one payment).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from designpatterns_ref.booking import (
    BookingStore,
    ConstraintBooking,
    Holds,
    OptimisticBooking,
    PessimisticBooking,
    PostgresStore,
    SQLiteStore,
    Stay,
)
from designpatterns_ref.clock import ManualClock

D0 = date(2026, 6, 1)
NIGHTS = 3


class _Crash(Exception):
    """The process died here (SQLite): the open transaction is lost."""


def _reopen(store: BookingStore) -> BookingStore:
    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path)
    assert isinstance(store, PostgresStore)
    return PostgresStore(store.url)


def _cut_at(store: BookingStore, k: int) -> list[int]:
    """Make ``store`` die before the ``k``-th statement run through a transaction; the list
    given back holds how many statements were run (to know when the operation ran whole)."""
    seen = [0]
    real = store._sql

    def sql(text: str) -> str:
        seen[0] += 1
        if seen[0] == k:
            if isinstance(store, PostgresStore):
                import psycopg

                pid = store._local.conn.info.backend_pid
                with psycopg.connect(store.url, autocommit=True) as other:
                    other.execute("SELECT pg_terminate_backend(%s)", (pid,))
            else:
                raise _Crash
        return real(text)

    store._sql = sql  # type: ignore[method-assign]
    return seen


def _consistent(store: BookingStore, hotel: str) -> None:
    """The counters equal what the bookings and holds account for, night by night."""
    for i in range(NIGHTS):
        night = D0 + timedelta(days=i)
        (booked,) = store.query(
            "SELECT booked FROM inventory WHERE hotel = ? AND room_type = 'double' AND night = ?",
            (hotel, night),
        )[0]
        live = store.query(
            "SELECT coalesce(sum(rooms), 0) FROM bookings WHERE hotel = ? AND room_type = "
            "'double' AND status = 'booked' AND check_in <= ? AND check_out > ?",
            (hotel, night, night),
        )[0][0]
        held = store.query(
            "SELECT coalesce(sum(rooms), 0) FROM holds WHERE hotel = ? AND status = 'held' "
            "AND check_in <= ? AND check_out > ?",
            (hotel, night, night),
        )[0][0]
        assert int(booked) == int(live) + int(held), (night, booked, live, held)
        suites = store.query(
            "SELECT coalesce(sum(rooms), 0) FROM bookings WHERE hotel = ? AND room_type = "
            "'suite' AND status = 'booked' AND check_in <= ? AND check_out > ?",
            (hotel, night, night),
        )[0][0]
        if store.engine == "postgres":
            claimed = store.query(
                "SELECT count(*) FROM room_stays s JOIN bookings b ON b.id = s.booking_id "
                "WHERE b.hotel = ? AND s.stay @> ?::date",
                (hotel, night),
            )[0][0]
        else:
            claimed = store.query(
                "SELECT count(*) FROM room_nights n JOIN bookings b ON b.id = n.booking_id "
                "WHERE b.hotel = ? AND n.night = ?",
                (hotel, night),
            )[0][0]
        assert int(claimed) == int(suites), (night, claimed, suites)
    payments = store.query(
        "SELECT count(*), count(DISTINCT p.booking_id) FROM payments p JOIN bookings b "
        "ON b.id = p.booking_id WHERE b.hotel = ?",
        (hotel,),
    )[0]
    converted = store.query(
        "SELECT count(*) FROM holds WHERE hotel = ? AND status = 'converted' "
        "AND booking_id IS NOT NULL",
        (hotel,),
    )[0][0]
    assert payments[0] == payments[1] <= converted


def _snapshot(store: BookingStore, hotel: str) -> Any:
    return (
        store.query(
            "SELECT room_type, night, booked FROM inventory WHERE hotel = ? "
            "ORDER BY room_type, night",
            (hotel,),
        ),
        store.query("SELECT id, status FROM bookings WHERE hotel = ? ORDER BY id", (hotel,)),
        store.query(
            "SELECT id, status, booking_id FROM holds WHERE hotel = ? ORDER BY id", (hotel,)
        ),
    )


_hotels = itertools.count()

# an operation on (store, clock, what the setup made)
Op = Callable[[BookingStore, ManualClock, dict[str, Any]], object]


def _stay(hotel: str, room_type: str = "double", first: int = 0, end: int = 2) -> Stay:
    return Stay(hotel, room_type, D0 + timedelta(days=first), D0 + timedelta(days=end))


OPS: dict[str, Op] = {
    "pessimistic book": lambda s, c, x: PessimisticBooking(s).book(_stay(x["hotel"])),
    "optimistic book": lambda s, c, x: OptimisticBooking(s).book(_stay(x["hotel"])),
    "constraint book": lambda s, c, x: ConstraintBooking(s).book(_stay(x["hotel"], "suite")),
    "hold": lambda s, c, x: Holds(s, clock=c).hold(_stay(x["hotel"], first=1, end=3)),
    "confirm": lambda s, c, x: Holds(s, clock=c).confirm(
        x["hold"], f"pay-{x['hotel']}", amount=100
    ),
    "holds book": lambda s, c, x: Holds(s, clock=c).book(_stay(x["hotel"])),
    "cancel": lambda s, c, x: PessimisticBooking(s).cancel(x["booking"]),
    "cancel constraint": lambda s, c, x: ConstraintBooking(s).cancel(x["suite"]),
    "holds cancel": lambda s, c, x: Holds(s, clock=c).cancel(x["held booking"]),
    "expire": lambda s, c, x: Holds(s, clock=c).expire(),
}


def _setup(store: BookingStore, clock: ManualClock) -> dict[str, Any]:
    hotel = f"c{next(_hotels)}"
    store.add_inventory(hotel, "double", D0, NIGHTS, total=4)
    store.add_inventory(hotel, "suite", D0, NIGHTS, total=3)
    holds = Holds(store, ttl=600, clock=clock)
    stale = holds.hold(_stay(hotel, first=0, end=3))
    clock.advance(300)
    return {
        "hotel": hotel,
        "booking": PessimisticBooking(store).book(_stay(hotel, first=1, end=3)).id,
        "suite": ConstraintBooking(store).book(_stay(hotel, "suite")).id,
        "hold": holds.hold(_stay(hotel, first=0, end=1)),
        "held booking": holds.book(_stay(hotel, first=2, end=3)).id,
        "stale": stale,
    }


@pytest.mark.parametrize("op", list(OPS))
def test_a_crash_between_two_statements_leaves_a_state_the_model_allows(
    make_store: Callable[[], BookingStore], op: str
) -> None:
    store = make_store()
    for k in itertools.count(1):
        clock = ManualClock(1000.0)
        x = _setup(store, clock)
        if op in ("expire", "holds cancel"):  # a cancel and its expiry: one transaction
            clock.advance(300)  # the first hold's time is up, the second's is not
        before = _snapshot(store, x["hotel"])
        cut = _reopen(store)
        seen = _cut_at(cut, k)
        try:
            OPS[op](cut, clock, x)
        except Exception:
            crashed = True
        else:
            crashed = False
        cut.close()
        fresh = _reopen(store)
        _consistent(fresh, x["hotel"])
        if crashed:
            assert _snapshot(fresh, x["hotel"]) == before, (op, k)  # nothing of it happened
            OPS[op](fresh, clock, x)  # run again, whole
            _consistent(fresh, x["hotel"])
            after = _snapshot(fresh, x["hotel"])
            assert after != before, (op, k)
            if op == "confirm":  # a retry with the key: the same booking, nothing new
                OPS[op](fresh, clock, x)
                assert _snapshot(fresh, x["hotel"]) == after
        fresh.close()
        if seen[0] < k:  # the operation ran whole before the cut: every cut point was tried
            assert not crashed
            return
