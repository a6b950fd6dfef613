"""Each booking records the strategy that made it, and only that strategy cancels it.

The constraint strategy keeps its rooms in per-room rows and leaves the inventory counters
alone; cancelling one of its bookings through a counter strategy took rooms off counters it had
never added to (and left the room claimed), and the other way round freed nothing. Now a cancel
by another strategy raises BookingError and changes nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.booking import (
    BookingError,
    BookingStore,
    ConstraintBooking,
    Holds,
    NaiveBooking,
    OptimisticBooking,
    PessimisticBooking,
    SQLiteStore,
    Stay,
)

D1, D2 = date(2026, 6, 1), date(2026, 6, 2)
MAKERS: dict[str, Callable[[BookingStore], Any]] = {
    "pessimistic": PessimisticBooking,
    "optimistic": OptimisticBooking,
    "constraint": ConstraintBooking,
    "naive": NaiveBooking,
    "holds": lambda s: Holds(s, ttl=600),
}


def _state(store: BookingStore) -> object:
    rooms = "room_stays" if store.engine == "postgres" else "room_nights"
    return [
        store.query(f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in ("inventory", "bookings", rooms)
    ]


@pytest.mark.parametrize("maker", sorted(MAKERS))
def test_only_the_strategy_that_booked_cancels(
    make_store: Callable[[], BookingStore], maker: str
) -> None:
    store = make_store()
    store.add_inventory("h1", "double", D1, 1, total=2)
    booking = MAKERS[maker](store).book(Stay("h1", "double", D1, D2))
    assert store.query("SELECT strategy FROM bookings WHERE id = ?", [booking.id]) == [(maker,)]
    before = _state(store)
    for other in sorted(set(MAKERS) - {maker}):
        with pytest.raises(BookingError, match=f"made by the {maker} strategy"):
            MAKERS[other](store).cancel(booking.id)
        assert _state(store) == before, other
    again = MAKERS[maker](store)  # another object of the same strategy may
    again.cancel(booking.id)
    assert again.availability("h1", "double", D1, D2) == 2


def test_a_database_made_before_bookings_named_their_strategy_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE bookings DROP COLUMN strategy")
    with pytest.raises(BookingError, match="bookings table has no strategy column"):
        SQLiteStore(path)
