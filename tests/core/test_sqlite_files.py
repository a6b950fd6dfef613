"""A path to a file that is not a SQLite database is refused with the family's error.

SQLite opens any file lazily: ``connect`` succeeds and the first statement fails with a bare
``sqlite3.DatabaseError``. Every SQLite-backed class must turn that into its own error, at
construction or (for a backend that opens its file on first use) at its first call. The list
below is checked against the source: every module that calls ``sqlite3.connect`` on a path is
in it, so a new SQLite backend cannot be missed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from designpatterns_ref.errors import DesignPatternsError

SRC = Path(__file__).resolve().parents[2] / "src"

#: Modules that call ``sqlite3.connect`` but never on a path a caller gives, with the reason.
NO_CALLER_FILE = {
    "designpatterns_ref.sharding.schema": "an in-memory database of its own (':memory:')",
    "designpatterns_ref.sqliteconn": "wraps a connection the caller opened (only its doctest "
    "connects, in memory)",
}


def _shards(path: str) -> object:
    from designpatterns_ref.sharding.sql import SQLiteShards

    folder = Path(path).parent / "shards"
    folder.mkdir()
    (folder / "-80.db").write_bytes(Path(path).read_bytes())
    return SQLiteShards(folder).query("-80", "SELECT 1")


def _cases() -> list[tuple[str, str, Callable[[str], object]]]:
    """(id, the module whose sqlite3.connect it reaches, a call on the junk file's path)."""
    from designpatterns_ref.booking.store import SQLiteStore as BookingStore
    from designpatterns_ref.capacity.log import SQLiteEventLog
    from designpatterns_ref.clock import ManualClock
    from designpatterns_ref.messaging.readstore import SQLiteReadStore
    from designpatterns_ref.messaging.sqlite import SQLiteStore
    from designpatterns_ref.notifications.outbox import Outbox
    from designpatterns_ref.notifications.queues import SQLiteQueue
    from designpatterns_ref.ratelimit import sqlite as rl
    from designpatterns_ref.serverless.table import KeyValueTable
    from designpatterns_ref.shortcode.store import SQLiteStore as ShortCodeStore
    from designpatterns_ref.workflows.durable import SQLiteLog
    from designpatterns_ref.workflows.food import World
    from designpatterns_ref.workflows.outbox import Inbox

    return [
        ("booking.SQLiteStore", "booking.store", BookingStore),
        ("capacity.SQLiteEventLog", "capacity.log", SQLiteEventLog),
        ("messaging.SQLiteReadStore", "messaging.sqlite", SQLiteReadStore),
        ("messaging.SQLiteStore", "messaging.sqlite", SQLiteStore),
        ("notifications.Outbox", "notifications.outbox", Outbox),
        ("notifications.SQLiteQueue", "notifications.queues", SQLiteQueue),
        (
            "ratelimit.TokenBucket.allow",
            "ratelimit._sqlite_store",
            lambda p: rl.TokenBucket(p, 10, 1.0, on_error="raise").allow("k"),
        ),
        ("serverless.KeyValueTable", "serverless.table", KeyValueTable),
        ("sharding.SQLiteShards.query", "sharding.sql", _shards),
        ("shortcode.SQLiteStore", "shortcode._sqlite_open", ShortCodeStore),
        ("workflows.SQLiteLog", "workflows.durable", SQLiteLog),
        ("workflows.World", "workflows.food", lambda p: World(p, [], clock=ManualClock())),
        ("workflows.Inbox", "workflows.outbox", Inbox),
    ]


def test_every_module_that_opens_a_sqlite_file_is_listed() -> None:
    opening = {
        ".".join(path.relative_to(SRC).with_suffix("").parts)
        for path in SRC.rglob("*.py")
        if re.search(r"sqlite3\s*\.\s*connect\s*\(", path.read_text(encoding="utf-8"))
    }
    listed = {f"designpatterns_ref.{module}" for _, module, _ in _cases()}
    assert opening - set(NO_CALLER_FILE) == listed, (
        "every module calling sqlite3.connect needs a case here (or a reason in NO_CALLER_FILE)"
    )


@pytest.mark.parametrize(("name", "module", "make"), _cases(), ids=[n for n, _, _ in _cases()])
def test_a_file_that_is_not_a_database_is_refused(
    tmp_path: Path, name: str, module: str, make: Callable[[str], object]
) -> None:
    junk = tmp_path / "notes.db"
    text = b"plain text, not a database: " * 40
    junk.write_bytes(text)
    with pytest.raises(DesignPatternsError, match=r"database|cannot open|cannot be opened"):
        make(str(junk))
    assert junk.read_bytes() == text  # refused, and the file is left as it was
