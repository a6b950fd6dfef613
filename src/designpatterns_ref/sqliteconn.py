"""SQLite connections whose transactions the caller begins: ``BEGIN IMMEDIATE`` when it must.

Case study: shared by the SQLite backends of the families (booking, sharding).

Python's ``sqlite3`` opens transactions by itself (a deferred ``BEGIN`` before the first write
of a statement group), which takes the write lock late: two writers that both read first then
meet on the lock, and one fails with "database is locked" after its reads. A backend that
serialises writers at the start (``BEGIN IMMEDIATE``) must begin its own transactions, so it
opens the connection in autocommit mode (``isolation_level=None``) and talks to it through
:class:`AutocommitConnection`, which offers what a DB-API connection offers a backend
(``cursor``, ``commit``, ``rollback``, ``close``) and commits or rolls back only when a
transaction is open. The same backend code then runs on PostgreSQL's connections.

Trade-off: every statement outside an explicit ``BEGIN`` is its own transaction, so a backend
that forgets to begin one loses atomicity silently; the backends here begin one for every
multi-statement change. Complexity: O(1) per call, a thin wrapper.

>>> import sqlite3
>>> conn = AutocommitConnection(sqlite3.connect(":memory:", isolation_level=None))
>>> cur = conn.cursor()
>>> _ = cur.execute("CREATE TABLE t (x)")
>>> _ = cur.execute("BEGIN IMMEDIATE"); _ = cur.execute("INSERT INTO t VALUES (1)")
>>> conn.rollback()
>>> cur.execute("SELECT count(*) FROM t").fetchone()
(0,)
>>> conn.commit()  # no transaction open: nothing to do
>>> conn.close()
"""

from __future__ import annotations

import sqlite3

__all__ = ["AutocommitConnection"]


class AutocommitConnection:
    """An ``sqlite3`` connection opened with ``isolation_level=None``, so that ``BEGIN`` (and
    ``BEGIN IMMEDIATE``) is the caller's to choose; see the module docstring."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def cursor(self) -> sqlite3.Cursor:
        return self.raw.cursor()

    def commit(self) -> None:
        """Commit the open transaction, if any."""
        if self.raw.in_transaction:
            self.raw.execute("COMMIT")

    def rollback(self) -> None:
        """Roll back the open transaction, if any."""
        if self.raw.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        self.raw.close()
