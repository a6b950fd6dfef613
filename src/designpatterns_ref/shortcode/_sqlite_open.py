"""Opening a SQLite file that other processes may be opening at the same moment.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

The counters and the link store keep their state in SQLite files shared by every process of a
deployment. Opening one runs a few statements (the journal mode, the tables), and SQLite may
refuse those at once, without waiting, where waiting could deadlock: several processes opening
a new file together each hold a read lock and ask for the write lock to switch it to WAL. So
the opening statements are written to be run again, and are, until a deadline.

Trade-off: a worker that starts beside others may wait up to the deadline instead of failing
at once; a file that is not a database still fails at once.

>>> import os, tempfile
>>> conn = open_sqlite("demo", os.path.join(tempfile.mkdtemp(), "x.db"),
...                    lambda c: c.execute("CREATE TABLE IF NOT EXISTS t (x)"))
>>> conn.execute("SELECT count(*) FROM t").fetchone()
(0,)
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.base import ShortCodeError, ShortCodeUnavailable
from designpatterns_ref.shortcode.base import _surrogate_at as _surrogate

__all__ = ["open_sqlite"]

#: How long a statement waits for a SQLite file another connection holds, in seconds; opening a
#: file keeps trying for as long.
_BUSY_TIMEOUT = 30.0

_BUSY_OR_LOCKED = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def open_sqlite(
    where: str, path: str, setup: Callable[[sqlite3.Connection], None]
) -> sqlite3.Connection:
    """A connection to the SQLite file ``path`` on which ``setup`` (the opening statements:
    the journal mode, the tables) has run, or the error that says why not.

    ``setup`` must be safe to run again (``IF NOT EXISTS``, upserts): while SQLite answers
    "busy" or "locked" it is run again, within the busy timeout (30 s), which covers
    most waits itself, but not all: SQLite answers at once, without waiting, where waiting could
    deadlock, as when several processes open a new file together and each, holding a read
    lock, asks for the write lock to switch the file to WAL. A file still held at the deadline
    is :class:`ShortCodeUnavailable`; a file SQLite cannot use (not a database, damaged) is
    :class:`ShortCodeError`. Either way the connection is closed.
    """
    if _surrogate(path) is not None or "\0" in path:
        raise ShortCodeError(f"{where}: path={shown(path[:80])} holds a character no file name can")
    try:
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=_BUSY_TIMEOUT
        )
    except (sqlite3.Error, OSError, ValueError) as exc:
        raise ShortCodeError(f"{where}: path={shown(path[:80])} cannot be opened: {exc}") from None
    deadline, pause = time.monotonic() + _BUSY_TIMEOUT, 0.001
    try:
        while True:
            left = deadline - time.monotonic()  # no statement waits past the deadline
            conn.execute(f"PRAGMA busy_timeout = {max(1, int(left * 1000))}")
            try:
                setup(conn)
                break
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _BUSY_OR_LOCKED:
                    raise
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if time.monotonic() + pause >= deadline:
                    raise ShortCodeUnavailable(
                        f"{where}: path={shown(path)} stayed locked by another connection "
                        f"for {_BUSY_TIMEOUT:g} s while opening: {exc}"
                    ) from None
            time.sleep(pause)
            pause = min(2 * pause, 0.05)
        conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT * 1000)}")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ShortCodeError(f"{where}: path={shown(path)} is not usable: {exc}") from None
    except BaseException:
        conn.close()
        raise
    return conn
