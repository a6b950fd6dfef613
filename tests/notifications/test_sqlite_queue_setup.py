"""SQLiteQueue's setup fails whole: a refused name or table raises NotificationError and leaves
no connection open. The PRAGMA and the CREATE statements ran outside the error mapping: a name
SQLite keeps for itself ("sqlite_q": an identifier all the same) raised a bare
sqlite3.OperationalError and left the connection open."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.notifications import NotificationError, SQLiteQueue


def _open_handles(path: Path) -> int:
    """How many of this process's file descriptors point at ``path`` (Linux only)."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            n += os.readlink(f"/proc/self/fd/{fd}") == str(path)
    return n


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prefix=st.sampled_from(["sqlite_", "SQLite_", "SQLITE_"]),
    rest=st.text("abcxyz_019", max_size=8),
)
def test_a_name_sqlite_keeps_for_itself_is_refused_up_front(
    tmp_path: Path, prefix: str, rest: str
) -> None:
    path = tmp_path / "q.db"
    with pytest.raises(NotificationError, match=r"SQLiteQueue: name=.*sqlite_"):
        SQLiteQueue(str(path), name=prefix + rest)
    assert not path.exists()  # refused before anything was opened


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts handles in /proc")
def test_a_setup_that_fails_midway_closes_its_connection(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    db = sqlite3.connect(path)
    db.execute('CREATE TABLE "q" (other TEXT)')  # a table of another shape: the index fails
    db.commit()
    db.close()
    for _ in range(3):
        with pytest.raises(NotificationError, match=r"SQLiteQueue: cannot open path=.*name='q'"):
            SQLiteQueue(str(path), name="q")
    assert _open_handles(path) == 0
    q = SQLiteQueue(str(path), name="q2")  # the file itself is fine
    q.put({"n": 1})
    assert len(q) == 1
