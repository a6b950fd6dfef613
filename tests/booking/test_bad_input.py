"""Bad input at every public entry point: BookingError, and nothing booked, held or changed.

The fuzz registry's entries run on one SQLite hotel; the strategies, holds and the store run
again here on both engines (SQLite and the real PostgreSQL) with every hostile value.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref import booking as bk
from designpatterns_ref.booking.race import race, random_stays, sold_per_night
from tests.fuzz.families import booking as registry
from tests.fuzz.test_fuzz import HOSTILE, state_of

ENTRIES = {entry.name: entry for entry in registry.ENTRIES}
D1, D3 = date(2026, 6, 1), date(2026, 6, 3)


def _refused_unchanged(call: Callable[[Any], object], obj: Any, snap: Callable[[Any], object],
                       what: str) -> None:  # fmt: skip
    """Every hostile value: the call succeeds or raises BookingError, leaving ``snap`` alone."""
    for value in HOSTILE:
        before = snap(obj)
        try:
            call(value)
        except bk.BookingError as exc:
            assert str(exc), f"{what}({value!r:.40}): empty message"
            assert snap(obj) == before, f"{what}({value!r:.40}) refused but changed state"


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_registered_entries_refuse_with_booking_error(name: str) -> None:
    entry = ENTRIES[name]
    obj = entry.make() if entry.make else None
    snap = entry.snapshot or state_of
    _refused_unchanged(lambda v: entry.call(obj, v), obj, snap, name)


def _hotel(store: bk.BookingStore) -> bk.BookingStore:
    store.add_inventory("h1", "double", D1, 5, total=3)
    return store


def _tables(store: bk.BookingStore) -> object:
    return [
        store.query(f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in ("inventory", "bookings", "holds", "payments", "rooms")
    ]


STRATEGIES: dict[str, Callable[[bk.BookingStore], Any]] = {
    "pessimistic": bk.PessimisticBooking,
    "optimistic": bk.OptimisticBooking,
    "constraint": bk.ConstraintBooking,
    "naive": lambda s: bk.NaiveBooking(s, think=0.0),
    "holds": lambda s: bk.Holds(s, ttl=60, clock=lambda: 0.0),
}


@pytest.mark.parametrize("kind", sorted(STRATEGIES))
def test_strategies_refuse_on_both_engines(kind: str, make_store: Callable[[], Any]) -> None:
    store = _hotel(make_store())
    strategy = STRATEGIES[kind](store)
    booked = strategy.book(bk.Stay("h1", "double", D1, D3, guest="ada"))
    snap = _tables
    calls: dict[str, Callable[[Any], object]] = {
        "book": lambda v: strategy.book(v),
        "cancel": lambda v: strategy.cancel(v),
        "availability(hotel)": lambda v: strategy.availability(v, "double", D1, D3),
        "availability(room_type)": lambda v: strategy.availability("h1", v, D1, D3),
        "availability(check_in)": lambda v: strategy.availability("h1", "double", v, D3),
        "availability(check_out)": lambda v: strategy.availability("h1", "double", D1, v),
    }
    if kind == "holds":
        hold = strategy.hold(bk.Stay("h1", "double", D1, D3, guest="bo"))
        calls["hold"] = lambda v: strategy.hold(v)
        calls["confirm(hold_id)"] = lambda v: strategy.confirm(v, "k", amount=1)
        # a good key or amount would convert the hold (and a second one find it gone): an
        # unknown hold id leaves only refusals, of the bad argument or of the id
        calls["confirm(idempotency_key)"] = lambda v: strategy.confirm(hold + 9, v, amount=1)
        calls["confirm(amount)"] = lambda v: strategy.confirm(hold + 9, "k", amount=v)
    for what, call in calls.items():
        _refused_unchanged(call, store, snap, f"{kind}.{what}")
    assert strategy.availability("h1", "double", D1, D3) in (1, 2)  # still answers
    strategy.cancel(booked.id)


def test_store_and_options_refuse_on_both_engines(make_store: Callable[[], Any]) -> None:
    store = _hotel(make_store())
    add = store.add_inventory
    calls: dict[str, Callable[[Any], object]] = {
        "add_inventory(hotel)": lambda v: add(v, "double", D1, 1, total=1),
        "add_inventory(room_type)": lambda v: add("h2", v, D1, 1, total=1),
        "add_inventory(first)": lambda v: add("h2", "double", v, 1, total=1),
        "add_inventory(nights)": lambda v: add("h2", "double", D1, v, total=1),
        "add_inventory(total)": lambda v: add("h2", "double", D1, 1, total=v),
        "PessimisticBooking(overbooking)": lambda v: bk.PessimisticBooking(store, overbooking=v),
        "OptimisticBooking(retries)": lambda v: bk.OptimisticBooking(store, retries=v),
        "ConstraintBooking(retries)": lambda v: bk.ConstraintBooking(store, retries=v),
        "NaiveBooking(think)": lambda v: bk.NaiveBooking(store, think=v),
        "Holds(ttl)": lambda v: bk.Holds(store, ttl=v),
        "Holds(clock)": lambda v: bk.Holds(store, clock=v),
        "sold_per_night(store)": lambda v: sold_per_night(v),
    }
    for what, call in calls.items():
        _refused_unchanged(call, store, _tables, what)
    with pytest.raises(bk.BookingError, match="already offers"):
        add("h1", "double", D1, 1, total=1)
    assert store.query("SELECT count(*) FROM inventory WHERE hotel = 'h1'")[0][0] == 5


def test_race_and_random_stays_refuse_before_any_thread(make_store: Callable[[], Any]) -> None:
    store = _hotel(make_store())
    strategy = bk.PessimisticBooking(store)
    stays = random_stays(3, first=D1, nights=3)
    calls: dict[str, Callable[[Any], object]] = {
        "race(strategy)": lambda v: race(v, stays, total=3),
        "race(stays)": lambda v: race(strategy, v, total=3),
        "race(stays[i])": lambda v: race(strategy, [stays[0], v], total=3),
        "race(total)": lambda v: race(strategy, stays, total=v),
        "random_stays(n)": lambda v: random_stays(v, first=D1, nights=3),
        "random_stays(first)": lambda v: random_stays(2, first=v, nights=3),
        "random_stays(nights)": lambda v: random_stays(2, first=D1, nights=v),
        "random_stays(seed)": lambda v: random_stays(2, first=D1, nights=3, seed=v),
        "random_stays(hotel)": lambda v: random_stays(2, first=D1, nights=3, hotel=v),
        "random_stays(room_type)": lambda v: random_stays(2, first=D1, nights=3, room_type=v),
    }
    for what, call in calls.items():
        _refused_unchanged(call, store, _tables, what)
    before = _tables(store)
    for too_many in (list(stays) * 400, ()):
        with pytest.raises(bk.BookingError, match="stays"):
            race(strategy, too_many, total=3)
    assert _tables(store) == before  # no thread started, nothing booked


def test_the_search_index_refuses_and_stays_as_it_was() -> None:
    index = bk.AvailabilityIndex()
    index.add_hotel("h1", "oslo", 59.9, 10.7)
    index.set_free("h1", "double", D1, 2)
    calls: dict[str, Callable[[Any], object]] = {
        "add_hotel(hotel)": lambda v: index.add_hotel(v, "oslo", 0.0, 0.0),
        "add_hotel(city)": lambda v: index.add_hotel("h2", v, 0.0, 0.0),
        "add_hotel(lat)": lambda v: index.add_hotel("h2", "oslo", v, 0.0),
        "add_hotel(lon)": lambda v: index.add_hotel("h2", "oslo", 0.0, v),
        "set_free(hotel)": lambda v: index.set_free(v, "double", D1, 1),
        "set_free(room_type)": lambda v: index.set_free("h1", v, D1, 1),
        "set_free(night)": lambda v: index.set_free("h1", "double", v, 1),
        "set_free(free)": lambda v: index.set_free("h1", "double", D1, v),
        "on_change(hotel)": lambda v: index.on_change(v, "double", [D1], 1),
        "on_change(room_type)": lambda v: index.on_change("h1", v, [D1], 1),
        "on_change(nights)": lambda v: index.on_change("h1", "double", v, 1),
        "on_change(nights[i])": lambda v: index.on_change("h1", "double", [D1, v], 1),
        "on_change(delta)": lambda v: index.on_change("h1", "double", [D1], v),
        "follow(strategy)": lambda v: index.follow(v),
        "search(city)": lambda v: index.search(v, "double", D1, D3),
        "search(rooms)": lambda v: index.search("oslo", "double", D1, D3, rooms=v),
        "near(lat)": lambda v: index.near(v, 10.7, 1000.0, "double", D1, D3),
        "near(radius_m)": lambda v: index.near(59.9, 10.7, v, "double", D1, D3),
        "near(check_in)": lambda v: index.near(59.9, 10.7, 1000.0, "double", v, D3),
    }
    for what, call in calls.items():
        _refused_unchanged(call, index, state_of, what)
    assert index.search("oslo", "double", D1, date(2026, 6, 2)) == ["h1"]


def test_the_pessimistic_capacity_rule_is_not_a_public_call() -> None:
    assert not hasattr(bk.PessimisticBooking, "capacity")


def test_the_store_helpers_check_their_arguments(make_store: Callable[[], Any]) -> None:
    """``query``, ``statement``, ``transaction`` and ``night`` are public; the rest is private."""
    store = _hotel(make_store())
    calls: dict[str, Callable[[Any], object]] = {
        # a str that is not SQL fails with the driver's error (documented): only non-str here
        "query(text)": lambda v: store.query(v) if not isinstance(v, str) or not v.strip() else 0,
        "query(params)": (  # params the SQL does not take: the driver's error, as above
            lambda v: store.query("SELECT 1", v) if not isinstance(v, list | tuple) or not v else 0
        ),
        "statement(text)": (
            lambda v: store.statement(v) if not isinstance(v, str) or not v.strip() else 0
        ),
        "statement(params)": (  # params the SQL does not take: the driver's error, as above
            lambda v: (
                store.statement("SELECT 1", v) if not isinstance(v, list | tuple) or not v else 0
            )
        ),
        "transaction(write)": lambda v: store.transaction(write=v).__enter__(),
        "night(value)": lambda v: store.night(v),
    }
    for what, call in calls.items():
        _refused_unchanged(call, store, _tables, what)
    assert store.night("2026-06-01") == store.night(D1) == D1
    public = {n for n in dir(store) if not n.startswith("_")}
    assert not public & {"param", "sql", "conn"}


@pytest.mark.parametrize("method", ["query", "statement"])
def test_sql_text_with_a_lone_surrogate_is_refused(
    make_store: Callable[[], Any], method: str
) -> None:
    store = _hotel(make_store())
    before = _tables(store)
    with pytest.raises(bk.BookingError, match=r"text=.*UTF-8"):
        getattr(store, method)("SELECT 1 -- \ud800")
    assert _tables(store) == before


def test_the_strategies_have_no_unimplemented_public_method() -> None:
    """``booked`` was a stub every strategy inherited: it raised NotImplementedError."""
    for strategy in (bk.PessimisticBooking, bk.OptimisticBooking, bk.ConstraintBooking,
                     bk.NaiveBooking, bk.Holds):  # fmt: skip
        assert not hasattr(strategy, "booked")


#: Dates a calendar-unaware check lets through: a datetime (a ``date`` subclass) and the last
#: days of the calendar, where ``first + nights`` has no date.
AWKWARD_FIRSTS: list[tuple[object, int]] = [
    (datetime(2026, 6, 1, 12, 0), 2),
    (datetime(2026, 6, 1), 1),  # midnight is still a datetime
    (date.max, 1),  # the stay on the last night would check out past the calendar
    (date(9999, 12, 31), 2),
    (date(9999, 12, 30), 2),
    (date(9999, 12, 1), 3660),
]


def _fits(first: object, nights: int) -> bool:
    """The oracle: a plain date whose last stay's check-out, ``first + nights``, has a date."""
    return type(first) is date and (date.max - first).days >= nights


