"""A database failure under SQLiteStore's reads is the family's error, as under its appends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from designpatterns_ref.messaging import MessagingError, SQLiteStore

CALLS: dict[str, Callable[[SQLiteStore], object]] = {
    "read": lambda store: store.read("c"),
    "last_seq": lambda store: store.last_seq("c"),
    "append": lambda store: store.append("c", "ann", "m2", "second"),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_a_closed_store_fails_with_our_error(call: str, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "chat.db")
    store.append("c", "ann", "m1", "first")
    store.close()
    with pytest.raises(MessagingError, match="closed"):
        CALLS[call](store)


@pytest.mark.parametrize("call", list(CALLS))
def test_a_dropped_table_fails_with_our_error(call: str, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "chat.db")
    store.append("c", "ann", "m1", "first")
    store._db.execute("DROP TABLE messages")
    with pytest.raises(MessagingError, match="no such table"):
        CALLS[call](store)
    assert not store._db.in_transaction  # the failed append rolled back
    store.close()
