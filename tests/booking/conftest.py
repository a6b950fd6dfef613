"""Fresh booking stores (a SQLite file, or a fresh database on the real PostgreSQL), and calls
from several threads released at once."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.booking import (
    BookingError,
    BookingStore,
    PostgresStore,
    SoldOut,
    SQLiteStore,
)

_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], BookingStore]]:
    """A factory of empty stores of one engine."""
    made: list[BookingStore] = []
    if request.param == "sqlite":

        def make() -> BookingStore:
            store = SQLiteStore(tmp_path / f"hotel{next(_names)}.db")
            made.append(store)
            return store

    else:
        srv: Any = request.getfixturevalue("pg_srv")

        def make() -> BookingStore:
            name = f"booking_{next(_names)}"
            if hasattr(srv, "create_database"):
                url = srv.create_database(name)
            else:  # pragma: no cover - an external server
                import psycopg

                with psycopg.connect(srv.url, autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE {name}".encode())
                url = srv.url.rsplit("/", 1)[0] + "/" + name
            store = PostgresStore(url)
            made.append(store)
            return store

    yield make
    for store in made:
        store.close()


def _at_once(store: BookingStore, n: int, call: Callable[[int], object]) -> list[object]:
    """``call(i)`` from threads ``i = 0 .. n-1`` released together by a barrier: each thread's
    result, or ``"<error class>: <message>"`` for a BookingError or SoldOut it raised."""
    barrier = threading.Barrier(n)
    outcomes: list[object] = [None] * n

    def one(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = call(i)
        except (BookingError, SoldOut) as exc:
            outcomes[i] = f"{type(exc).__name__}: {exc}"
        finally:
            store.close()  # this thread's connection

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


@pytest.fixture
def at_once() -> Callable[[BookingStore, int, Callable[[int], object]], list[object]]:
    """``at_once(store, n, call)``: see :func:`_at_once`."""
    return _at_once
