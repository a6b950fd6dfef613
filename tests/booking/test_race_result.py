"""``race`` counts the rooms its own bookings took per hotel, room type and night.

It summed every hotel's bookings (and earlier races' too) per night and compared that with one
hotel's ``total``: two hotels of one room, each booked once, were reported "oversold"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from designpatterns_ref.booking import BookingStore, NaiveBooking, PessimisticBooking, Stay
from designpatterns_ref.booking.race import race

D1, D2 = date(2026, 6, 1), date(2026, 6, 2)


def test_two_hotels_of_one_room_each_are_not_oversold(
    make_store: Callable[[], BookingStore],
) -> None:
    store = make_store()
    for hotel in ("h1", "h2"):
        store.add_inventory(hotel, "double", D1, 1, total=1)
        store.add_inventory(hotel, "single", D1, 1, total=1)
    stays = [Stay(h, t, D1, D2) for h in ("h1", "h2") for t in ("double", "single")]
    r = race(PessimisticBooking(store), stays, total=1)
    assert (r.accepted, r.refused, r.max_sold, r.oversold) == (4, 0, 1, False)


def test_earlier_bookings_are_not_this_race_s(make_store: Callable[[], BookingStore]) -> None:
    store = make_store()
    store.add_inventory("h1", "double", D1, 2, total=3)
    hotel = PessimisticBooking(store)
    first = race(hotel, [Stay("h1", "double", D1, D2, rooms=2)], total=3)
    second = race(hotel, [Stay("h1", "double", D1, D1 + timedelta(days=2))], total=3)
    assert (first.max_sold, second.max_sold) == (2, 1)
    assert not first.oversold and not second.oversold


def test_a_real_double_booking_is_still_reported(make_store: Callable[[], BookingStore]) -> None:
    store = make_store()
    store.add_inventory("h1", "double", D1, 1, total=1)
    store.add_inventory("h2", "double", D1, 1, total=1)
    naive = NaiveBooking(store, think=0.05)  # a slow app server: every booker reads 1 free
    r = race(naive, [Stay("h1", "double", D1, D2)] * 4 + [Stay("h2", "double", D1, D2)], total=1)
    assert r.oversold and r.max_sold > 1
