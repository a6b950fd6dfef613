"""``race`` counts the rooms sold per hotel, room type and night the race asked for.

It summed every hotel's bookings per night and compared that with one hotel's ``total``: two
hotels of one room, each booked once, were reported "oversold". Then it counted only the race's
own bookings: a night one room short before the race, sold twice more by it, was "not
oversold". It counts every live booking on the nights the race asked for."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.booking import (
    BookingError,
    BookingStore,
    NaiveBooking,
    PessimisticBooking,
    SoldOut,
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


def test_earlier_bookings_count_towards_the_verdict(
    make_store: Callable[[], BookingStore],
) -> None:
    """The rooms sold before a race are sold during it too: the verdict counts them."""
    store = make_store()
    store.add_inventory("h1", "double", D1, 2, total=3)
    hotel = PessimisticBooking(store)
    first = race(hotel, [Stay("h1", "double", D1, D2, rooms=2)], total=3)
    second = race(hotel, [Stay("h1", "double", D1, D1 + timedelta(days=2))], total=3)
    assert (first.max_sold, second.max_sold) == (2, 3)
    assert not first.oversold and not second.oversold


def test_a_race_that_oversells_a_night_sold_before_it_is_oversold(
    make_store: Callable[[], BookingStore],
) -> None:
    """One room of two sold before the race; two naive bookers both read one left and both
    book: three bookings for two rooms. The race's own bookings took only two, and it said
    "not oversold"."""
    store = make_store()
    store.add_inventory("h1", "double", D1, 1, total=2)
    PessimisticBooking(store).book(Stay("h1", "double", D1, D2, guest="early"))
    naive = NaiveBooking(store, think=0.3)  # every booker reads the count before any writes
    r = race(naive, [Stay("h1", "double", D1, D2, guest=f"g{i}") for i in range(2)], total=2)
    assert (r.accepted, r.max_sold, r.oversold) == (2, 3, True)


earlier = st.lists(
    st.tuples(
        st.sampled_from([("h1", "double"), ("h1", "single"), ("h2", "double")]),
        st.integers(0, 3),  # first night
        st.integers(1, 2),  # nights
        st.integers(1, 2),  # rooms
        st.booleans(),  # cancelled afterwards
    ),
    max_size=6,
)
raced = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 2), st.integers(1, 2)), min_size=1,
                 max_size=4)  # fmt: skip


def test_max_sold_is_the_most_rooms_live_bookings_hold_on_a_raced_night(
    make_store: Callable[[], BookingStore],
) -> None:
    """The oracle: for each night a raced stay asks for, the rooms of the live bookings of that
    hotel and room type holding it, summed by the database night by night."""
    store = make_store()
    hotels = iter(range(10**6))

    @settings(max_examples=8 if store.engine == "postgres" else 30, deadline=None)
    @given(earlier, raced)
    def check(before: list[tuple[Any, ...]], stays: list[tuple[int, int, int]]) -> None:
        n = next(hotels)
        names = {"h1": f"a{n}", "h2": f"b{n}"}
        for hotel in names.values():
            for room_type in ("double", "single"):
                store.add_inventory(hotel, room_type, D1, 6, total=3, numbered=False)
        booker = PessimisticBooking(store)
        for (hotel, room_type), start, nights, rooms, cancel in before:
            check_in = D1 + timedelta(days=start)
            stay = Stay(names[hotel], room_type, check_in, check_in + timedelta(days=nights), rooms)
            try:
                booking = booker.book(stay)
            except SoldOut:
                continue
            if cancel:
                booker.cancel(booking.id)
        race_stays = [
            Stay(names["h1"], "double", D1 + timedelta(days=a), D1 + timedelta(days=a + k), rooms)
            for a, k, rooms in stays
        ]
        r = race(booker, race_stays, total=3)
        asked = {night for stay in race_stays for night in stay.nights}
        want = max(
            store.query(
                "SELECT coalesce(sum(rooms), 0) FROM bookings WHERE hotel = ? "
                "AND room_type = 'double' AND status = 'booked' AND check_in <= ? "
                "AND check_out > ?",
                (names["h1"], night, night),
            )[0][0]
            for night in asked
        )
        assert r.max_sold == want and r.oversold is (want > 3)

    check()


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
