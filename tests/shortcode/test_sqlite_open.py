"""Opening a SQLite counter or store while other connections open or hold the same file.

SQLite answers "database is locked" at once, without its busy timeout, where waiting could
deadlock: a connection that holds a read lock and asks for the write lock while another
connection holds it. Opening a *new* file runs into exactly that (switching it to WAL reads the
header, then writes it), so several processes opening one new file together used to fail now
and then; the opening statements are now tried again within the busy timeout.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.shortcode import (
    Link,
    ShortCodeError,
    ShortCodeUnavailable,
    SQLiteCounter,
    SQLiteStore,
    _sqlite_open,
)

PROCESSES = 8
ROUNDS = 6


def _open(kind: str, path: str) -> SQLiteCounter | SQLiteStore:
    return SQLiteCounter(path) if kind == "counter" else SQLiteStore(path)


def _use(opened: SQLiteCounter | SQLiteStore) -> None:
    """One write through the freshly opened object: it is usable, not only constructed."""
    if isinstance(opened, SQLiteCounter):
        opened.reserve(1)
    else:
        opened.insert(Link(f"c{time.monotonic_ns()}", "https://example.com", created_at=0.0))


def _holding_the_write_lock(path: Path) -> sqlite3.Connection:
    """A connection inside a write transaction on ``path`` (a new, empty file if none)."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def _release(holder: sqlite3.Connection) -> None:
    holder.execute("COMMIT")
    holder.close()


@pytest.mark.parametrize("kind", ["counter", "store"])
def test_opening_a_new_file_another_connection_is_writing_waits_for_it(
    tmp_path: Path, kind: str
) -> None:
    # The deterministic form of the race: the read-then-write upgrade of the WAL switch meets
    # a write lock, and SQLite refuses at once instead of waiting.
    path = tmp_path / "new.db"
    holder = _holding_the_write_lock(path)
    release = threading.Timer(0.3, _release, args=(holder,))
    release.start()
    try:
        opened = _open(kind, str(path))
    finally:
        release.join()
    _use(opened)
    opened.close()


@pytest.mark.parametrize("fresh", [True, False], ids=["new file", "existing file"])
@pytest.mark.parametrize("kind", ["counter", "store"])
def test_a_file_still_held_at_the_deadline_is_unavailable(
    tmp_path: Path, kind: str, fresh: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "held.db"
    if not fresh:
        _open(kind, str(path)).close()
    monkeypatch.setattr(_sqlite_open, "_BUSY_TIMEOUT", 0.3)
    holder = _holding_the_write_lock(path)
    start = time.monotonic()
    with pytest.raises(ShortCodeUnavailable, match=r"held\.db.*stayed locked.*0\.3 s"):
        _open(kind, str(path))
    assert time.monotonic() - start < 10  # the deadline, not a statement's own busy timeout
    _release(holder)
    opened = _open(kind, str(path))  # nothing was left half-open
    _use(opened)
    opened.close()


def test_a_file_that_is_not_a_database_is_still_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "text.db"
    path.write_text("not a database, " * 100)
    for make in (SQLiteCounter, SQLiteStore):
        with pytest.raises(ShortCodeError, match="is not usable") as caught:
            make(path)
        assert not isinstance(caught.value, ShortCodeUnavailable)


def _open_in_rounds(kind: str, paths: list[str], start: Any, out: Any) -> None:
    failures = []
    for path in paths:
        start.wait()
        try:
            opened = _open(kind, path)
            _use(opened)
            opened.close()
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
    out.put(failures)


@pytest.mark.parametrize("kind", ["counter", "store"])
def test_eight_processes_open_a_new_file_together(tmp_path: Path, kind: str) -> None:
    """8 processes behind a barrier open one new file, round after round. Left to chance the
    race is rare (a few opens in a thousand on a 2-core machine), so in each round this
    process holds the file's write lock for the first 20 ms, which is what the loser of the
    race meets: every opener that starts before it ends is refused at once unless it tries
    again."""
    context = multiprocessing.get_context("fork")
    start, out = context.Barrier(PROCESSES + 1), context.Queue()
    paths = [tmp_path / f"round-{i}.db" for i in range(ROUNDS)]
    workers = [
        context.Process(target=_open_in_rounds, args=(kind, list(map(str, paths)), start, out))
        for _ in range(PROCESSES)
    ]
    for w in workers:
        w.start()
    try:
        for path in paths:
            holder = _holding_the_write_lock(path)
            start.wait(timeout=120)
            time.sleep(0.02)
            _release(holder)
        failures = [f for _ in workers for f in out.get(timeout=120)]
    finally:
        for w in workers:
            w.join(timeout=60)
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    assert failures == []
    if kind == "counter":  # every process took one number from each file: 8 distinct
        for path in paths:
            assert SQLiteCounter(path).reserve(1) == PROCESSES
