"""PostgresStore's own failures raise the family's errors, and a dropped connection heals.

A value psycopg cannot send, a URL it refuses and a server it cannot reach raised psycopg's (or
Python's) bare errors; a connection the server closed was kept and failed every later call on
that thread. Now: :class:`BookingError` naming the value or URL, :class:`StoreUnavailable` for
the server, and after a drop the one call that met it raises StoreUnavailable and the next
connects again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import psycopg
import pytest

from designpatterns_ref.booking import (
    BookingError,
    Holds,
    PessimisticBooking,
    PostgresStore,
    Stay,
    StoreUnavailable,
)

D1, D2 = date(2026, 6, 1), date(2026, 6, 2)


@pytest.fixture(scope="module")
def store(pg_url: str) -> Iterator[PostgresStore]:
    s = PostgresStore(pg_url)
    s.add_inventory("h1", "double", D1, 3, total=50)
    yield s
    s.close()


BAD = [object(), "\ud800", "a\x00b", 1j, {"a": 1}, [1], Ellipsis]
# non-finite numbers: PostgreSQL stored them, where SQLite binds NaN as NULL
BAD += [float("nan"), float("inf"), float("-inf"), Decimal("NaN"), Decimal("-Infinity")]


@pytest.mark.parametrize("method", ["query", "statement"])
@pytest.mark.parametrize("bad", BAD, ids=lambda v: f"{type(v).__name__}-{v!r:.8}")
def test_a_value_postgres_cannot_take_is_refused_naming_it(
    store: PostgresStore, method: str, bad: object
) -> None:
    sql = "SELECT ?, ?" if method == "query" else "SELECT %s, %s"
    with pytest.raises(BookingError, match=r"params\[1\]=.* cannot be sent to PostgreSQL"):
        getattr(store, method)(sql, ["ok", bad])
    assert store.query("SELECT count(*) FROM bookings") == [(0,)]  # still usable


@pytest.mark.parametrize("method", ["query", "statement"])
def test_every_value_postgres_can_take_comes_back(store: PostgresStore, method: str) -> None:
    sql = "SELECT ?" if method == "query" else "SELECT %s"
    cases: list[object] = [
        None, True, 2**63 - 1, 2**70, -1.5, Decimal("1.25"), "x\u00e9", b"x",
        date(2026, 6, 1), datetime(2026, 6, 1, 12, 0),
    ]  # fmt: skip
    for value in cases:
        got = getattr(store, method)(sql, [value])[0][0]
        assert got == value or (isinstance(value, bytes) and bytes(got) == value)


def test_urls_it_cannot_use_raise_family_errors(pg_url: str) -> None:
    base = pg_url.rsplit("/", 1)[0]
    with pytest.raises(StoreUnavailable, match="cannot connect"):
        PostgresStore("postgresql://postgres:secret@127.0.0.1:1/x")
    try:
        PostgresStore("postgresql://postgres:secret@127.0.0.1:1/x")
    except StoreUnavailable as exc:
        assert "secret" not in str(exc) and ":***@" in str(exc)
    with pytest.raises(StoreUnavailable, match="no_such_db"):
        PostgresStore(base + "/no_such_db")
    with pytest.raises(BookingError, match="not a usable PostgreSQL URL") as info:
        PostgresStore(pg_url + "?bogus=1")
    assert not isinstance(info.value, StoreUnavailable)
    assert isinstance(StoreUnavailable("x"), BookingError | ConnectionError)


def _terminate(store: PostgresStore, pg_url: str) -> None:
    """The server closes every connection to the store's database (a failover, a DBA...)."""
    with psycopg.connect(pg_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        name = pg_url.rsplit("/", 1)[1]
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )


@pytest.mark.parametrize("path", ["statement", "transaction"])
def test_a_dropped_connection_fails_one_call_then_reconnects(
    store: PostgresStore, pg_url: str, path: str
) -> None:
    """The pessimistic booking is one autocommit statement; a hold is a transaction."""
    book = PessimisticBooking(store).book if path == "statement" else Holds(store, ttl=600).hold
    stay = Stay("h1", "double", D1, D2)
    book(stay)  # this thread's connection is open
    _terminate(store, pg_url)
    with pytest.raises(StoreUnavailable, match="connection to the database was lost"):
        book(stay)
    for _ in range(3):  # and then every call works again
        book(stay)
    _terminate(store, pg_url)
    with pytest.raises(StoreUnavailable):
        store.query("SELECT 1")
    assert store.query("SELECT 1") == [(1,)]
