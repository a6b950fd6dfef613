"""``Holds.book`` holds and books in one transaction, with no payment key to collide with.

It held, then confirmed under a generated key ``direct-<hold id>``: a client that had paid with
that very key made the book fail with BookingError, and the hold it had just made stayed held,
its rooms taken until it expired."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from designpatterns_ref.booking import BookingStore, Holds, SoldOut, Stay

D1, D2 = date(2026, 6, 1), date(2026, 6, 2)


@pytest.mark.parametrize("key", ["direct-2", "direct-3", "direct-1"])
def test_book_succeeds_whatever_keys_clients_used(
    make_store: Callable[[], BookingStore], key: str
) -> None:
    store = make_store()
    store.add_inventory("h1", "double", D1, 1, total=2)
    holds = Holds(store, ttl=600)
    stay = Stay("h1", "double", D1, D2)
    paid = holds.confirm(holds.hold(stay), key, amount=100)
    booking = holds.book(stay)
    assert booking.stay == stay and booking.id != paid.id
    assert store.query("SELECT status FROM holds ORDER BY id") == [("converted",)] * 2
    assert store.query("SELECT booked FROM inventory") == [(2,)]
    assert store.query("SELECT idempotency_key, amount FROM payments") == [(key, 100)]
    assert holds.availability("h1", "double", D1, D2) == 0


def test_a_refused_book_holds_nothing(make_store: Callable[[], BookingStore]) -> None:
    store = make_store()
    store.add_inventory("h1", "double", D1, 1, total=1)
    holds = Holds(store, ttl=600)
    stay = Stay("h1", "double", D1, D2)
    holds.book(stay)
    before = [store.query(f"SELECT * FROM {t} ORDER BY 1") for t in ("holds", "inventory")]
    with pytest.raises(SoldOut):
        holds.book(stay)
    assert [store.query(f"SELECT * FROM {t} ORDER BY 1") for t in ("holds", "inventory")] == before