@pytest.mark.parametrize(("first", "nights"), AWKWARD_FIRSTS, ids=repr)
def test_add_inventory_refuses_datetimes_and_the_calendar_end(
    make_store: Callable[[], Any], first: object, nights: int
) -> None:
    store = _hotel(make_store())
    before = _tables(store)
    with pytest.raises(bk.BookingError, match="first=") as refused:
        store.add_inventory("h2", "double", first, nights, total=1)
    assert repr(first) in str(refused.value)
    assert _tables(store) == before
    store.add_inventory("h2", "double", date(9999, 12, 30), 1, total=1)  # the last stay that fits
    hotel = bk.PessimisticBooking(store)
    assert hotel.book(bk.Stay("h2", "double", date(9999, 12, 30), date.max)).id > 0


@settings(max_examples=40, deadline=None)
@given(
    first=st.dates(min_value=date(9990, 1, 1)) | st.dates() | st.datetimes(),
    nights=st.integers(1, 3660),
)
@example(first=date(9999, 12, 31), nights=2)
@example(first=datetime(2026, 3, 1, 12, 0), nights=2)
@example(first=date(9999, 12, 30), nights=1)
@example(first=date(9999, 12, 30), nights=2)
def test_add_inventory_writes_exactly_the_nights_or_nothing(first: date, nights: int) -> None:
    """Accepted iff the oracle says the nights fit; then exactly ``first .. first + nights - 1``
    as dates, else BookingError naming ``first`` and nothing written (SQLite keeps any text)."""
    store = bk.SQLiteStore(Path(tempfile.mkdtemp(prefix="dpref-inv-")) / "h.db")
    try:
        if _fits(first, nights):
            store.add_inventory("h1", "double", first, nights, total=1, numbered=False)
            got = [store.night(n) for (n,) in store.query("SELECT night FROM inventory "
                                                         "ORDER BY night")]  # fmt: skip
            assert got == [first + timedelta(days=i) for i in range(nights)]
        else:
            with pytest.raises(bk.BookingError, match="first="):
                store.add_inventory("h1", "double", first, nights, total=1, numbered=False)
            assert store.query("SELECT count(*) FROM inventory") == [(0,)]
    finally:
        store.close()


