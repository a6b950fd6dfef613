"""Holds expire and convert once; payments are idempotent; the search index equals a recount;
overbooking's expected walks equal a brute-force sum; bad input changes nothing."""

from __future__ import annotations

import contextlib
import itertools
import math
import random
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.booking import (
    AvailabilityIndex,
    Booking,
    BookingError,
    BookingStore,
    ConstraintBooking,
    Holds,
    OptimisticBooking,
    PessimisticBooking,
    SoldOut,
    Stay,
    best_overbooking,
    expected_walks,
)
from designpatterns_ref.clock import ManualClock

FIRST = date(2026, 6, 1)


def stay(nights: int = 2, rooms: int = 1, start: int = 0) -> Stay:
    check_in = FIRST + timedelta(days=start)
    return Stay("h1", "double", check_in, check_in + timedelta(days=nights), rooms)


def test_a_hold_expires_and_gives_its_rooms_back(make_store: Callable[[], BookingStore]) -> None:
    store = make_store()
    store.add_inventory("h1", "double", FIRST, 3, total=2)
    clock = ManualClock(1000.0)
    holds = Holds(store, ttl=300, clock=clock)
    first = holds.hold(stay(rooms=2))
    with pytest.raises(SoldOut):
        holds.hold(stay())
    clock.advance(301)
    assert holds.expire() == 1
    assert holds.expire() == 0  # released exactly once
    assert holds.availability("h1", "double", FIRST, FIRST + timedelta(days=2)) == 2
    with pytest.raises(SoldOut, match="expired"):
        holds.confirm(first, "late-payment", amount=100)
    assert store.query("SELECT count(*) FROM payments") == [(0,)]


def test_confirm_is_idempotent_and_converts_once(
    make_store: Callable[[], BookingStore],
    at_once: Callable[[BookingStore, int, Callable[[int], object]], list[object]],
) -> None:
    """Six confirms of one hold at once, three per key (a client's retries racing its first
    try, and another payment): one booking, one charge; every caller with the winning key gets
    that booking, every caller with the other key SoldOut."""
    store = make_store()
    store.add_inventory("h1", "double", FIRST, 3, total=8)
    holds = Holds(store, ttl=300, clock=ManualClock())
    for trial in range(6):
        hold = holds.hold(stay())
        keys = [f"a{trial}", f"b{trial}"] * 3
        results = at_once(store, 6, lambda i, h=hold, k=keys: holds.confirm(h, k[i], amount=500))
        assert store.query("SELECT count(*) FROM payments WHERE hold_id = ?", (hold,)) == [(1,)]
        (winner, booking_id), *_ = store.query(
            "SELECT idempotency_key, booking_id FROM payments WHERE hold_id = ?", (hold,)
        )
        for key, result in zip(keys, results, strict=True):
            if key == winner:  # the same key again returns the same booking
                assert isinstance(result, Booking) and result.id == booking_id, (key, result)
            else:
                assert str(result).startswith("SoldOut: hold"), (key, result)
        assert holds.confirm(hold, winner, amount=500).id == booking_id  # a later retry too
        with pytest.raises(BookingError, match="another payment"):
            holds.confirm(hold, winner, amount=999)
    assert store.query("SELECT count(*) FROM bookings") == [(6,)]
    assert store.query("SELECT count(*) FROM payments") == [(6,)]  # one charge per hold
    assert store.query("SELECT booked FROM inventory ORDER BY night") == [(6,), (6,), (0,)]


def test_one_key_for_two_holds_at_once_pays_once(
    make_store: Callable[[], BookingStore],
    at_once: Callable[[BookingStore, int, Callable[[int], object]], list[object]],
) -> None:
    """A key reused for another hold at the same moment: one payment, and the other confirm is
    refused with BookingError (not the driver's unique violation), its hold still held."""
    store = make_store()
    store.add_inventory("h1", "double", FIRST, 3, total=10)
    holds = Holds(store, ttl=300, clock=ManualClock())
    for trial in range(5):
        pair = [holds.hold(stay()), holds.hold(stay())]
        key = f"shared-{trial}"
        results = at_once(store, 2, lambda i, p=pair, k=key: holds.confirm(p[i], k, amount=5))
        assert store.query("SELECT count(*) FROM payments WHERE idempotency_key = ?", (key,)) == [
            (1,)
        ]
        (paid_hold,) = store.query("SELECT hold_id FROM payments WHERE idempotency_key = ?",
                                   (key,))[0]  # fmt: skip
        for hold, result in zip(pair, results, strict=True):
            if hold == paid_hold:
                assert isinstance(result, Booking), result
            else:
                refused = f"BookingError: idempotency_key={key!r} was used for another payment"
                assert result == refused
                assert store.query("SELECT status FROM holds WHERE id = ?", (hold,)) == [("held",)]


def test_cancel_gives_rooms_back_for_every_strategy(make_store: Callable[[], BookingStore]) -> None:
    for make in (PessimisticBooking, OptimisticBooking, ConstraintBooking):
        store = make_store()
        store.add_inventory("h1", "double", FIRST, 4, total=1)
        hotel = make(store)
        booking = hotel.book(stay(3))
        assert hotel.availability("h1", "double", FIRST, FIRST + timedelta(days=4)) == 0
        hotel.cancel(booking.id)
        assert hotel.availability("h1", "double", FIRST, FIRST + timedelta(days=4)) == 1
        with pytest.raises(BookingError, match="cancelled"):
            hotel.cancel(booking.id)
        hotel.book(stay(3))  # the room is really free again


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(1, 3), st.integers(1, 2), st.booleans()),
                max_size=25), st.integers(0, 10**6))  # fmt: skip
