"""The transactional outbox: a notification is enqueued if and only if the business commit was.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

A producer that writes an order and then calls the notification service can crash between the
two (the order exists, no notification) or notify for an order whose transaction rolled back.
The outbox writes the notification into a table of the same database, in the same transaction
as the business rows; :meth:`Outbox.relay` later reads unpublished rows in order, hands each to
:meth:`Pipeline.accept <designpatterns_ref.notifications.Pipeline.accept>` and marks it
published. A crash between the accept and the mark relays the row again: the idempotency key
makes the second accept a no-op, so the user still sees one notification.

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

from designpatterns_ref.notifications.base import Notification, NotificationError, check_name
from designpatterns_ref.notifications.queues import check_path

__all__ = ["Outbox"]


class _Accepts(Protocol):
    def accept(self, n: Notification) -> bool: ...


class Outbox:
    """An ``outbox`` table beside the producer's own tables in one SQLite database."""

    def __init__(self, path: str) -> None:
        check_path("Outbox", path)
        self.path = path
        try:
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise NotificationError(f"Outbox: cannot open path={path!r}: {exc}") from None
        try:  # the first statement reads the file: one that is not a database fails here
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, key TEXT UNIQUE, "
                "body TEXT, published INTEGER NOT NULL DEFAULT 0)"
            )
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise NotificationError(
                f"Outbox: path={path!r} is not a usable database: {exc}"
            ) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A transaction on the producer's database: commit on success, roll back on error."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

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
        """Write a notification into the outbox inside the open transaction ``tx``."""
        if tx is not self.db or not self.db.in_transaction:
            raise NotificationError("Outbox.add: tx must be the open transaction of transaction()")
        check_name("Outbox.add", "key", key)
        check_name("Outbox.add", "template", template)
        if not isinstance(users, tuple) or not all(isinstance(u, str) for u in users):
            raise NotificationError(f"Outbox.add: users={users!r} must be a tuple of names")
        if vars is not None and (
            not isinstance(vars, Mapping)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in vars.items())
        ):
            raise NotificationError(f"Outbox.add: vars={vars!r} must map names to strings")
        if not isinstance(channels, tuple) or not all(isinstance(c, str) for c in channels):
            raise NotificationError(f"Outbox.add: channels={channels!r} must be a tuple")
        if not isinstance(lane, str):
            raise NotificationError(f"Outbox.add: lane={lane!r} must be a lane name")
        try:
            json.dumps([users, vars, channels, lane]).encode("utf-8")
        except UnicodeEncodeError:
            raise NotificationError("Outbox.add: the notification is not valid UTF-8") from None
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
        """Rows not yet published."""
        return int(self.db.execute("SELECT count(*) FROM outbox WHERE published = 0").fetchone()[0])

    def relay(self, pipeline: _Accepts, *, crash_after_accept: int | None = None) -> int:
        """Accept every unpublished row in order and mark it; return rows published.

        ``crash_after_accept=k`` raises ``RuntimeError`` after the k-th accept and before its
        mark, to show that a crashed relay repeats an accept and the key absorbs it.
        """
        rows = self.db.execute(
            "SELECT id, key, body FROM outbox WHERE published = 0 ORDER BY id"
        ).fetchall()
        done = 0
        for row_id, key, text in rows:
            body: dict[str, Any] = json.loads(text)
            pipeline.accept(
                Notification(
                    key,
                    body["template"],
                    tuple(body["users"]),
                    body["vars"],
                    tuple(body["channels"]),
                    lane=body["lane"],
                )
            )
            if crash_after_accept is not None and done + 1 == crash_after_accept:
                raise RuntimeError(f"relay crashed after accepting {key!r}")
            self.db.execute("UPDATE outbox SET published = 1 WHERE id = ?", (row_id,))
            done += 1
        return done

    def close(self) -> None:
        """Close the database."""
        self.db.close()