@settings(max_examples=40, deadline=None)
@given(
    first=st.dates(min_value=date(9999, 10, 1)) | st.datetimes(),
    nights=st.integers(1, 60),
)
@example(first=date(9999, 12, 31), nights=3)
@example(first=date(9999, 12, 29), nights=2)
def test_random_stays_refuses_datetimes_and_the_calendar_end(first: date, nights: int) -> None:
    if _fits(first, nights):
        stays = random_stays(20, first=first, nights=nights)
        assert all(first <= s.check_in < s.check_out <= first + timedelta(nights) for s in stays)
    else:
        with pytest.raises(bk.BookingError, match="first="):
            random_stays(20, first=first, nights=nights)


def test_the_search_index_refuses_a_datetime_night() -> None:
    index = bk.AvailabilityIndex()
    index.add_hotel("h1", "oslo", 59.9, 10.7)
    before = state_of(index)
    with pytest.raises(bk.BookingError, match="night="):
        index.set_free("h1", "double", datetime(2026, 6, 1, 12), 2)
    assert state_of(index) == before


@pytest.mark.parametrize("ttl", [-1, 0, 0.0, 86_401, 10**400, math.inf, math.nan, True, "60"])
def test_a_refused_ttl_names_the_range_that_is_allowed(tmp_path: Path, ttl: object) -> None:
    """0 is refused like any other value outside (0, 86400]: every refusal says so, none
    offers the closed range [0, 86400] that includes it."""
    store = bk.SQLiteStore(tmp_path / "h.db")
    with pytest.raises(bk.BookingError, match=r"^ttl=.* must be seconds in \(0, 86400\]$"):
        bk.Holds(store, ttl=ttl)
