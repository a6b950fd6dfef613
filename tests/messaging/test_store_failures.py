"""A database failure under a SQLite store's reads is the family's error, as under its writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from designpatterns_ref.messaging import MessagingError, SQLiteReadStore, SQLiteStore

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


READ_STATE_CALLS: dict[str, Callable[[SQLiteReadStore], object]] = {
    "load": lambda store: store.load("ann", "general"),
    "unread": lambda store: store.unread("ann"),
    "write": lambda store: store.write([("ann", "general", 2, 1)]),
}


@pytest.mark.parametrize("call", list(READ_STATE_CALLS))
def test_a_closed_read_state_store_fails_with_our_error(call: str, tmp_path: Path) -> None:
    store = SQLiteReadStore(tmp_path / "rs.db")
    store.write([("ann", "general", 1, 1)])
    store.close()
    with pytest.raises(MessagingError, match="closed"):
        READ_STATE_CALLS[call](store)


@pytest.mark.parametrize("call", list(READ_STATE_CALLS))
def test_a_dropped_read_state_table_fails_with_our_error(call: str, tmp_path: Path) -> None:
    store = SQLiteReadStore(tmp_path / "rs.db")
    store.write([("ann", "general", 1, 1)])
    store._db.execute("DROP TABLE read_states")
    with pytest.raises(MessagingError, match="no such table"):
        READ_STATE_CALLS[call](store)
    assert not store._db.in_transaction  # the failed write rolled back
    store.close()
