"""A value SQLite cannot bind, inside ``params`` of SQLiteStore.query or statement, is refused
with BookingError naming it (it raised the driver's bare OverflowError, ProgrammingError or
UnicodeEncodeError); every value it can bind comes back as sent."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.booking import BookingError, SQLiteStore


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    s = SQLiteStore(Path(tmp_path_factory.mktemp("params")) / "hotel.db")
    yield s
    s.close()


def _calls(store: SQLiteStore) -> dict[str, Any]:
    return {
        "query": lambda params: store.query("SELECT ?, ?", params),
        "statement": lambda params: store.statement("SELECT ?, ?", params),
    }


BAD = [object(), 2**63, -(2**63) - 1, 10**400, "\ud800", [1], {"a": 1}, Decimal("1.5"), 1j]
# a NaN was bound as NULL (compared with nothing, failed NOT NULL on insert), an infinity stored
NON_FINITE = [float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize("method", ["query", "statement"])
@pytest.mark.parametrize("bad", BAD + NON_FINITE, ids=lambda v: f"{type(v).__name__}-{v!r:.8}")
def test_a_value_sqlite_cannot_bind_is_refused_naming_it(
    store: SQLiteStore, method: str, bad: object
) -> None:
    with pytest.raises(BookingError, match=r"params\[1\]=.* cannot be sent to SQLite"):
        _calls(store)[method](["ok", bad])
    assert store.query("SELECT count(*) FROM bookings") == [(0,)]


@pytest.mark.parametrize("method", ["query", "statement"])
def test_every_value_sqlite_can_bind_comes_back(store: SQLiteStore, method: str) -> None:
    cases: list[tuple[object, object]] = [
        (None, None), (True, 1), (2**63 - 1, 2**63 - 1), (-(2**63), -(2**63)), (1.5, 1.5),
        ("x", "x"), (b"x", b"x"), (bytearray(b"y"), b"y"), (date(2026, 6, 1), "2026-06-01"),
        (datetime(2026, 6, 1, 12, 0), "2026-06-01T12:00:00"),
    ]  # fmt: skip
    for value, back in cases:
        assert _calls(store)[method]([value, 0]) == [(back, 0)]


@settings(max_examples=200, deadline=None)
@given(x=st.floats(allow_nan=True, allow_infinity=True))
def test_a_float_is_sent_exactly_when_it_is_finite(store: SQLiteStore, x: float) -> None:
    """The oracle: ``math.isfinite``; SQLite turned NaN into NULL."""
    if math.isfinite(x):
        assert store.query("SELECT ?", [x]) == [(x,)]
    else:
        with pytest.raises(BookingError, match=r"params\[0\]=.*finite float"):
            store.query("SELECT ?", [x])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=-(2**70), max_value=2**70))
def test_an_int_is_sent_exactly_when_it_fits_64_bits(store: SQLiteStore, n: int) -> None:
    """The oracle: SQLite's INTEGER is a signed 64-bit int (the store is module-scoped)."""
    if -(2**63) <= n < 2**63:
        assert store.query("SELECT ?", [n]) == [(n,)]
    else:
        with pytest.raises(BookingError, match=r"params\[0\]="):
            store.query("SELECT ?", [n])
