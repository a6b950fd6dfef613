"""Races for the last rooms: 200 concurrent bookers per strategy, on SQLite and PostgreSQL.

No strategy but the naive one may sell more than the inventory on any night, every accepted
booking must hold every night of its stay, and the naive one's double booking is shown."""

from __future__ import annotations

import multiprocessing
import random
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from designpatterns_ref.booking import (
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

FIRST = date(2026, 6, 1)
NIGHTS = 5
TOTAL = 6
STRATEGIES: dict[str, Callable[[BookingStore], Any]] = {
    "pessimistic": PessimisticBooking,
    "optimistic": lambda s: OptimisticBooking(s, retries=500),
    "constraint": lambda s: ConstraintBooking(s, retries=500),
}


def random_stays(n: int, seed: int) -> list[Stay]:
    rng = random.Random(seed)
    stays = []
    for i in range(n):
        start = rng.randrange(NIGHTS)
        length = rng.randint(1, NIGHTS - start)
        check_in = FIRST + timedelta(days=start)
        stays.append(Stay("h1", "double", check_in, check_in + timedelta(days=length),
                          rooms=rng.choice([1, 1, 1, 2]), guest=f"g{i}"))  # fmt: skip
    return stays


def race(strategy: Any, stays: list[Stay]) -> tuple[list[Booking], list[BaseException]]:
    """Every stay booked by its own thread, all released at once."""
    barrier = threading.Barrier(len(stays))
    booked: list[Booking] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one(stay: Stay) -> None:
        try:
            barrier.wait()
            result = strategy.book(stay)
            with lock:
                booked.append(result)
        except SoldOut:
            pass
        except BaseException as exc:  # pragma: no cover - shown by the test
            with lock:
                errors.append(exc)
        finally:
            strategy.store.close()

    threads = [threading.Thread(target=one, args=(s,)) for s in stays]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return booked, errors


def sold_per_night(store: BookingStore) -> Counter[date]:
    """Rooms sold per night, recounted from the bookings table (not from the inventory)."""
    sold: Counter[date] = Counter()
    rows = store.query("SELECT check_in, check_out, rooms FROM bookings WHERE status = 'booked'")
    for check_in, check_out, rooms in rows:
        start, end = store.night(check_in), store.night(check_out)
        for i in range((end - start).days):
            sold[start + timedelta(days=i)] += rooms
    return sold


@pytest.mark.parametrize("name", STRATEGIES)
def test_200_bookers_never_oversell(make_store: Callable[[], BookingStore], name: str) -> None:
    store = make_store()
    store.add_inventory("h1", "double", FIRST, NIGHTS, total=TOTAL)
    strategy = STRATEGIES[name](store)
    stays = random_stays(200, seed=7)
    booked, errors = race(strategy, stays)
    assert not errors, errors[:3]
    sold = sold_per_night(store)
    assert max(sold.values()) <= TOTAL  # never more than the inventory on any night
    assert len(booked) == len({b.id for b in booked})
    assert sum(b.stay.rooms for b in booked) == sum(
        rows for (rows,) in store.query("SELECT rooms FROM bookings WHERE status = 'booked'")
    )
    if name != "constraint":  # the counters agree with the recount
        inv = store.query("SELECT night, booked FROM inventory")
        assert {store.night(n): b for n, b in inv if b} == dict(sold)
    else:  # no room holds two stays on one night
        table = "room_stays" if store.engine == "postgres" else "room_nights"
        if store.engine == "sqlite":
            per_room_night = store.query(
                f"SELECT room_id, night, count(*) FROM {table} GROUP BY 1, 2"
            )
            assert all(c == 1 for *_, c in per_room_night)
        else:
            overlaps = store.query(
                "SELECT count(*) FROM room_stays a JOIN room_stays b ON a.room_id = b.room_id "
                "AND a.booking_id < b.booking_id AND a.stay && b.stay"
            )
            assert overlaps == [(0,)]
    # the hot nights sold out: the race was real
    assert max(sold.values()) >= TOTAL - 1


def test_the_naive_version_double_books(make_store: Callable[[], BookingStore]) -> None:
    store = make_store()
    store.add_inventory("h1", "double", FIRST, 1, total=1)
    naive = NaiveBooking(store, think=0.02)  # a slow app server between read and write
    stay = Stay("h1", "double", FIRST, FIRST + timedelta(days=1))
    booked, errors = race(naive, [stay] * 20)
    assert not errors
    assert len(booked) > 1  # more bookings than the one room: the lost update
    assert sold_per_night(store)[FIRST] > 1
    assert store.query("SELECT booked FROM inventory") == [(1,)]  # and the counter lies


def _process_bookers(args: tuple[str, str, int]) -> int:
    engine, where, seed = args
    from designpatterns_ref.booking import PessimisticBooking, PostgresStore, SoldOut, SQLiteStore

    store = SQLiteStore(where) if engine == "sqlite" else PostgresStore(where)
    strategy = PessimisticBooking(store)
    ok = 0
    for stay in random_stays(25, seed):
        try:
            strategy.book(stay)
            ok += 1
        except SoldOut:
            pass
    store.close()
    return ok


def test_bookers_in_8_processes(make_store: Callable[[], BookingStore]) -> None:
    store = make_store()
    store.add_inventory("h1", "double", FIRST, NIGHTS, total=TOTAL)
    where = getattr(store, "path", None) or store.url  # type: ignore[attr-defined]
    context = multiprocessing.get_context("spawn")
    with context.Pool(8) as pool:
        counts = pool.map(_process_bookers, [(store.engine, where, s) for s in range(8)])
    sold = sold_per_night(store)
    assert max(sold.values()) <= TOTAL
    assert sum(counts) == store.query("SELECT count(*) FROM bookings")[0][0]


CANCELLERS: dict[str, Callable[[BookingStore], Any]] = {
    **STRATEGIES,
    "naive": NaiveBooking,
    "holds": lambda s: Holds(s, ttl=600),
}


AtOnce = Callable[[BookingStore, int, Callable[[int], object]], list[object]]


@pytest.mark.parametrize("name", sorted(CANCELLERS))
def test_concurrent_cancels_of_one_booking_give_its_rooms_back_once(
    make_store: Callable[[], BookingStore], at_once: AtOnce, name: str
) -> None:
    """Four threads cancel the same booking at once: one cancels, three hear "already
    cancelled", and the rooms come back exactly once (inventory, per-room rows and listeners)."""
    store = make_store()
    store.add_inventory("h1", "double", FIRST, 3, total=2)
    strategy = CANCELLERS[name](store)
    changes: list[int] = []
    strategy.listeners.append(lambda hotel, room_type, nights, delta: changes.append(delta))
    stay = Stay("h1", "double", FIRST, FIRST + timedelta(days=2), rooms=2)
    for _ in range(8):
        booking = strategy.book(stay)
        changes.clear()
        outcomes = at_once(store, 4, lambda i, b=booking.id: strategy.cancel(b))
        refused = f"BookingError: booking_id={booking.id} is already cancelled"
        assert sorted(map(str, outcomes)) == sorted(["None", *[refused] * 3])
        assert changes == [-2]  # the search index hears of the rooms once
        assert store.query("SELECT night, booked FROM inventory ORDER BY night") == [
            (n, 0) for (n,) in store.query("SELECT night FROM inventory ORDER BY night")
        ]
        assert strategy.availability("h1", "double", FIRST, FIRST + timedelta(days=3)) == 2
        assert store.query("SELECT status FROM bookings WHERE id = ?", (booking.id,)) == [
            ("cancelled",)
        ]
    assert strategy.book(stay).stay == stay  # the two rooms sell once more, and then no more
    with pytest.raises(SoldOut):
        strategy.book(Stay("h1", "double", FIRST, FIRST + timedelta(days=1)))
