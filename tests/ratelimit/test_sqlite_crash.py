"""A SQLite decision that dies between its writes leaves the file as it was before it.

A composite writes one row per part in one transaction. Here the process is killed after the
first part's row is written and before the second's, or the second write fails in SQLite
itself (a trigger that aborts, as a full disk would): either way the state seen afterwards,
by another process or the same one, is the state before the decision, never half of it.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.ratelimit import BackendUnavailable
from designpatterns_ref.ratelimit import sqlite as sq

NOW = 1000.0


def _composite(path: Path | str, on_error: Any = "deny") -> Any:
    """A token bucket of 4 (an hour to refill) and a fixed window of 4 an hour, as one."""
    clock = functools.partial(float, NOW)  # time stands still: only writes change answers
    return sq.all_of(
        sq.TokenBucket(path, 4, 3600.0, 4, clock=clock, name="crash", on_error=on_error),
        sq.FixedWindow(path, 4, 3600.0, clock=clock, name="crash", on_error=on_error),
    )


def _die_between_the_writes(path: str, key: str, cost: int) -> None:
    """In a forked child: let the first part's row be written, then kill the process before
    the second part's row is (``os._exit``: no cleanup, no rollback, no commit)."""
    from designpatterns_ref.ratelimit import _sqlite_store

    real, calls = _sqlite_store.json, itertools.count()

    class Dying:
        loads = staticmethod(real.loads)

        @staticmethod
        def dumps(value: object) -> str:
            if next(calls) == 1:  # the first part's UPSERT has run; the second's has not
                os._exit(9)
            return real.dumps(value)

    _sqlite_store.json = Dying  # type: ignore[assignment]
    _composite(path).allow(key, cost)
    os._exit(0)  # not reached: the decision writes two rows


def _crash(path: Path, key: str, cost: int) -> None:
    child = multiprocessing.get_context("fork").Process(
        target=_die_between_the_writes, args=(str(path), key, cost)
    )
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 9  # it died where it was meant to


def _remaining(path: Path) -> tuple[int, int]:
    """What each part would have left for "k" after one more unit, read afresh (new limiters;
    the process's connection)."""
    clock = functools.partial(float, NOW)
    bucket = sq.TokenBucket(path, 4, 3600.0, 4, clock=clock, name="crash")
    window = sq.FixedWindow(path, 4, 3600.0, clock=clock, name="crash")
    return bucket.peek("k").remaining, window.peek("k").remaining


@pytest.mark.parametrize("seen", [False, True], ids=["new-key", "known-key"])
def test_a_process_killed_between_the_writes_of_a_composite_changes_nothing(
    tmp_path: Path, seen: bool
) -> None:
    path = tmp_path / "limits.db"
    limiter = _composite(path)
    if seen:
        assert limiter.allow("k", 1)
    before = (2, 2) if seen else (3, 3)
    assert _remaining(path) == before
    _crash(path, "k", 2)
    assert _remaining(path) == before  # the first part's write went with the process
    if not seen:
        assert [part.tracked_keys() for part in limiter.limiters] == [0, 0]
    assert limiter.allow("k", before[0] + 1)  # the file is whole and the lock free
    assert _remaining(path) == (0, 0)


@pytest.mark.parametrize("on_error", ["deny", "raise"])
def test_a_second_write_that_fails_in_sqlite_rolls_back_the_first(
    tmp_path: Path, on_error: str
) -> None:
    path = tmp_path / "limits.db"
    limiter = _composite(path, on_error)
    assert limiter.allow("k", 1)
    with sqlite3.connect(path) as conn:  # the fixed window's rows can no longer be written
        for event in ("INSERT", "UPDATE"):
            conn.execute(
                f"CREATE TRIGGER full_{event} BEFORE {event} ON ratelimit "
                "WHEN NEW.name LIKE 'FixedWindow:%' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
    if on_error == "raise":
        with pytest.raises(BackendUnavailable, match="disk full"):
            limiter.allow("k", 2)
    else:
        assert not limiter.allow("k", 2)
    assert _remaining(path) == (2, 2)  # the token bucket's write was rolled back
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER full_INSERT")
        conn.execute("DROP TRIGGER full_UPDATE")
    assert limiter.allow("k", 3)
    assert _remaining(path) == (0, 0)
