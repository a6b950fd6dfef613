"""Every call of :class:`Holds` gives expired holds' rooms back first, as its docstring says.

The oracle is a plain model of one night with ``TOTAL`` rooms: holds with their expiry times,
converted holds and their bookings, cancelled bookings. After any call with valid arguments the
inventory's ``booked`` counter must equal the rooms of live holds (not yet at their expiry) plus
live bookings, whichever call it was (hold, confirm, cancel, availability, book); the awkward
cases are a clock exactly at a hold's expiry and a confirm after it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.booking import (
    BookingError,
    BookingStore,
    Holds,
    PessimisticBooking,
    SoldOut,
    Stay,
)
from designpatterns_ref.clock import ManualClock

NIGHT = date(2026, 6, 1)
TOTAL, TTL = 2, 100
_hotels = itertools.count()

ops = st.lists(
    st.one_of(
        st.tuples(st.just("hold"), st.integers(0, 0)),
        st.tuples(st.just("advance"), st.sampled_from([0, 1, TTL - 1, TTL, TTL + 1])),
        st.tuples(st.just("confirm"), st.integers(0, 5)),
        st.tuples(st.just("cancel"), st.integers(0, 5)),
        st.tuples(st.just("availability"), st.integers(0, 0)),
        st.tuples(st.just("book"), st.integers(0, 0)),
    ),
    max_size=20,
)


def test_every_call_gives_expired_holds_back(make_store: Callable[[], BookingStore]) -> None:
    store = make_store()

    @settings(max_examples=15 if store.engine == "postgres" else 50, deadline=None)
    @given(ops)
    # a hold expires, then confirm and availability are called
    @example([("hold", 0), ("advance", TTL + 1), ("confirm", 0), ("availability", 0)])
    @example([("hold", 0), ("advance", TTL), ("availability", 0)])  # exactly at the expiry
    @example([("hold", 0), ("hold", 0), ("confirm", 0), ("advance", TTL), ("cancel", 0)])
    def check(ops: list[tuple[str, int]]) -> None:
        hotel = f"h{next(_hotels)}"
        store.add_inventory(hotel, "double", NIGHT, 1, total=TOTAL, numbered=False)
        clock = ManualClock(1_000.0)
        holds = Holds(store, ttl=TTL, clock=clock)
        stay = Stay(hotel, "double", NIGHT, NIGHT + timedelta(days=1))
        expires: dict[int, float] = {}  # held, not converted: hold id -> expiry
        converted: dict[int, int] = {}  # hold id -> booking id
        made: list[int] = []  # every hold id, in order
        live_bookings: set[int] = set()
        cancelled: set[int] = set()

        def taken() -> int:
            now = clock()
            return sum(1 for t in expires.values() if t > now) + len(live_bookings)

        for op, arg in ops:
            if op == "advance":
                clock.advance(arg)
                continue
            if op == "hold":
                if taken() >= TOTAL:
                    with pytest.raises(SoldOut):
                        holds.hold(stay)
                else:
                    hold_id = holds.hold(stay)
                    made.append(hold_id)
                    expires[hold_id] = clock() + TTL
            elif op == "book":
                if taken() >= TOTAL:
                    with pytest.raises(SoldOut):
                        holds.book(stay)
                else:
                    booking = holds.book(stay)
                    live_bookings.add(booking.id)
                    made.append(-1)  # a hold converted at once, under a generated key
            elif op == "availability":
                got = holds.availability(hotel, "double", NIGHT, NIGHT + timedelta(days=1))
                assert got == TOTAL - taken()
            elif op == "confirm":
                if arg >= len(made) or made[arg] < 0:
                    continue
                hold_id = made[arg]
                if hold_id in converted:  # a retry with the paying key: the same booking
                    assert holds.confirm(hold_id, f"k{hold_id}", amount=1).id == converted[hold_id]
                elif expires[hold_id] <= clock():
                    with pytest.raises(SoldOut, match="expired"):
                        holds.confirm(hold_id, f"k{hold_id}", amount=1)
                else:
                    booking = holds.confirm(hold_id, f"k{hold_id}", amount=1)
                    del expires[hold_id]
                    converted[hold_id] = booking.id
                    live_bookings.add(booking.id)
            elif op == "cancel":
                booked = sorted(live_bookings | cancelled)
                if arg >= len(booked):
                    continue
                booking_id = booked[arg]
                if booking_id in cancelled:
                    with pytest.raises(BookingError, match="cancelled"):
                        holds.cancel(booking_id)
                else:
                    holds.cancel(booking_id)
                    live_bookings.discard(booking_id)
                    cancelled.add(booking_id)
            # whichever call it was, the holds whose time is up have given their rooms back
            rows = store.query(
                "SELECT booked FROM inventory WHERE hotel = ? AND night = ?", (hotel, NIGHT)
            )
            assert rows == [(taken(),)], (op, arg)

    check()


def test_bad_arguments_run_no_expiry(make_store: Callable[[], BookingStore]) -> None:
    """A call refused for its arguments changes nothing, not even the expiry that is due."""
    store = make_store()
    store.add_inventory("h1", "double", NIGHT, 1, total=TOTAL, numbered=False)
    clock = ManualClock(1_000.0)
    holds = Holds(store, ttl=TTL, clock=clock)
    hold_id = holds.hold(Stay("h1", "double", NIGHT, NIGHT + timedelta(days=1)))
    clock.advance(TTL + 1)
    with pytest.raises(BookingError):
        holds.confirm(hold_id, "", amount=1)
    with pytest.raises(BookingError):
        holds.confirm(hold_id, "k", amount=-1)
    with pytest.raises(BookingError):
        holds.cancel(0)
    with pytest.raises(BookingError):
        holds.availability("h1", "double", NIGHT, NIGHT)
    assert store.query("SELECT status FROM holds WHERE id = ?", (hold_id,)) == [("held",)]
    assert holds.expire() == 1


def test_a_cancel_that_loses_a_race_to_another_cancel_runs_no_expiry(
    make_store: Callable[[], BookingStore],
) -> None:
    """Two servers cancel one booking at the same moment; B's cancel runs whole while A is
    between its start and its update, and A's clock is already past a hold's expiry (B's is
    not). A is refused ("already cancelled") and, refused, changes nothing: the hold is still
    held, its rooms still taken, and A's listeners heard nothing. A's check of the booking once
    passed before B's cancel, and A ran the expiry before its update found the row cancelled."""
    store = make_store()
    store.add_inventory("h1", "double", NIGHT, 1, total=TOTAL, numbered=False)
    night = Stay("h1", "double", NIGHT, NIGHT + timedelta(days=1))
    b = Holds(store, ttl=TTL, clock=ManualClock(1_000.0))
    booking = b.book(night)
    hold_id = b.hold(night)  # its time is up at 1_100

    raced: list[int] = []

    class RacedByB(Holds):
        def _now(self) -> float:  # B's whole cancel runs as A reads its clock (once)
            if not raced:
                raced.append(booking.id)
                b.cancel(booking.id)
            return super()._now()

    a = RacedByB(store, ttl=TTL, clock=ManualClock(1_000.0 + TTL + 1))
    heard: list[int] = []
    a.listeners.append(lambda hotel, room_type, nights, delta: heard.append(delta))
    with pytest.raises(BookingError, match=f"booking_id={booking.id} is already cancelled"):
        a.cancel(booking.id)
    assert store.query("SELECT status FROM holds WHERE id = ?", (hold_id,)) == [("held",)]
    assert store.query("SELECT booked FROM inventory WHERE night = ?", (NIGHT,)) == [(1,)]
    assert heard == []
    assert a.expire() == 1 and heard == [-1]  # a valid call expires it


