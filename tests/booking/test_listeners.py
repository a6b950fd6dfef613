"""A listener that raises does not undo, hide or repeat a committed change.

The listeners run after the commit. A listener's exception used to escape from ``book`` (so the
caller took a committed booking for refused, and a retry booked the guest twice) and kept the
listeners after it from hearing (the search index drifted from the database). Now every listener
hears of every change, the call returns as usual, and the failure is logged.

The oracle: a recording listener placed after one that always raises, and a search index placed
after it too, against a recount from the database, for every strategy on both engines and every
call that changes the inventory (book, cancel, hold, expire).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.booking import (
    AvailabilityIndex,
    Booking,
    BookingStore,
    ConstraintBooking,
    Holds,
    NaiveBooking,
    OptimisticBooking,
    PessimisticBooking,
    SoldOut,
    Stay,
)
from designpatterns_ref.clock import ManualClock

FIRST = date(2026, 6, 1)
NIGHTS, TOTAL = 4, 3
STRATEGIES: dict[str, Callable[[BookingStore], Any]] = {
    "pessimistic": PessimisticBooking,
    "optimistic": OptimisticBooking,
    "constraint": ConstraintBooking,
    "naive": NaiveBooking,
    "holds": lambda s: Holds(s, ttl=60, clock=ManualClock(1_000.0)),
}


class Boom(Exception):
    pass


def failing(hotel: str, room_type: str, nights: list[date], delta: int) -> None:
    raise Boom("the search cluster timed out")


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_a_failing_listener_neither_fails_the_booking_nor_silences_the_others(
    make_store: Callable[[], BookingStore], name: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store()
    store.add_inventory("h1", "double", FIRST, NIGHTS, total=TOTAL)
    strategy = STRATEGIES[name](store)
    heard: list[int] = []
    strategy.listeners.append(failing)
    strategy.listeners.append(lambda hotel, room_type, nights, delta: heard.append(delta))
    stay = Stay("h1", "double", FIRST, FIRST + timedelta(days=2), rooms=2, guest="ada")
    with caplog.at_level(logging.ERROR, logger="designpatterns_ref.booking"):
        booking = strategy.book(stay)  # raised Boom although the booking was committed
        assert isinstance(booking, Booking) and booking.stay == stay
        assert store.query("SELECT count(*) FROM bookings WHERE status = 'booked'") == [(1,)]
        strategy.cancel(booking.id)
    assert heard == [2, -2]
    assert store.query("SELECT status FROM bookings") == [("cancelled",)]
    failures = [r for r in caplog.records if r.name == "designpatterns_ref.booking"]
    assert len(failures) == 2 and all(r.exc_info and r.exc_info[0] is Boom for r in failures)
    assert "committed" in failures[0].getMessage()


def test_holds_and_expiry_tell_every_listener(
    make_store: Callable[[], BookingStore], caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store()
    store.add_inventory("h1", "double", FIRST, NIGHTS, total=TOTAL)
    clock = ManualClock(1_000.0)
    holds = Holds(store, ttl=60, clock=clock)
    heard: list[int] = []
    holds.listeners.extend([failing, lambda h, t, n, delta: heard.append(delta)])
    with caplog.at_level(logging.ERROR, logger="designpatterns_ref.booking"):
        holds.hold(Stay("h1", "double", FIRST, FIRST + timedelta(days=1)))
        holds.hold(Stay("h1", "double", FIRST, FIRST + timedelta(days=1), rooms=2))
        clock.advance(60)
        assert holds.expire() == 2
    assert heard == [1, 2, -1, -2]
    assert len(caplog.records) == 4


ops = st.lists(
    st.tuples(
        st.sampled_from(["book", "cancel"]),
        st.integers(0, NIGHTS - 1),
        st.integers(1, 2),
        st.integers(1, 2),
        st.integers(0, 20),
    ),
    max_size=12,
)


@pytest.mark.parametrize("name", ["pessimistic", "constraint"])
def test_the_index_after_a_failing_listener_matches_a_recount(
    make_store: Callable[[], BookingStore], name: str
) -> None:
    """The index is the last listener, after one that always raises: after any sequence of
    bookings and cancels it equals the rooms left by a recount of the live bookings."""
    store = make_store()
    hotels = iter(range(10**6))
    logging.getLogger("designpatterns_ref.booking").disabled = True  # expected failures

    @settings(max_examples=10 if store.engine == "postgres" else 30, deadline=None)
    @given(ops)
    def check(ops: list[tuple[str, int, int, int, int]]) -> None:
        hotel = f"h{next(hotels)}"
        store.add_inventory(hotel, "double", FIRST, NIGHTS, total=TOTAL)
        strategy = STRATEGIES[name](store)
        index = AvailabilityIndex()
        index.add_hotel(hotel, "lisbon", 38.7, -9.1)
        for i in range(NIGHTS):
            index.set_free(hotel, "double", FIRST + timedelta(days=i), TOTAL)
        strategy.listeners.append(failing)
        index.follow(strategy)
        made: list[int] = []
        for op, start, length, rooms, pick in ops:
            if op == "book":
                check_in = FIRST + timedelta(days=start)
                end = min(check_in + timedelta(days=length), FIRST + timedelta(days=NIGHTS))
                with contextlib.suppress(SoldOut):
                    made.append(strategy.book(Stay(hotel, "double", check_in, end, rooms)).id)
            elif made:
                strategy.cancel(made.pop(pick % len(made)))
        sold: Counter[date] = Counter()  # the oracle: a recount of the live bookings
        for check_in, check_out, rooms in store.query(
            "SELECT check_in, check_out, rooms FROM bookings WHERE hotel = ? AND status = 'booked'",
            (hotel,),
        ):
            stay = Stay(hotel, "double", store.night(check_in), store.night(check_out))
            for night in stay.nights:
                sold[night] += rooms
        for i in range(NIGHTS):
            night = FIRST + timedelta(days=i)
            for rooms in range(1, TOTAL + 1):
                got = index.search(
                    "lisbon", "double", night, night + timedelta(days=1), rooms=rooms
                )
                assert got == ([hotel] if TOTAL - sold[night] >= rooms else []), (night, rooms)

    try:
        check()
    finally:
        logging.getLogger("designpatterns_ref.booking").disabled = False
