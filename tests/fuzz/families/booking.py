"""booking: the stay, the strategies and holds on one shared SQLite hotel, and the policy maths.

``query`` and ``statement`` run SQL as given: a str the database rejects (not SQL, or params it
does not take) fails with the driver's own error, as documented, so that error counts as an
answer there and only the argument checks are held to ERRORS.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from designpatterns_ref import booking as bk
from designpatterns_ref.booking import plot as booking_plot
from designpatterns_ref.booking.race import RaceResult, race, random_stays, sold_per_night
from tests.fuzz.spec import Entry

ERRORS = (bk.BookingError, bk.SoldOut)

NOT_FUZZED: dict[str, str] = {
    "Booking": "the record book() returns; no call takes one",
}
D1, D2 = date(2026, 6, 1), date(2026, 6, 3)
_SHARED: dict[str, Any] = {}
RESULT = RaceResult("naive", "sqlite", 3, 1, 3, 2, 3, 0.5)
#: Days HOSTILE has none of: datetimes (a ``date`` subclass) and the end of the calendar, where
#: ``first + nights`` overflows.
DAYS = (datetime(2026, 6, 1, 12, 0), datetime(2026, 6, 1), date(9999, 12, 30), date.max)
#: Exact allowances HOSTILE has none of: Fractions and Decimals out of range, not finite, or
#: too fine (a Decimal whose Fraction would be 10 to the billionth power).
RATIOS = (
    Fraction(1, 3), Fraction(3, 2), Fraction(-1, 2), Fraction(1, 10**500), Decimal("0.05"),
    Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), Decimal("1e-999999999"),
    Decimal("1e999999999"), 5e-324,
)  # fmt: skip


def _store() -> Any:
    """One hotel for every call: each refused call is compared with the state just before it."""
    if "store" not in _SHARED:
        store = bk.SQLiteStore(os.path.join(tempfile.mkdtemp(prefix="dpref-fuzz-"), "h.db"))
        store.add_inventory("h1", "double", D1, 10, total=1_000)
        _SHARED["store"] = store
    return _SHARED["store"]


def _state(strategy: Any) -> object:
    store = strategy.store
    return (
        store.query("SELECT * FROM inventory ORDER BY night"),
        store.query("SELECT count(*) FROM bookings"),
        store.query("SELECT count(*), coalesce(max(id), 0) FROM holds"),
        store.query("SELECT count(*) FROM payments"),
    )


def _stay_with(field: str) -> Entry:
    base: dict[str, Any] = {"hotel": "h1", "room_type": "double", "check_in": D1, "check_out": D2}
    return Entry(
        f"Stay({field}=)",
        call=lambda _, v: bk.Stay(**{**base, field: v}),
        values=DAYS if field.startswith("check_") else (),
    )


def _strategy(make: Any, label: str) -> list[Entry]:
    def fresh() -> Any:
        return make(_store())

    snap = _state
    return [
        Entry(f"{label}.book", make=fresh, snapshot=snap, call=lambda s, v: s.book(v)),
        Entry(f"{label}.cancel", make=fresh, snapshot=snap, call=lambda s, v: s.cancel(v)),
        Entry(
            f"{label}.availability(hotel)",
            make=fresh,
            snapshot=snap,
            call=lambda s, v: s.availability(v, "double", D1, D2),
        ),
        Entry(
            f"{label}.availability(check_out)",
            make=fresh,
            snapshot=snap,
            call=lambda s, v: s.availability("h1", "double", D1, v),
        ),
        Entry(f"{label}(store)", call=lambda _, v: make(v)),
    ]


def _stays() -> list[bk.Stay]:
    return random_stays(2, first=D1, nights=3)


def _index_with_hotel() -> bk.AvailabilityIndex:
    index = bk.AvailabilityIndex()
    index.add_hotel("h", "c", 0.0, 0.0)
    return index


def _sql(method: str, text: Any, params: Any) -> object:
    """``store.query`` or ``store.statement`` on the shared hotel; SQLite's own error for SQL
    it rejects is the documented answer (only the argument checks raise BookingError)."""
    try:
        return getattr(_store(), method)(text, params)
    except sqlite3.Error:
        return None


def _sql_entries(method: str) -> list[Entry]:
    snap = _state_of_store
    return [
        Entry(
            f"SQLiteStore.{method}(text=)",
            make=_store,
            snapshot=snap,
            call=lambda _, v: _sql(method, v, ()),
        ),
        Entry(
            f"SQLiteStore.{method}(params=)",
            make=_store,
            snapshot=snap,
            call=lambda _, v: _sql(method, "SELECT count(*) FROM bookings", v),
        ),
        Entry(  # SQL that takes one param: any error but BookingError is a defect here
            f"SQLiteStore.{method}(params[0]=)",
            make=_store,
            snapshot=snap,
            call=lambda _, v: getattr(_store(), method)("SELECT ?", [v]),
        ),
    ]


def _state_of_store(store: Any) -> object:
    return _state(bk.NaiveBooking(store))


def _holds() -> Any:
    return bk.Holds(_store(), ttl=60)


ENTRIES = [
    *(_stay_with(f) for f in ("hotel", "room_type", "check_in", "check_out", "rooms", "guest")),
    *_strategy(bk.PessimisticBooking, "PessimisticBooking"),
    *_strategy(bk.OptimisticBooking, "OptimisticBooking"),
    *_strategy(bk.ConstraintBooking, "ConstraintBooking"),
    *_strategy(bk.NaiveBooking, "NaiveBooking"),
    *_strategy(bk.Holds, "Holds"),
    Entry(
        "PessimisticBooking(overbooking)",
        call=lambda _, v: bk.PessimisticBooking(_store(), overbooking=v),
        values=RATIOS,
    ),
    Entry(
        "OptimisticBooking(retries)", call=lambda _, v: bk.OptimisticBooking(_store(), retries=v)
    ),
    Entry(
        "ConstraintBooking(retries)", call=lambda _, v: bk.ConstraintBooking(_store(), retries=v)
    ),
    Entry("NaiveBooking(think)", call=lambda _, v: bk.NaiveBooking(_store(), think=v)),
    Entry("Holds(ttl)", call=lambda _, v: bk.Holds(_store(), ttl=v)),
    Entry("Holds(clock)", call=lambda _, v: bk.Holds(_store(), clock=v)),
    Entry("Holds.hold", make=_holds, snapshot=_state, call=lambda h, v: h.hold(v)),
    Entry(
        "Holds.confirm(hold_id)",
        make=_holds,
        snapshot=_state,
        call=lambda h, v: h.confirm(v, "key", amount=1),
    ),
    Entry(
        "Holds.confirm(key)",
        make=_holds,
        snapshot=_state,
        call=lambda h, v: h.confirm(1, v, amount=1),
    ),
    Entry(
        "Holds.confirm(amount)",
        make=_holds,
        snapshot=_state,
        call=lambda h, v: h.confirm(1, "key", amount=v),
    ),
    *_sql_entries("query"),
    *_sql_entries("statement"),
    Entry(
        "AvailabilityIndex.follow(strategy)",
        make=bk.AvailabilityIndex,
        call=lambda i, v: i.follow(v),
    ),
    Entry("SQLiteStore(path)", call=lambda _, v: None if isinstance(v, str) else bk.SQLiteStore(v)),
    Entry("PostgresStore(url)", call=lambda _, v: bk.PostgresStore(v)),
    Entry(
        "SQLiteStore.add_inventory(total)",
        make=_store,
        snapshot=lambda s: s.query("SELECT count(*) FROM inventory"),
        call=lambda s, v: s.add_inventory("h2", "double", D1, 1, total=v),
    ),
    Entry(
        "SQLiteStore.add_inventory(first)",
        make=_store,
        snapshot=lambda s: s.query("SELECT * FROM inventory ORDER BY 1, 2, 3"),
        call=lambda s, v: s.add_inventory("h3", "double", v, 2, total=1),
        values=DAYS,
    ),
    Entry(
        "SQLiteStore.add_inventory(nights)",
        make=_store,
        snapshot=lambda s: s.query("SELECT * FROM inventory ORDER BY 1, 2, 3"),
        call=lambda s, v: s.add_inventory("h4", "double", date(9999, 12, 1), v, total=1),
        values=(31, 32, 3660),
    ),
    Entry(
        "SQLiteStore.add_inventory(numbered)",
        make=_store,
        snapshot=lambda s: (
            s.query("SELECT * FROM inventory ORDER BY 1, 2, 3"),
            s.query("SELECT * FROM rooms ORDER BY id"),
        ),
        call=lambda s, v: s.add_inventory("h5", "double", D1, 1, total=2, numbered=v),
    ),
    Entry(
        "expected_walks(sold)", call=lambda _, v: bk.expected_walks(sold=v, total=1, no_show=0.1)
    ),
    Entry(
        "expected_walks(no_show)", call=lambda _, v: bk.expected_walks(sold=1, total=1, no_show=v)
    ),
    Entry(
        "best_overbooking(limit)",
        call=lambda _, v: bk.best_overbooking(
            total=10, no_show=0.1, room_revenue=1, walk_cost=1, limit=v
        ),
        values=RATIOS,
    ),
    Entry(
        "best_overbooking(walk_cost)",
        call=lambda _, v: bk.best_overbooking(total=10, no_show=0.1, room_revenue=1, walk_cost=v),
    ),
    Entry(
        "AvailabilityIndex.add_hotel(lat)",
        make=bk.AvailabilityIndex,
        call=lambda i, v: i.add_hotel("h", "c", v, 0.0),
    ),
    Entry(
        "AvailabilityIndex.search(city)",
        make=bk.AvailabilityIndex,
        call=lambda i, v: i.search(v, "double", D1, D2),
    ),
    Entry(
        "AvailabilityIndex.near(radius)",
        make=bk.AvailabilityIndex,
        call=lambda i, v: i.near(0.0, 0.0, v, "double", D1, D2),
    ),
    Entry(
        "AvailabilityIndex.set_free(night)",
        make=_index_with_hotel,
        call=lambda i, v: i.set_free("h", "double", v, 1),
        values=DAYS,
    ),
    Entry(
        "AvailabilityIndex.set_free(free)",
        make=bk.AvailabilityIndex,
        call=lambda i, v: i.set_free("h", "double", D1, v),
    ),
    Entry("random_stays(n)", call=lambda _, v: random_stays(v, first=D1, nights=3)),
    Entry("random_stays(first)", call=lambda _, v: random_stays(2, first=v, nights=3), values=DAYS),
    Entry("random_stays(nights)", call=lambda _, v: random_stays(2, first=D1, nights=v)),
    Entry("random_stays(seed)", call=lambda _, v: random_stays(2, first=D1, nights=3, seed=v)),
    Entry("random_stays(hotel)", call=lambda _, v: random_stays(2, first=D1, nights=3, hotel=v)),
    Entry("race(strategy)", call=lambda _, v: race(v, _stays(), total=3)),
    Entry("race(stays)", call=lambda _, v: race(bk.PessimisticBooking(_store()), v, total=3)),
    Entry(
        "race(stays[i])",
        call=lambda _, v: race(bk.PessimisticBooking(_store()), [*_stays(), v], total=3),
    ),
    Entry(
        "race(total)", call=lambda _, v: race(bk.PessimisticBooking(_store()), _stays(), total=v)
    ),
    Entry("sold_per_night(store)", call=lambda _, v: sold_per_night(v)),
    Entry(
        "SQLiteStore.night(value)",
        make=_store,
        call=lambda s, v: s.night(v),
        snapshot=lambda s: s.query("SELECT count(*) FROM bookings"),
    ),
    Entry(
        "SQLiteStore.transaction(write)",
        make=_store,
        call=lambda s, v: s.transaction(write=v).__enter__() if type(v) is not bool else None,
        snapshot=lambda s: s.query("SELECT count(*) FROM bookings"),
    ),
    Entry(
        "AvailabilityIndex.on_change(hotel)",
        make=bk.AvailabilityIndex,
        call=lambda i, v: i.on_change(v, "double", [D1], 1),
    ),
    Entry(
        "AvailabilityIndex.on_change(nights)",
        make=bk.AvailabilityIndex,
        call=lambda i, v: i.on_change("h", "double", v, 1),
    ),
    Entry(
        "AvailabilityIndex.on_change(delta)",
        make=bk.AvailabilityIndex,
        call=lambda i, v: i.on_change("h", "double", [D1], v),
    ),
    *(
        entry
        for name in ("plot_race", "plot_throughput")
        for entry in (
            Entry(f"plot.{name}(results)", call=lambda _, v, n=name: getattr(booking_plot, n)(v)),
            Entry(
                f"plot.{name}(results[i])",
                call=lambda _, v, n=name: getattr(booking_plot, n)([RESULT, v]),
            ),
            Entry(
                f"plot.{name}(seconds)",
                call=lambda _, v, n=name: getattr(booking_plot, n)(
                    [RaceResult("naive", "sqlite", 3, 1, 3, 2, 3, v)]
                ),
            ),
            Entry(
                f"plot.{name}(ax)",
                call=lambda _, v, n=name: getattr(booking_plot, n)([RESULT], ax=v),
            ),
        )
    ),
]