def test_the_search_index_equals_a_recount(
    ops: list[tuple[int, int, int, bool]], seed: int
) -> None:
    import tempfile
    from pathlib import Path

    from designpatterns_ref.booking import SQLiteStore

    store = SQLiteStore(Path(tempfile.mkdtemp()) / "h.db")
    index = AvailabilityIndex()
    for h, (lat, lon) in {"h1": (38.72, -9.14), "h2": (38.71, -9.15)}.items():
        index.add_hotel(h, "lisbon", lat, lon)
        store.add_inventory(h, "double", FIRST, 8, total=3)
        for i in range(8):
            index.set_free(h, "double", FIRST + timedelta(days=i), 3)
    hotel = PessimisticBooking(store)
    index.follow(hotel)
    rng = random.Random(seed)
    live: list[int] = []
    for start, nights, rooms, cancel in ops:
        if cancel and live:
            hotel.cancel(live.pop(rng.randrange(len(live))))
            continue
        h = rng.choice(["h1", "h2"])
        check_in = FIRST + timedelta(days=start)
        wanted = Stay(h, "double", check_in, check_in + timedelta(days=nights), rooms)
        with contextlib.suppress(SoldOut):
            live.append(hotel.book(wanted).id)
    for a, b in itertools.combinations(range(9), 2):
        for rooms in (1, 2, 3):
            start, end = FIRST + timedelta(days=a), FIRST + timedelta(days=b)
            expected = [
                h for h in ("h1", "h2") if hotel.availability(h, "double", start, end) >= rooms
            ]
            got = index.search("lisbon", "double", start, end, rooms=rooms)
            assert got == expected
    tomorrow = FIRST + timedelta(days=1)
    near = index.near(38.72, -9.14, 5_000, "double", FIRST, tomorrow)
    free = index.search("lisbon", "double", FIRST, tomorrow)
    assert [h for h, _ in near] == [h for h in ("h1", "h2") if h in free]  # h1 is the nearer
    store.close()


@given(st.integers(0, 40), st.integers(0, 30), st.floats(0, 1))
def test_expected_walks_equals_a_brute_force_sum(sold: int, total: int, no_show: float) -> None:
    p = 1 - no_show
    brute = 0.0  # enumerate every show/no-show pattern's count: sum over k of P(k) * excess
    for shows in range(sold + 1):
        prob = math.comb(sold, shows) * p**shows * (1 - p) ** (sold - shows)
        brute += prob * max(0, shows - total)
    assert expected_walks(sold=sold, total=total, no_show=no_show) == pytest.approx(brute, abs=1e-9)


def test_overbooking_policy_sells_more_when_walks_are_cheap() -> None:
    cheap, _ = best_overbooking(total=100, no_show=0.1, room_revenue=100, walk_cost=50)
    dear, _ = best_overbooking(total=100, no_show=0.1, room_revenue=100, walk_cost=5000)
    none, _ = best_overbooking(total=100, no_show=0.0, room_revenue=100, walk_cost=50)
    assert cheap > dear >= 100
    assert none == 100  # nobody misses: selling more only walks guests


def test_pessimistic_overbooking_allowance(make_store: Callable[[], BookingStore]) -> None:
    store = make_store()
    store.add_inventory("h1", "double", FIRST, 1, total=10)
    hotel = PessimisticBooking(store, overbooking=0.2)
    for _ in range(12):
        hotel.book(stay(1))
    with pytest.raises(SoldOut):
        hotel.book(stay(1))


def test_bad_input_is_refused_and_nothing_is_written(
    make_store: Callable[[], BookingStore],
) -> None:
    store = make_store()
    store.add_inventory("h1", "double", FIRST, 3, total=2)
    hotel = PessimisticBooking(store)
    before = store.query("SELECT * FROM inventory ORDER BY night")
    bad: list[Callable[[], object]] = [
        lambda: Stay("h1", "double", FIRST, FIRST),  # ends when it starts
        lambda: Stay("h1", "double", FIRST, FIRST - timedelta(days=1)),  # ends before it starts
        lambda: Stay("h1", "double", FIRST, FIRST + timedelta(days=1), rooms=0),  # zero rooms
        lambda: Stay("", "double", FIRST, FIRST + timedelta(days=1)),
        lambda: Stay("h1", "double", "2026-06-01", FIRST),  # type: ignore[arg-type]
        lambda: Stay("h1", "double", FIRST, FIRST + timedelta(days=400)),
        lambda: hotel.book("a stay"),  # type: ignore[arg-type]
        lambda: hotel.cancel(12345),
        lambda: hotel.cancel(-1),
        lambda: PessimisticBooking(store, overbooking=float("nan")),
        lambda: PessimisticBooking("store"),  # type: ignore[arg-type]
        lambda: OptimisticBooking(store, retries=-1),
        lambda: Holds(store, ttl=0),
        lambda: Holds(store, clock=1),  # type: ignore[arg-type]
        lambda: expected_walks(sold=-1, total=1, no_show=0.1),
    ]
    for call in bad:
        with pytest.raises(BookingError):
            call()
    with pytest.raises(SoldOut):
        hotel.book(Stay("h1", "suite", FIRST, FIRST + timedelta(days=1)))  # an unknown room type
    assert store.query("SELECT * FROM inventory ORDER BY night") == before
    assert store.query("SELECT count(*) FROM bookings") == [(0,)]