def test_refused_lookups_run_no_expiry(make_store: Callable[[], BookingStore]) -> None:
    """A cancel or confirm refused for the booking, hold or key it names changes nothing either:
    an unknown booking, another strategy's, one cancelled already, an unknown hold, a key used
    for another payment. They were refused only after the expiry that was due had run."""
    store = make_store()
    store.add_inventory("h1", "double", NIGHT, 3, total=TOTAL, numbered=False)
    clock = ManualClock(1_000.0)
    holds = Holds(store, ttl=TTL, clock=clock)
    night = Stay("h1", "double", NIGHT, NIGHT + timedelta(days=1))
    paid = holds.confirm(holds.hold(night), "paid", amount=5)
    cancelled = holds.book(night)
    holds.cancel(cancelled.id)
    later = Stay("h1", "double", NIGHT + timedelta(days=2), NIGHT + timedelta(days=3))
    others = PessimisticBooking(store).book(later)
    hold_id = holds.hold(night)
    clock.advance(TTL + 1)  # the hold's time is up: only a valid call may expire it
    refused = {
        "cancel(unknown)": lambda: holds.cancel(2**62),
        "cancel(another strategy's)": lambda: holds.cancel(others.id),
        "cancel(cancelled)": lambda: holds.cancel(cancelled.id),
        "confirm(unknown hold)": lambda: holds.confirm(2**62, "k", amount=1),
        "confirm(key of another payment)": lambda: holds.confirm(hold_id, "paid", amount=5),
    }
    for what, call in refused.items():
        with pytest.raises(BookingError):
            call()
        assert store.query("SELECT status FROM holds WHERE id = ?", (hold_id,)) == [("held",)], what
        assert store.query("SELECT booked FROM inventory WHERE night = ?", (NIGHT,)) == [(2,)], what
    assert holds.confirm(holds.hold(later), "k2", amount=1).stay == later  # a valid call expires
    assert store.query("SELECT status FROM holds WHERE id = ?", (hold_id,)) == [("expired",)]
    assert paid.stay == night


def test_the_paying_key_of_a_cancelled_booking_is_refused(
    make_store: Callable[[], BookingStore],
) -> None:
    """A confirm retried with the paying key after the booking was cancelled returned that
    booking as if it were live. Now it is refused with BookingError and changes nothing."""
    store = make_store()
    store.add_inventory("h1", "double", NIGHT, 1, total=TOTAL, numbered=False)
    holds = Holds(store, ttl=TTL, clock=ManualClock(1_000.0))
    hold_id = holds.hold(Stay("h1", "double", NIGHT, NIGHT + timedelta(days=1)))
    booking = holds.confirm(hold_id, "pay-1", amount=100)
    assert holds.confirm(hold_id, "pay-1", amount=100) == booking  # a retry while it is live
    holds.cancel(booking.id)
    with pytest.raises(BookingError, match=r"idempotency_key='pay-1' .* was cancelled"):
        holds.confirm(hold_id, "pay-1", amount=100)
    assert store.query("SELECT status FROM bookings") == [("cancelled",)]
    assert store.query("SELECT count(*) FROM payments") == [(1,)]
    assert store.query("SELECT booked FROM inventory") == [(0,)]
