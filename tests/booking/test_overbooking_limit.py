"""The overbooking limit is ``floor(total * (1 + x))`` computed exactly, on both engines.

It was computed in floats with ``+ 1e-9`` added before rounding down, so an allowance just
below a whole room counted as one: ``overbooking=0.9999999999`` on a night of 1 room sold 2.
``x`` is read as the decimal it is written as (its shortest repr: 0.3 is 3/10, not the float
a little below it). The oracle is integer arithmetic on that decimal's exact ratio; the allowances
tried include values a few ulps either side of ``k / total``, where a rounding error flips the
floor."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.booking import (
    BookingError,
    BookingStore,
    PessimisticBooking,
    SoldOut,
    Stay,
    best_overbooking,
)

D1, D2 = date(2026, 6, 1), date(2026, 6, 2)
_hotels = itertools.count()


def limit(total: int, x: float) -> int:
    """``floor(total * (1 + d))`` for ``d = n / m``, the decimal ``repr(x)``: all in ints."""
    n, m = Decimal(repr(x)).as_integer_ratio()
    return total * (m + n) // m


@st.composite
def near_a_whole_room(draw: st.DrawFn) -> tuple[int, float]:
    """A total and an allowance a few ulps from ``k / total`` (``total * x`` near an integer)."""
    total = draw(st.integers(1, 100_000))
    x = draw(st.integers(0, total)) / total
    for _ in range(draw(st.integers(0, 3))):
        x = math.nextafter(x, draw(st.sampled_from([0.0, 1.0])))
    return total, x


cases = st.one_of(
    near_a_whole_room(),
    st.tuples(st.integers(0, 100_000), st.floats(0, 1)),
    st.tuples(st.integers(0, 1000), st.decimals(0, 1, places=4).map(float)),
)


def test_the_oracle_reads_the_allowance_as_written() -> None:
    assert limit(1, 0.9999999999) == 1
    assert limit(10, 0.3) == 13  # the float 0.3 is below 3/10: its binary value gives 12
    assert limit(20, 0.05) == 21
    assert limit(10, math.nextafter(0.3, 0)) == 12
    assert limit(0, 1.0) == 0


def test_the_limit_is_exact(make_store: Callable[[], BookingStore]) -> None:
    store = make_store()

    @settings(max_examples=25 if store.engine == "postgres" else 150, deadline=None)
    @given(case=cases)
    @example(case=(1, 0.9999999999))  # sold 2 of 1
    @example(case=(10, 0.3))
    @example(case=(3, math.nextafter(1 / 3, 1.0)))
    @example(case=(100_000, 1.0))
    def check(case: tuple[int, float]) -> None:
        total, x = case
        hotel = f"h{next(_hotels)}"
        store.add_inventory(hotel, "double", D1, 1, total=total, numbered=False)
        strategy = PessimisticBooking(store, overbooking=x)
        most = limit(total, x)
        # one room short of the limit: availability 1, one booking accepted, the next refused
        with store.transaction() as tx:
            tx("UPDATE inventory SET booked = ? WHERE hotel = ?", (max(most - 1, 0), hotel))
        assert strategy.availability(hotel, "double", D1, D2) == min(most, 1)
        if most >= 1:
            strategy.book(Stay(hotel, "double", D1, D2))
        assert strategy.availability(hotel, "double", D1, D2) == 0
        with pytest.raises(SoldOut):
            strategy.book(Stay(hotel, "double", D1, D2))
        assert store.query("SELECT booked FROM inventory WHERE hotel = ?", (hotel,)) == [(most,)]

    check()


@settings(max_examples=150, deadline=None)
@given(
    total=st.integers(1, 200),
    x=st.one_of(st.floats(0, 1), st.integers(0, 100).map(lambda k: k / 100)),
)
@example(total=25, x=0.16)  # 25 * 1.16 is 28.999999999999996 in floats: 29 was never tried
def test_best_overbooking_tries_up_to_the_same_limit(total: int, x: float) -> None:
    """With free walks selling more always fills more rooms, so the best is the limit itself."""
    sold, _ = best_overbooking(total=total, no_show=0.5, room_revenue=100, walk_cost=0, limit=x)
    assert sold == limit(total, x)


def test_a_fraction_sells_exactly_the_count_chosen(make_store: Callable[[], BookingStore]) -> None:
    """``overbooking=Fraction(sold, total) - 1`` sells ``sold`` rooms, for every pair up to 200
    rooms (hypothesis), on both engines; a Decimal is taken as it is too.

    Only a float could be given: ``sold / total - 1`` is rounded in binary, and 4,844 pairs up
    to 200 rooms (6 of 5 among them: 0.19999999999999996) sold one room fewer than chosen."""
    store = make_store()

    @settings(max_examples=25 if store.engine == "postgres" else 150, deadline=None)
    @given(total=st.integers(1, 200), extra=st.integers(0, 200), exact=st.sampled_from("FD"))
    @example(total=5, extra=1, exact="F")  # 6 / 5 - 1 sold 5
    @example(total=3, extra=1, exact="F")  # 1/3: no finite decimal; a numeric division rounds
    @example(total=200, extra=200, exact="D")
    def check(total: int, extra: int, exact: str) -> None:
        sold = total + extra % (total + 1)
        x = Fraction(sold, total) - 1
        allowance = x if exact == "F" or x.denominator not in (1, 2, 4, 5, 8, 10) else None
        if allowance is None:  # a Decimal only for ratios it writes exactly
            allowance = Decimal(x.numerator) / Decimal(x.denominator)
        hotel = f"h{next(_hotels)}"
        store.add_inventory(hotel, "double", D1, 1, total=total, numbered=False)
        strategy = PessimisticBooking(store, overbooking=allowance)  # type: ignore[arg-type]
        assert strategy.availability(hotel, "double", D1, D2) == sold
        with pytest.raises(SoldOut):
            strategy.book(Stay(hotel, "double", D1, D2, rooms=sold + 1))
        strategy.book(Stay(hotel, "double", D1, D2, rooms=sold))
        with pytest.raises(SoldOut):
            strategy.book(Stay(hotel, "double", D1, D2))
        assert store.query("SELECT booked FROM inventory WHERE hotel = ?", (hotel,)) == [(sold,)]

    check()


def test_best_overbooking_round_trips_through_a_fraction(
    make_store: Callable[[], BookingStore],
) -> None:
    store = make_store()
    sold, _ = best_overbooking(total=5, no_show=0.2, room_revenue=120, walk_cost=100)
    assert sold == 6
    store.add_inventory("h1", "double", D1, 1, total=5, numbered=False)
    hotel = PessimisticBooking(store, overbooking=Fraction(sold, 5) - 1)
    for _ in range(sold):
        hotel.book(Stay("h1", "double", D1, D2))
    with pytest.raises(SoldOut):
        hotel.book(Stay("h1", "double", D1, D2))
    # a Fraction limit is read exactly too
    best = best_overbooking(
        total=3, no_show=0.5, room_revenue=100, walk_cost=0, limit=Fraction(2, 3)
    )
    assert best[0] == 5


@pytest.mark.parametrize(
    "value",
    [
        Fraction(-1, 2),
        Fraction(3, 2),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("-Infinity"),
        Decimal("1.0000001"),
        Decimal("1e-5000"),
        Decimal("1e-999999999"),
        Fraction(1, 10**500),
        1 + 2**-52,
    ],
)
def test_bad_allowances_are_refused_naming_the_argument(
    make_store: Callable[[], BookingStore], value: object
) -> None:
    store = make_store()
    with pytest.raises(BookingError, match=r"^overbooking="):
        PessimisticBooking(store, overbooking=value)  # type: ignore[arg-type]
    with pytest.raises(BookingError, match=r"^limit="):
        best_overbooking(total=1, no_show=0.1, room_revenue=1, walk_cost=1, limit=value)  # type: ignore[arg-type]
