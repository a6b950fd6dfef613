"""The SQLite conversation log: one table, WAL journal, survives a restart.

Case study: Design a Real-Time Chat App (WhatsApp / Messenger) (docs/case-studies/chat-app.md)

``messages(conv, seq, sender, client_msg_id, body)`` with primary key ``(conv, seq)`` and a
unique key ``(conv, sender, client_msg_id)``. An append runs in one ``BEGIN IMMEDIATE``
transaction (look up the idempotency key, read ``max(seq)``, insert ``max + 1``), so two
writers on the same file cannot take the same seq and a crash between the steps stores nothing.
One store may be shared by threads: its connection is opened for any thread, and a lock lets one
transaction at a time use it (threads interleaving statements on one connection would nest
transactions, which SQLite refuses). A store on a file reads through a second connection with
a lock of its own: in WAL mode a reader never waits for a writer, so a read is not held up
by an append waiting (up to the busy timeout) for another process's write lock.
Trade-off against memory: a disk write (WAL append, ``synchronous=NORMAL``) per message.

>>> store = SQLiteStore(":memory:")
>>> store.append("c", "ann", "m1", "hi")[0].seq, store.append("c", "bob", "m1", "yo")[0].seq
(1, 2)
>>> store.append("c", "ann", "m1", "hi")[0].seq
1
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import (
    Message,
    MessagingError,
    MessagingTypeError,
    StoreUnavailable,
    check_body,
    check_id,
    check_seq,
)

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    conv TEXT NOT NULL, seq INTEGER NOT NULL, sender TEXT NOT NULL,
    client_msg_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (conv, seq), UNIQUE (conv, sender, client_msg_id)
) WITHOUT ROWID
"""


@contextlib.contextmanager
def _write_transaction(db: sqlite3.Connection, where: str) -> Iterator[None]:
    """The block's write transaction, rolled back on any failure; a database failure raised as
    :class:`~designpatterns_ref.messaging.base.StoreUnavailable` naming ``where``.

    SQLite may have rolled back already (a full disk), and a closed store has nothing to roll
    back: asking it would raise its own error in place of the first, so the rollback is
    skipped or its error dropped."""
    try:
        yield
    except BaseException as exc:
        with contextlib.suppress(sqlite3.Error):
            if db.in_transaction:
                db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreUnavailable(f"{where}: {exc}") from exc
        raise


def _open_wal(
    path: str | Path, schema: str, *, check_same_thread: bool = True
) -> sqlite3.Connection:
    """An autocommit connection to the database at ``path`` (checked by the caller) in WAL
    mode, with ``schema`` created; :class:`MessagingError` when it cannot be opened or is not
    a database (the first statements read the file, so a file of another kind fails there,
    and is closed)."""
    try:
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=check_same_thread)
    except (sqlite3.Error, UnicodeEncodeError, ValueError) as exc:
        raise MessagingError(f"path={shown(path, 80)} cannot be opened: {exc}") from exc
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(schema)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise MessagingError(
            f"path={shown(path, 80)} is not a usable SQLite database: {exc}"
        ) from None
    return db


class SQLiteStore:
    """Conversation logs in a SQLite file (``":memory:"`` for a throwaway one)."""

    def __init__(self, path: str | Path) -> None:
        if not isinstance(path, str | Path):
            raise MessagingTypeError(f"path={shown(path, 80)} must be a str or a Path")
        if isinstance(path, str) and (not path or not path.isprintable()):
            raise MessagingError(f"path={shown(path, 80)} must be a non-empty printable path")
        self._db = _open_wal(path, _SCHEMA, check_same_thread=False)
        self._lock = threading.Lock()  # one transaction at a time on the shared connection
        self.path = str(path)
        if self.path == ":memory:":  # a second connection would open a second database
            self._reader, self._read_lock = self._db, self._lock
        else:
            try:
                self._reader = _open_wal(path, _SCHEMA, check_same_thread=False)
            except MessagingError:
                self._db.close()
                raise
            self._read_lock = threading.Lock()

    def append(self, conv: str, sender: str, client_msg_id: str, body: str) -> tuple[Message, bool]:
        """Store a message, or return the one this ``(sender, client_msg_id)`` already stored.

        A failure (the file locked by another writer past the busy timeout, a full disk, a
        read-only file) rolls the transaction back and raises
        :class:`~designpatterns_ref.messaging.base.StoreUnavailable`; nothing is stored and the
        store stays usable."""
        check_id("conv", conv), check_id("sender", sender)
        check_id("client_msg_id", client_msg_id), check_body(body)
        db = self._db
        with self._lock, _write_transaction(db, "SQLiteStore.append"):
            db.execute("BEGIN IMMEDIATE")  # take the write lock first (waits the busy timeout)
            row = db.execute(
                "SELECT seq, body FROM messages WHERE conv=? AND sender=? AND client_msg_id=?",
                (conv, sender, client_msg_id),
            ).fetchone()
            if row is not None:
                db.execute("COMMIT")
                return Message(conv, row[0], sender, client_msg_id, row[1]), False
            (seq,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conv=?", (conv,)
            ).fetchone()
            db.execute(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?)",
                (conv, seq, sender, client_msg_id, body),
            )
            db.execute("COMMIT")
        return Message(conv, seq, sender, client_msg_id, body), True

    def read(self, conv: str, after: int = 0, limit: int = 1000) -> list[Message]:
        """The messages with seq > ``after``, in order, at most ``limit``. A database failure (a
        closed store, a dropped table) raises
        :class:`~designpatterns_ref.messaging.base.StoreUnavailable`."""
        check_id("conv", conv), check_seq("after", after), check_seq("limit", limit, low=1)
        with self._read_lock:  # not inside another thread's open transaction
            try:
                rows = self._reader.execute(
                    "SELECT seq, sender, client_msg_id, body FROM messages "
                    "WHERE conv=? AND seq>? ORDER BY seq LIMIT ?",
                    (conv, after, limit),
                ).fetchall()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"SQLiteStore.read: {exc}") from exc
        return [Message(conv, s, who, cmid, body) for s, who, cmid, body in rows]

    def last_seq(self, conv: str) -> int:
        """The highest seq of ``conv`` (0 when empty); StoreUnavailable as :meth:`read`."""
        check_id("conv", conv)
        with self._read_lock:
            try:
                (seq,) = self._reader.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conv=?", (conv,)
                ).fetchone()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"SQLiteStore.last_seq: {exc}") from exc
        return int(seq)

    def close(self) -> None:
        """Close the database (committed messages are on disk)."""
        with self._lock:
            self._db.close()
        with self._read_lock:
            self._reader.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"
