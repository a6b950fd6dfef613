"""A path to a file that is not a SQLite database is refused with the family's error.

SQLite opens any file lazily: ``connect`` succeeds and the first statement fails with a bare
``sqlite3.DatabaseError``. Every SQLite-backed constructor must turn that into its own error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from designpatterns_ref.errors import DesignPatternsError


def _constructors() -> list[tuple[str, Callable[[str], object]]]:
    from designpatterns_ref.capacity.log import SQLiteEventLog
    from designpatterns_ref.messaging.readstore import SQLiteReadStore
    from designpatterns_ref.messaging.sqlite import SQLiteStore
    from designpatterns_ref.notifications.outbox import Outbox
    from designpatterns_ref.notifications.queues import SQLiteQueue
    from designpatterns_ref.serverless.table import KeyValueTable
    from designpatterns_ref.shortcode.store import SQLiteStore as ShortCodeStore
    from designpatterns_ref.workflows.durable import SQLiteLog
    from designpatterns_ref.workflows.outbox import Inbox

    return [
        ("capacity.SQLiteEventLog", SQLiteEventLog),
        ("messaging.SQLiteReadStore", SQLiteReadStore),
        ("messaging.SQLiteStore", SQLiteStore),
        ("notifications.Outbox", Outbox),
        ("notifications.SQLiteQueue", SQLiteQueue),
        ("serverless.KeyValueTable", KeyValueTable),
        ("shortcode.SQLiteStore", ShortCodeStore),
        ("workflows.SQLiteLog", SQLiteLog),
        ("workflows.Inbox", Inbox),
    ]


@pytest.mark.parametrize(("name", "make"), _constructors(), ids=[n for n, _ in _constructors()])
def test_a_file_that_is_not_a_database_is_refused(
    tmp_path: Path, name: str, make: Callable[[str], object]
) -> None:
    junk = tmp_path / "notes.db"
    text = b"plain text, not a database: " * 40
    junk.write_bytes(text)
    with pytest.raises(DesignPatternsError, match=r"database|cannot open|cannot be opened"):
        make(str(junk))
    assert junk.read_bytes() == text  # refused, and the file is left as it was
