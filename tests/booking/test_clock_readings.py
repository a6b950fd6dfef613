"""Holds refuses a clock reading that is not a finite number of seconds with BookingError, on
every call, before anything is written (10**400 raised a bare OverflowError, and True would
pass for second 1)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from designpatterns_ref.booking import BookingError, BookingStore, Holds, Stay

FIRST = date(2026, 6, 1)
STAY = Stay("h1", "double", FIRST, FIRST + timedelta(days=2), 1)
BAD: list[Any] = [math.nan, math.inf, -math.inf, True, "1", None, 10**400]
IDS = ["nan", "inf", "-inf", "True", "str", "None", "10**400"]
TABLES = ["inventory", "holds", "bookings", "payments"]


def _rows(store: BookingStore) -> list[list[Any]]:
    return [sorted(map(tuple, store.query(f"SELECT * FROM {t}"))) for t in TABLES]


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_holds_refuse_a_bad_clock_reading_and_write_nothing(
    make_store: Callable[[], BookingStore], bad: Any
) -> None:
    store = make_store()
    store.add_inventory("h1", "double", FIRST, 3, total=3)
    now: list[Any] = [1000.0]
    holds = Holds(store, ttl=300, clock=lambda: now[0])
    held = holds.hold(STAY)
    booking = holds.confirm(holds.hold(STAY), "paid-1", amount=100)
    before = _rows(store)
    now[0] = bad
    for call in (
        lambda: holds.hold(STAY),
        lambda: holds.confirm(held, "paid-2", amount=100),
        holds.expire,
        lambda: holds.cancel(booking.id),
        lambda: holds.availability("h1", "double", FIRST, FIRST + timedelta(days=2)),
        lambda: holds.book(STAY),
    ):
        with pytest.raises(BookingError, match=r"clock\(\) returned"):
            call()
        assert _rows(store) == before
