"""Random sequences of bookings, holds, confirms, cancels, expiries and availability questions,
on SQLite and PostgreSQL, against a short per-night counting model.

The model keeps, per night of one hotel, the rooms offered (``total``) and taken (``booked``);
a stay fits when every night is offered and has ``capacity - booked >= rooms`` (the capacity
is ``total``, or ``floor(total * 1.5)`` for the pessimistic strategy with a 50% overbooking
allowance). Holds take rooms until their expiry (``expires_at <= now`` gives them back, and
every call of :class:`Holds` not refused for its arguments runs that first: a cancel of an
unknown, foreign or cancelled booking, or a confirm of an unknown hold or with a key paid for
another hold, amount or a cancelled booking, runs none), confirms follow the idempotency-key
rules (the paying key of a cancelled booking is refused), and
the constraint strategy (on a room type of its own) is modelled room by room: a stay may take
room ``n`` when ``n <= min(total)`` over its nights and the room is free on each of them.
Every answer (a booking, the refusal's class, an availability, an expiry count) and the final
inventory are compared with the model.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from designpatterns_ref.booking import (
    BookingError,
    BookingStore,
    ConstraintBooking,
    Holds,
    OptimisticBooking,
    PessimisticBooking,
    SoldOut,
    Stay,
)
from designpatterns_ref.clock import ManualClock

D0 = date(2026, 6, 1)
OFFERED = 4  # nights 0..3 are offered; night 4 is not
TTL = 600.0
_hotels = itertools.count()


def _outcome(call: Callable[[], Any]) -> Any:
    """The call's result, or the class of the family's error it raised."""
    try:
        return call()
    except (BookingError, SoldOut) as exc:
        return type(exc)


class BookingModel(RuleBasedStateMachine):
    make_store: Callable[[], BookingStore]  # set by the test before the machine runs

    def __init__(self) -> None:
        super().__init__()
        # a store of its own: expiry runs over every hold of a store, of any hotel
        self.store = self.make_store()
        self.hotel = f"m{next(_hotels)}"
        self.clock = ManualClock(1000.0)
        self.strategies: dict[str, Any] = {
            "pessimistic": PessimisticBooking(self.store),
            "over": PessimisticBooking(self.store, overbooking=0.5),
            "optimistic": OptimisticBooking(self.store),
            "holds": Holds(self.store, ttl=TTL, clock=self.clock),
        }
        self.constraint = ConstraintBooking(self.store)
        self.total: list[int] = []
        self.booked: list[int] = []
        # booking id -> [strategy name, first night, last night + 1, rooms, status]
        self.bookings: dict[int, list[Any]] = {}
        # hold id -> [first, end, rooms, expires_at, status ('held', 'converted', 'expired')]
        self.holds: dict[int, list[Any]] = {}
        self.payments: dict[str, tuple[int, int, int]] = {}  # key -> hold, amount, booking
        self.rooms: dict[int, set[int]] = {}  # constraint: room number -> nights taken
        self.room_number: dict[int, int] = {}  # rooms.id -> number
        self.suite_bookings: dict[int, tuple[list[int], int, int, bool]] = {}

    # --- setup -------------------------------------------------------------------------------
    @initialize(totals=st.lists(st.integers(0, 3), min_size=OFFERED, max_size=OFFERED))
    def offer(self, totals: list[int]) -> None:
        for i, total in enumerate(totals):
            self.store.add_inventory(self.hotel, "double", D0 + timedelta(days=i), 1, total=total)
            self.store.add_inventory(self.hotel, "suite", D0 + timedelta(days=i), 1, total=total)
        self.total = list(totals)
        self.booked = [0] * OFFERED
        for room_id, number in self.store.query(
            "SELECT id, number FROM rooms WHERE hotel = ? AND room_type = 'suite'", (self.hotel,)
        ):
            self.room_number[int(room_id)] = int(number)
            self.rooms[int(number)] = set()

    # --- the model ---------------------------------------------------------------------------
    def cap(self, who: str, night: int) -> int:
        total = self.total[night]
        return math.floor(total * 1.5 + 1e-9) if who == "over" else total

    def fits(self, who: str, first: int, end: int, rooms: int) -> bool:
        if end > OFFERED:
            return False
        return all(self.cap(who, n) - self.booked[n] >= rooms for n in range(first, end))

    def free(self, who: str, first: int, end: int) -> int:
        if end > OFFERED:
            return 0
        return max(0, min(self.cap(who, n) - self.booked[n] for n in range(first, end)))

    def take(self, first: int, end: int, rooms: int) -> None:
        for n in range(first, end):
            self.booked[n] += rooms

    def model_expire(self) -> int:
        now = self.clock()
        count = 0
        for h in self.holds.values():
            if h[4] == "held" and h[3] <= now:
                h[4] = "expired"
                self.take(h[0], h[1], -h[2])
                count += 1
        return count

    def stay(self, first: int, end: int, rooms: int = 1, room_type: str = "double") -> Stay:
        return Stay(self.hotel, room_type, D0 + timedelta(days=first),
                    D0 + timedelta(days=end), rooms=rooms)  # fmt: skip

    def suite_free_rooms(self, first: int, end: int) -> list[int]:
        if end > OFFERED:
            return []
        limit = min(self.total[n] for n in range(first, end))
        nights = set(range(first, end))
        return [r for r, taken in self.rooms.items() if r <= limit and not taken & nights]

    # --- rules -------------------------------------------------------------------------------
    spans = st.integers(0, OFFERED).flatmap(
        lambda a: st.tuples(st.just(a), st.integers(a + 1, OFFERED + 1))
    )

    @rule(
        who=st.sampled_from(["pessimistic", "over", "optimistic", "holds"]),
        span=spans,
        rooms=st.integers(1, 4),
    )
    def book(self, who: str, span: tuple[int, int], rooms: int) -> None:
        first, end = span
        if who == "holds":
            self.model_expire()
        want = self.fits(who, first, end, rooms)
        got = _outcome(lambda: self.strategies[who].book(self.stay(first, end, rooms)))
        if not want:
            assert got is SoldOut, (who, span, rooms, got)
            return
        assert not isinstance(got, type), (who, span, rooms, got)
        assert got.id not in self.bookings
        self.take(first, end, rooms)
        name = self.strategies[who].name
        self.bookings[got.id] = [name, first, end, rooms, "booked"]
        if who == "holds":  # recorded as a hold already converted to it
            self.holds[-got.id] = [first, end, rooms, self.clock() + TTL, "converted"]

    def pick_booking(self, choice: int) -> int:
        ids = [*sorted(self.bookings), 2**62]
        return ids[choice % len(ids)]

    @rule(
        who=st.sampled_from(["pessimistic", "over", "optimistic", "holds"]),
        choice=st.integers(0, 50),
    )
    def cancel(self, who: str, choice: int) -> None:
        booking_id = self.pick_booking(choice)
        got = _outcome(lambda: self.strategies[who].cancel(booking_id))
        b = self.bookings.get(booking_id)
        if b is None or b[0] != self.strategies[who].name or b[4] != "booked":
            assert got is BookingError, (who, booking_id, b, got)  # refused: nothing expires
            return
        if who == "holds":
            self.model_expire()
        assert got is None, (who, booking_id, got)
        b[4] = "cancelled"
        self.take(b[1], b[2], -b[3])

    @rule(span=spans, rooms=st.integers(1, 3))
    def hold(self, span: tuple[int, int], rooms: int) -> None:
        first, end = span
        self.model_expire()
        want = self.fits("holds", first, end, rooms)
        got = _outcome(lambda: self.strategies["holds"].hold(self.stay(first, end, rooms)))
        if not want:
            assert got is SoldOut, (span, rooms, got)
            return
        assert isinstance(got, int) and got not in self.holds, got
        self.take(first, end, rooms)
        self.holds[got] = [first, end, rooms, self.clock() + TTL, "held"]

    @rule(choice=st.integers(0, 50), key=st.sampled_from("abc"), amount=st.sampled_from([5, 7]))
    def confirm(self, choice: int, key: str, amount: int) -> None:
        ids = [*sorted(h for h in self.holds if h > 0), 2**62]
        hold_id = ids[choice % len(ids)]
        got = _outcome(lambda: self.strategies["holds"].confirm(hold_id, key, amount=amount))
        # refused for its arguments (nothing expires): a key used for another payment or for a
        # booking cancelled since, an unknown hold
        if key in self.payments:
            paid_hold, paid_amount, booking_id = self.payments[key]
            if (paid_hold, paid_amount) != (hold_id, amount):
                assert got is BookingError, (hold_id, key, got)
            elif self.bookings[booking_id][4] != "booked":
                assert got is BookingError, (hold_id, key, booking_id, got)
            else:
                self.model_expire()
                assert not isinstance(got, type) and got.id == booking_id, (hold_id, key, got)
            return
        h = self.holds.get(hold_id)
        if h is None:
            assert got is BookingError, (hold_id, got)
            return
        self.model_expire()
        if h[4] != "held":  # converted by another key, or expired
            assert got is SoldOut, (hold_id, h, got)
            return
        assert not isinstance(got, type), (hold_id, h, got)
        assert got.id not in self.bookings
        h[4] = "converted"
        self.payments[key] = (hold_id, amount, got.id)
        self.bookings[got.id] = ["holds", h[0], h[1], h[2], "booked"]

    @rule(seconds=st.sampled_from([0.0, 1.0, 299.0, 300.0, 600.0]))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def expire(self) -> None:
        want = self.model_expire()
        assert self.strategies["holds"].expire() == want

    @rule(who=st.sampled_from(["pessimistic", "over", "optimistic", "holds"]), span=spans)
    def availability(self, who: str, span: tuple[int, int]) -> None:
        first, end = span
        if who == "holds":
            self.model_expire()
        s = self.stay(first, end)
        got = self.strategies[who].availability(self.hotel, "double", s.check_in, s.check_out)
        assert got == self.free(who, first, end), (who, span, got, self.booked)

    # --- the constraint strategy, on its own room type -----------------------------------------
    @rule(span=spans, rooms=st.integers(1, 3))
    def book_suite(self, span: tuple[int, int], rooms: int) -> None:
        first, end = span
        free = self.suite_free_rooms(first, end)
        got = _outcome(lambda: self.constraint.book(self.stay(first, end, rooms, "suite")))
        if len(free) < rooms:
            assert got is SoldOut, (span, rooms, free, got)
            return
        assert not isinstance(got, type), (span, rooms, free, got)
        numbers = [self.room_number[r] for r in got.room_ids]
        assert len(set(numbers)) == rooms and set(numbers) <= set(free), (numbers, free)
        for r in numbers:
            self.rooms[r] |= set(range(first, end))
        self.suite_bookings[got.id] = (numbers, first, end, True)

    @precondition(lambda self: bool(self.suite_bookings))
    @rule(choice=st.integers(0, 50))
    def cancel_suite(self, choice: int) -> None:
        booking_id = sorted(self.suite_bookings)[choice % len(self.suite_bookings)]
        numbers, first, end, live = self.suite_bookings[booking_id]
        got = _outcome(lambda: self.constraint.cancel(booking_id))
        if not live:
            assert got is BookingError
            return
        assert got is None
        for r in numbers:
            self.rooms[r] -= set(range(first, end))
        self.suite_bookings[booking_id] = (numbers, first, end, False)

    @rule(span=spans)
    def suite_availability(self, span: tuple[int, int]) -> None:
        first, end = span
        s = self.stay(first, end, room_type="suite")
        got = self.constraint.availability(self.hotel, "suite", s.check_in, s.check_out)
        assert got == len(self.suite_free_rooms(first, end)), (span, got, self.rooms)

    # --- the state ---------------------------------------------------------------------------
    @invariant()
    def inventory_matches(self) -> None:
        if not self.total:
            return
        rows = self.store.query(
            "SELECT night, total, booked FROM inventory WHERE hotel = ? AND room_type = 'double' "
            "ORDER BY night",
            (self.hotel,),
        )
        assert [(int(t), int(b)) for _, t, b in rows] == list(
            zip(self.total, self.booked, strict=True)
        )
        for n in range(OFFERED):
            assert self.booked[n] <= self.cap("over", n)

    def teardown(self) -> None:
        if not self.total:
            return
        live = self.store.query(
            "SELECT id, strategy FROM bookings WHERE hotel = ? AND room_type = 'double' "
            "AND status = 'booked' ORDER BY id",
            (self.hotel,),
        )
        want = sorted((i, b[0]) for i, b in self.bookings.items() if b[4] == "booked")
        assert [(int(i), s) for i, s in live] == want
        held = self.store.query(
            "SELECT count(*) FROM holds WHERE hotel = ? AND status = 'held'", (self.hotel,)
        )
        assert held[0][0] == sum(1 for h in self.holds.values() if h[4] == "held")


def test_sequences_match_the_counting_model(make_store: Callable[[], BookingStore]) -> None:
    BookingModel.make_store = staticmethod(make_store)  # type: ignore[assignment]
    engine = make_store().engine
    examples = 12 if engine == "postgres" else 30
    run_state_machine_as_test(
        BookingModel,
        settings=settings(max_examples=examples, stateful_step_count=25, deadline=None),
    )
