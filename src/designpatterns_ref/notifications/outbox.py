"""The transactional outbox: a notification is enqueued if and only if the business commit was.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

A producer that writes an order and then calls the notification service can crash between the
two (the order exists, no notification) or notify for an order whose transaction rolled back.
The outbox writes the notification into a table of the same database, in the same transaction
as the business rows; :meth:`Outbox.relay` later reads unpublished rows in order, hands each to
:meth:`Pipeline.accept <designpatterns_ref.notifications.Pipeline.accept>` and marks it
published. A crash between the accept and the mark relays the row again: the idempotency key
makes the second accept a no-op, so the user still sees one notification.

A row the pipeline refuses (a template it does not know, a user it has not registered: its
``accept`` raises :class:`~.base.NotificationError`) would otherwise stop every relay at that
row, holding back every row after it for good. The relay marks such a row failed instead (the
``published`` column holds 0 pending, 1 published, 2 failed; ``error`` holds the refusal),
goes on with the rest, and never tries it again: :meth:`Outbox.failed` lists the failed rows
with their reasons, the outbox's dead letters. An outbox given the pipeline
(``Outbox(path, pipeline=p)``) also refuses such a row at :meth:`Outbox.add`, inside the
producer's transaction, which the producer can then roll back.

Complexity: one extra INSERT per business transaction; O(rows) per relay.

>>> import os, tempfile
>>> box = Outbox(os.path.join(tempfile.mkdtemp(), "shop.db"))
>>> with box.transaction() as tx:
...     _ = tx.execute("CREATE TABLE orders (id TEXT)")
...     _ = tx.execute("INSERT INTO orders VALUES ('o1')")
...     box.add(tx, key="order-o1", template="shipped", users=("ada",), vars={"id": "o1"})
>>> box.pending()
1
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import (
    Notification,
    NotificationError,
    QueueUnavailable,
    check_name,
)
from designpatterns_ref.notifications.queues import check_path

__all__ = ["Outbox"]


PENDING, PUBLISHED, FAILED = 0, 1, 2


class _Accepts(Protocol):
    def accept(self, n: Notification) -> bool: ...


class _Validates(_Accepts, Protocol):
    def validate(self, n: Notification) -> None: ...


def _check_pipeline(where: str, pipeline: object, *, validates: bool = False) -> None:
    methods = ("accept", "validate") if validates else ("accept",)
    if not all(callable(getattr(pipeline, m, None)) for m in methods):
        raise NotificationError(
            f"{where}: pipeline={shown(pipeline, 80)} must be a Pipeline (with "
            f"{' and '.join(methods)})"
        )


@contextlib.contextmanager
def _store(where: str, path: str) -> Iterator[None]:
    """Raise the database failing in the block (locked, disk full, closed) as
    :class:`~.base.QueueUnavailable`, as :class:`~.queues.SQLiteQueue` does."""
    try:
        yield
    except sqlite3.Error as exc:
        raise QueueUnavailable(f"{where}: {shown(path)}: {exc}") from exc


class Outbox:
    """An ``outbox`` table beside the producer's own tables in one SQLite database.

    ``pipeline`` (optional): the pipeline the rows are relayed to; :meth:`add` then refuses a
    row its ``validate`` refuses (unknown template or user, missing variables, ...).
    """

    def __init__(self, path: str, *, pipeline: _Validates | None = None) -> None:
        check_path("Outbox", path)
        if pipeline is not None:
            _check_pipeline("Outbox", pipeline, validates=True)
        self.path = path
        self.pipeline = pipeline
        try:
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise NotificationError(f"Outbox: cannot open path={shown(path)}: {exc}") from None
        try:  # the first statement reads the file: one that is not a database fails here
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, key TEXT UNIQUE, "
                "body TEXT, published INTEGER NOT NULL DEFAULT 0, error TEXT)"
            )
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(outbox)")}
            if "error" not in columns:  # an outbox written before failed rows were kept apart
                self.db.execute("ALTER TABLE outbox ADD COLUMN error TEXT")
        except sqlite3.Error as exc:
            self.db.close()
            raise NotificationError(
                f"Outbox: path={shown(path)} is not a usable database: {exc}"
            ) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A transaction on the producer's database: commit on success, roll back on error.

        Either the block's writes are committed, or none is: a ``COMMIT`` the database refuses
        (locked by a reader past the busy timeout, disk full) rolls the transaction back and
        raises :class:`~.base.QueueUnavailable`, so the connection is never left inside a
        transaction that holds the file's write lock."""
        with _store("Outbox.transaction", self.path):
            self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self._roll_back()
            raise
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._roll_back()
            raise QueueUnavailable(
                f"Outbox.transaction: {shown(self.path)}: the commit failed, so nothing of the "
                f"transaction was written: {exc}"
            ) from exc

    def _roll_back(self) -> None:
        """End the open transaction, if any; a rollback that fails cannot hide the error that
        led to it (SQLite has then rolled back already, or the connection is gone)."""
        if self.db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")

    def add(
        self,
        tx: sqlite3.Connection,
        *,
        key: str,
        template: str,
        users: tuple[str, ...],
        vars: Mapping[str, str] | None = None,
        channels: tuple[str, ...] = ("apns", "fcm"),
        lane: str = "normal",
    ) -> None:
        """Write a notification into the outbox inside the open transaction ``tx``.

        The fields are checked for type here; an outbox given the pipeline also runs its
        ``validate`` (so a template it does not know is refused now, not at relay time).
        """
        if tx is not self.db or not self.db.in_transaction:
            raise NotificationError("Outbox.add: tx must be the open transaction of transaction()")
        check_name("Outbox.add", "key", key)
        check_name("Outbox.add", "template", template)
        if not isinstance(users, tuple) or not all(isinstance(u, str) for u in users):
            raise NotificationError(f"Outbox.add: users={shown(users)} must be a tuple of names")
        if vars is not None and (
            not isinstance(vars, Mapping)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in vars.items())
        ):
            raise NotificationError(f"Outbox.add: vars={shown(vars)} must map names to strings")
        if not isinstance(channels, tuple) or not all(isinstance(c, str) for c in channels):
            raise NotificationError(f"Outbox.add: channels={shown(channels)} must be a tuple")
        if not isinstance(lane, str):
            raise NotificationError(f"Outbox.add: lane={shown(lane)} must be a lane name")
        try:  # ensure_ascii=False: an escaped lone surrogate would pass, then fail at relay
            json.dumps([users, vars, channels, lane], ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise NotificationError(
                "Outbox.add: users, vars, channels or lane is not valid UTF-8"
            ) from None
        if self.pipeline is not None:
            note = Notification(key, template, users, dict(vars or {}), channels, lane=lane)
            self.pipeline.validate(note)
        body = {
            "template": template,
            "users": list(users),
            "vars": dict(vars or {}),
            "channels": list(channels),
            "lane": lane,
        }
        tx.execute(
            "INSERT OR IGNORE INTO outbox (key, body) VALUES (?, ?)", (key, json.dumps(body))
        )

    def pending(self) -> int:
        """Rows not yet published (failed rows are not pending: see :meth:`failed`). A
        database that fails (locked, closed) raises :class:`~.base.QueueUnavailable`."""
        with _store("Outbox.pending", self.path):
            row = self.db.execute("SELECT count(*) FROM outbox WHERE published = ?", (PENDING,))
            return int(row.fetchone()[0])

    def failed(self) -> list[tuple[str, str]]:
        """The rows the pipeline refused, in order: ``(key, the refusal's message)``. A
        database that fails (locked, closed) raises :class:`~.base.QueueUnavailable`."""
        with _store("Outbox.failed", self.path):
            rows = self.db.execute(
                "SELECT key, error FROM outbox WHERE published = ? ORDER BY id", (FAILED,)
            )
            return [(str(key), str(error)) for key, error in rows]

    def relay(self, pipeline: _Accepts, *, crash_after_accept: int | None = None) -> int:
        """Accept every pending row in order and mark it; return rows published.

        A row the pipeline refuses (``accept`` raises :class:`NotificationError`) is marked
        failed with the refusal (see :meth:`failed`), not counted, and never relayed again;
        the rows after it go on. A queue that cannot take the row (its store is down or locked:
        ``accept`` raises :class:`~.base.QueueUnavailable`) stops the relay with that error and
        leaves the row and every row after it pending, neither published nor failed: the next
        relay retries them in order. An outbox that cannot mark a row (its own database locked
        past the busy timeout) stops the relay with :class:`~.base.QueueUnavailable` too, the
        row accepted but still pending: the next relay accepts it again and its key absorbs the
        repeat, as after a crash. ``crash_after_accept=k`` raises ``RuntimeError`` after the
        k-th accept and before its mark, to show that a crashed relay repeats an accept and
        the key absorbs it.
        """
        _check_pipeline("Outbox.relay", pipeline)
        if crash_after_accept is not None and (
            isinstance(crash_after_accept, bool)
            or not isinstance(crash_after_accept, int)
            or not 1 <= crash_after_accept <= 2**63
        ):
            raise NotificationError(
                f"Outbox.relay: crash_after_accept={shown(crash_after_accept)} must be None or an "
                "int >= 1"
            )
        with _store("Outbox.relay", self.path):
            rows = self.db.execute(
                "SELECT id, key, body FROM outbox WHERE published = ? ORDER BY id", (PENDING,)
            ).fetchall()
        done = 0
        for row_id, key, text in rows:
            body: dict[str, Any] = json.loads(text)
            note = Notification(
                key,
                body["template"],
                tuple(body["users"]),
                body["vars"],
                tuple(body["channels"]),
                lane=body["lane"],
            )
            try:
                pipeline.accept(note)
            except NotificationError as exc:  # refused for good: set aside, go on
                with _store("Outbox.relay", self.path):
                    self.db.execute(
                        "UPDATE outbox SET published = ?, error = ? WHERE id = ?",
                        (FAILED, str(exc), row_id),
                    )
                continue
            if crash_after_accept is not None and done + 1 == crash_after_accept:
                raise RuntimeError(f"relay crashed after accepting {shown(key)}")
            with _store("Outbox.relay", self.path):
                self.db.execute("UPDATE outbox SET published = ? WHERE id = ?", (PUBLISHED, row_id))
            done += 1
        return done

    def close(self) -> None:
        """Close the database."""
        self.db.close()
