"""``availability`` answers what ``book`` then accepts, never a negative count.

With an overbooking allowance the pessimistic strategy sells up to ``floor(total * (1 + x))``
rooms a night, but its availability said ``total - booked``: 0 while it still sold an 11th room
of 10, then -1, and every strategy on that store saw -1. The oracle: after any bookings (by the
overbooking strategy), each strategy's availability equals the number of one-room bookings it
then accepts, and is at least 0."""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.booking import (
    BookingStore,
    Holds,
    OptimisticBooking,
    PessimisticBooking,
    SoldOut,
    Stay,
)

D1 = date(2026, 6, 1)
_hotels = itertools.count()


def _free_by_booking(strategy: Any, hotel: str, nights: int) -> int:
    """How many one-room stays of ``nights`` nights ``strategy`` books before SoldOut."""
    n = 0
    while True:
        try:
            strategy.book(Stay(hotel, "double", D1, D1 + timedelta(days=nights)))
        except SoldOut:
            return n
        n += 1


def test_availability_is_what_book_accepts(make_store: Callable[[], BookingStore]) -> None:
    store = make_store()

    @settings(max_examples=10 if store.engine == "postgres" else 40, deadline=None)
    @given(
        totals=st.lists(st.integers(0, 12), min_size=1, max_size=3),
        overbooking=st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.5]),
        sold=st.integers(0, 20),
        who=st.sampled_from(["pessimistic", "optimistic", "holds"]),
    )
    @example(totals=[10], overbooking=0.1, sold=10, who="pessimistic")  # 11 of 10 may be sold
    @example(totals=[10], overbooking=0.1, sold=11, who="holds")  # and nothing less than 0
    def check(totals: list[int], overbooking: float, sold: int, who: str) -> None:
        hotel = f"h{next(_hotels)}"
        for i, total in enumerate(totals):
            store.add_inventory(hotel, "double", D1 + timedelta(days=i), 1, total=total,
                                numbered=False)  # fmt: skip
        seller = PessimisticBooking(store, overbooking=overbooking)
        nights = len(totals)
        out = D1 + timedelta(days=nights)
        for _ in range(sold):
            with contextlib.suppress(SoldOut):
                seller.book(Stay(hotel, "double", D1, out))
        strategy = {
            "pessimistic": lambda: PessimisticBooking(store, overbooking=overbooking),
            "optimistic": lambda: OptimisticBooking(store),
            "holds": lambda: Holds(store, ttl=600),
        }[who]()
        free = strategy.availability(hotel, "double", D1, out)
        assert free >= 0
        assert free == _free_by_booking(strategy, hotel, nights)
        if who == "pessimistic":  # the allowance, computed the plain way
            most = math.floor(min(totals) * (1 + Fraction(repr(overbooking))))
            booked = min(sold, most)
            assert free + booked == most

    check()
