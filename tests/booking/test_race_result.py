"""``race`` counts the rooms its own bookings took per hotel, room type and night.

It summed every hotel's bookings (and earlier races' too) per night and compared that with one
hotel's ``total``: two hotels of one room, each booked once, were reported "oversold"."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from designpatterns_ref.booking import (
    BookingError,
    BookingStore,
    NaiveBooking,
    PessimisticBooking,
    SQLiteStore,
    Stay,
)
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


def test_a_thread_that_cannot_start_releases_the_bookers_already_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third booker cannot be started (a thread limit): the two already waiting on the
    barrier are released and joined, nothing is booked, and the caller gets BookingError with
    the cause chained. They used to wait forever, keeping the process from exiting."""
    store = SQLiteStore(tmp_path / "h.db")
    store.add_inventory("h1", "double", D1, 1, total=1)
    real_start = threading.Thread.start
    calls = 0

    def start(self: threading.Thread) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("can't start new thread")
        real_start(self)

    before = set(threading.enumerate())
    monkeypatch.setattr(threading.Thread, "start", start)
    with pytest.raises(BookingError, match="only 2 of 4 booker threads") as info:
        race(PessimisticBooking(store), [Stay("h1", "double", D1, D2)] * 4, total=1)
    monkeypatch.undo()
    assert isinstance(info.value.__cause__, RuntimeError)
    assert set(threading.enumerate()) <= before  # every started booker has returned
    assert store.query("SELECT count(*) FROM bookings") == [(0,)]
    store.close()
