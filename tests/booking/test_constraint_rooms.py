"""The constraint strategy sells only what the inventory offers, night by night, on both engines.

The oracle is plain counting: the nights offered and their ``total`` (from the
``add_inventory`` calls), and the rooms each accepted booking took per night. Offers come in
several calls with different totals (the case that used to add rooms per call), stays run past
the offered nights, and the expected availability of one night is exactly its total minus the
rooms sold on it.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.booking import (
    BookingError,
    BookingStore,
    ConstraintBooking,
    PostgresStore,
    SoldOut,
    SQLiteStore,
    Stay,
)

BASE = date(2026, 3, 1)
_hotels = itertools.count()

offers = st.lists(
    st.tuples(st.integers(0, 12), st.integers(1, 4), st.integers(0, 3)), min_size=1, max_size=4
)
stays = st.lists(st.tuples(st.integers(-1, 16), st.integers(1, 4), st.integers(1, 2)), max_size=12)


def test_constraint_booking_sells_no_more_than_each_night_offers(
    make_store: Callable[[], BookingStore],
) -> None:
    store = make_store()

    @settings(max_examples=25 if store.engine == "postgres" else 60, deadline=None)
    @given(offers, stays)
    # March 1-5 and April 1-5, two rooms each; five one-night stays in March and one in 2031
    @example(offers=[(0, 5, 2), (31, 5, 2)], stays=[(0, 1, 1)] * 5 + [(1767, 2, 1)])
    @example(offers=[(0, 3, 1), (3, 3, 3)], stays=[(3, 1, 2), (2, 2, 1), (4, 1, 1), (0, 1, 1)])
    def check(offers: list[tuple[int, int, int]], stays: list[tuple[int, int, int]]) -> None:
        hotel = f"h{next(_hotels)}"
        offered: dict[date, int] = {}
        for start, nights, total in offers:
            first = BASE + timedelta(days=start)
            days = [first + timedelta(days=i) for i in range(nights)]
            if any(d in offered for d in days):
                with pytest.raises(BookingError, match="already offers"):
                    store.add_inventory(hotel, "double", first, nights, total=total)
                continue
            store.add_inventory(hotel, "double", first, nights, total=total)
            offered.update(dict.fromkeys(days, total))
        (rooms,) = store.query(
            "SELECT count(*) FROM rooms WHERE hotel = ? AND room_type = ?", (hotel, "double")
        )[0]
        assert rooms == max(offered.values())  # once per type, up to the largest total

        strategy = ConstraintBooking(store)
        sold: Counter[date] = Counter()
        for start, nights, want in stays:
            check_in = BASE + timedelta(days=start)
            stay = Stay(hotel, "double", check_in, check_in + timedelta(days=nights), want)
            counted = min(offered[d] - sold[d] if d in offered else 0 for d in stay.nights)
            free = strategy.availability(hotel, "double", stay.check_in, stay.check_out)
            assert 0 <= free <= counted  # never more than every night has left
            try:
                booking = strategy.book(stay)
            except SoldOut:
                assert free < want
                continue
            assert free >= want
            assert len(set(booking.room_ids)) == want
            for night in stay.nights:
                assert night in offered  # never a night that was not offered
                sold[night] += want
                assert sold[night] <= offered[night]
        # one night at a time the strategy answers exactly what is left
        for day in (BASE + timedelta(days=i) for i in range(-1, 21)):
            got = strategy.availability(hotel, "double", day, day + timedelta(days=1))
            assert got == (offered[day] - sold[day] if day in offered else 0), day

    check()


def test_a_database_made_before_rooms_were_numbered_is_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE rooms (id INTEGER PRIMARY KEY, hotel TEXT NOT NULL, "
            "room_type TEXT NOT NULL)"
        )
    with pytest.raises(BookingError, match="earlier version"):
        SQLiteStore(path)


def _open_fds_under(folder: Path) -> int:
    return sum(
        1
        for fd in os.listdir("/proc/self/fd")
        if os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(folder.resolve()))
    )


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds through /proc")
def test_a_refused_old_sqlite_database_leaves_no_connection_open(tmp_path: Path) -> None:
    """The connection that found the old schema (and its WAL and SHM files) is closed before
    BookingError leaves the constructor; only a sqlite3 error used to close it."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE rooms (id INTEGER PRIMARY KEY, hotel TEXT, room_type TEXT)")
    conn.close()
    refused = []
    for _ in range(3):
        with pytest.raises(BookingError, match="earlier version") as info:
            SQLiteStore(path)
        refused.append(info)  # kept alive: a leaked connection would stay open with it
    assert _open_fds_under(tmp_path) == 0


def test_a_refused_old_postgres_database_leaves_no_connection_open(
    request: pytest.FixtureRequest,
) -> None:
    import psycopg

    srv: Any = request.getfixturevalue("pg_srv")
    if not hasattr(srv, "create_database"):  # pragma: no cover - an external server
        pytest.skip("needs a server that makes databases")
    name = f"booking_old_{os.getpid()}"
    url = srv.create_database(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE rooms (id INTEGER PRIMARY KEY, hotel TEXT, room_type TEXT)")
    refused = []
    for _ in range(3):
        with pytest.raises(BookingError, match="earlier version") as info:
            PostgresStore(url)
        refused.append(info)  # kept alive: a leaked connection would stay open with it
    with psycopg.connect(url, autocommit=True) as conn:
        (others,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()  # type: ignore[misc]
    assert others == 0
