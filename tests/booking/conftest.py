"""Fresh booking stores: a SQLite file, or a fresh schema-less database on the real PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.booking import BookingStore, PostgresStore, SQLiteStore

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
