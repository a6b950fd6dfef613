"""Queues between the pipeline's stages, behind one interface: in memory and on SQLite.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

Every queue offers ``put(item, lane=, at=)``, ``put_many(items, lane=)``, ``take(n, now)``
(ticketed items, the ``"high"`` lane first, only those due), ``renew(tickets, now)`` (the taker
is alive and still at these items: no other taker gets them for a while yet), ``ack(tickets)``,
``ack_settled(tickets, dedup, confirmed, released)`` (settle a take's dedup claims and ack it:
the send stage's last step), ``next_due()`` (when the earliest waiting item becomes takeable)
and ``len()``: the :class:`Queue` protocol.
An item taken and not acked comes back: at once on :meth:`MemoryQueue.restore`, after ``lease``
seconds on :class:`SQLiteQueue` (a crashed worker's items are served again). That is
at-least-once delivery; the send stage's dedup window keeps a replay of a delivered message
from reaching the phone again.

A store that cannot take an item (on SQLite another writer holds the file past the busy
timeout, on Redis the server is down) raises :class:`~.base.QueueUnavailable` from ``put`` and
``put_many``, with nothing added (a batch goes in whole or not at all: one SQLite transaction,
one Redis MULTI/EXEC, even when the store fails midway): the caller retries later (the
pipeline's ``accept`` records the idempotency key only once the put succeeded, so the retry
enqueues it). ``take``, ``ack`` and ``ack_settled`` raise it too, with nothing leased or
acked. Acking a ticket the queue no longer holds (acked already, or taken again after its lease
ran out and acked by another worker) does nothing; a ticket the queue could never have given
out is refused.

- :class:`MemoryQueue`: deques per lane plus a heap of delayed items; O(1) put and take,
  O(log n) for a delayed item. Lost when the process ends.
- :class:`SQLiteQueue`: one table, an index on (lane, at); each take is one transaction that
  leases the rows. Survives a restart (tested across a reopen). O(log n) per item.
- :class:`~designpatterns_ref.notifications.redis_streams.RedisStreamQueue`: the engine that
  several worker processes share.

>>> q = MemoryQueue()
>>> q.put({"n": 1}); q.put({"n": 2}, lane="high")
>>> [item["n"] for _, item in q.take(10, now=0.0)] == [2, 1]  # the high lane first
True
>>> len(q)
2
"""

from __future__ import annotations

import heapq
import itertools
import json
import sqlite3
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol, cast

from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import (
    LANES,
    Deliverer,
    NotificationError,
    QueueUnavailable,
    check_seconds,
)

__all__ = [
    "MemoryQueue",
    "Queue",
    "SQLiteQueue",
    "check_dedup",
    "check_many",
    "check_now",
    "check_path",
    "check_put",
    "check_queue",
    "check_take",
    "check_tickets",
    "encode",
]

Item = dict[str, Any]


class Queue(Protocol):
    """A lane-ordered, delay-aware, at-least-once queue of JSON-able dicts.

    ``put`` one item (due at ``at``; 0: now), ``put_many`` a batch due now (every item checked
    as ``put`` checks it before any is added), ``take`` up to ``n`` due items with their
    tickets, ``renew`` the hold on taken items (a long take keeps them from being served again
    meanwhile), ``ack`` or ``ack_settled`` them; ``next_due`` is when the earliest item that waits
    (a delayed one, or on SQLite a leased one) becomes takeable, None when none waits:
    :meth:`Pipeline.run <designpatterns_ref.notifications.Pipeline.run>` jumps a simulated clock
    there when a round moves nothing. Every queue of this family has all of these; ``renew`` is
    optional for a queue from elsewhere (:func:`check_queue` does not ask for it): the sender
    takes a queue without it to hold a taken item until it is acked, as a memory queue does.
    """

    def put(self, item: Item, *, lane: str = "normal", at: float = 0.0) -> None: ...

    def put_many(self, items: Sequence[Item], *, lane: str = "normal") -> None: ...

    def take(self, n: int, now: float) -> list[tuple[Hashable, Item]]: ...

    def renew(self, tickets: Sequence[Hashable], now: float) -> None: ...

    def ack(self, tickets: Sequence[Hashable]) -> None: ...

    def ack_settled(
        self,
        tickets: Sequence[Hashable],
        dedup: Deliverer,
        confirmed: Sequence[str],
        released: Sequence[str],
    ) -> None: ...

    def next_due(self) -> float | None: ...

    def __len__(self) -> int: ...


QUEUE_METHODS = ("put", "put_many", "take", "ack", "ack_settled", "next_due", "__len__")


def check_queue(where: str, name: str, queue: object) -> None:
    """Refuse anything without every method of the :class:`Queue` protocol."""
    if isinstance(queue, type):  # the class, not a queue: its methods want an instance
        raise NotificationError(f"{where}: {name}={shown(queue, 80)} is not a queue (a class)")
    missing = [m for m in QUEUE_METHODS if not callable(getattr(queue, m, None))]
    if missing:
        raise NotificationError(
            f"{where}: {name}={shown(queue, 80)} is not a queue (lacks {', '.join(missing)})"
        )


def check_put(where: str, item: object, lane: object, at: object) -> None:
    """Refuse a non-dict item, an unknown lane or a bad due time."""
    if not isinstance(item, dict):
        raise NotificationError(f"{where}: item={shown(item)} must be a dict")
    if lane not in LANES:
        raise NotificationError(f"{where}: lane={shown(lane)} must be one of {LANES}")
    if isinstance(at, bool) or at != 0.0:
        check_seconds(where, "at", at, high=1e11)


def check_many(where: str, items: object, lane: object) -> Sequence[Item]:
    """Refuse a batch that is not a list or tuple of dicts (each item as :func:`check_put`
    checks one), or an unknown lane: a refused batch adds nothing."""
    if not isinstance(items, list | tuple):
        raise NotificationError(f"{where}: items={shown(items, 80)} must be a list of dicts")
    if not all(map(isinstance, items, itertools.repeat(dict))):  # one C loop: the fast path
        i, item = next((i, it) for i, it in enumerate(items) if not isinstance(it, dict))
        raise NotificationError(f"{where}: item={shown(item, 80)} (items[{i}]) must be a dict")
    check_put(where, {}, lane, 0.0)
    return cast(Sequence[Item], items)


def encode(where: str, item: Item) -> str:
    """``item`` as JSON text for a durable queue; refuse what JSON cannot hold (a set, bytes,
    an object, a non-string key that is not a number, NaN or an infinity, a loop)."""
    try:
        return json.dumps(item, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise NotificationError(
            f"{where}: item={shown(item, 80)} cannot be stored as JSON ({exc})"
        ) from None


def check_take(where: str, n: object, now: object) -> None:
    """Refuse a bad batch size or time."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1_000_000:
        raise NotificationError(f"{where}: n={shown(n)} must be an int in [1, 1000000]")
    check_now(where, now)


def check_now(where: str, now: object) -> None:
    """Refuse a bad time: a number of seconds in [0, 1e11]."""
    if isinstance(now, bool) or now != 0.0:
        check_seconds(where, "now", now, high=1e11)


def check_path(where: str, path: object) -> str:
    """A database path: a non-empty string without NUL, valid UTF-8, at most 4096 chars."""
    if not isinstance(path, str) or not path.strip() or len(path) > 4096 or "\x00" in path:
        raise NotificationError(f"{where}: path={shown(path, 60)} must be a file path")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise NotificationError(f"{where}: path={shown(path)} is not valid UTF-8") from None
    return path


def check_dedup(where: str, dedup: object) -> None:
    """Refuse anything without ``settle(confirmed, released)``: not a dedup window."""
    if not callable(getattr(dedup, "settle", None)):
        raise NotificationError(
            f"{where}: dedup={shown(dedup)} must be a dedup window with settle(confirmed, released)"
        )


def settle_then_ack(
    where: str,
    check: Callable[[str, object], None],
    ack: Callable[[Sequence[Hashable]], None],
    tickets: Sequence[Hashable],
    dedup: Deliverer,
    confirmed: Sequence[str],
    released: Sequence[str],
) -> None:
    """A queue's ``ack_settled`` in two steps: ``dedup.settle(confirmed, released)``, then
    ``ack(tickets)``; the tickets (``check``) and the window are checked first, the ids by
    ``settle`` itself, so a refused call settles and acks nothing."""
    check(where, tickets)
    check_dedup(where, dedup)
    dedup.settle(confirmed, released)
    ack(tickets)


def check_tickets(where: str, tickets: object) -> None:
    """Refuse anything but a list or tuple of tickets."""
    if not isinstance(tickets, list | tuple):
        raise NotificationError(f"{where}: tickets={shown(tickets)} must be a list of tickets")
    for t in tickets:
        if isinstance(t, bool) or not isinstance(t, int | str | tuple):
            raise NotificationError(f"{where}: ticket={shown(t)} is not one this queue gave out")
        if isinstance(t, int) and not -(2**63) <= t < 2**63:  # no queue numbers that high
            raise NotificationError(f"{where}: ticket={shown(t)} is not one this queue gave out")
        if isinstance(t, tuple):
            try:
                hash(t)  # a tuple ticket holding a list could never be one handed out
            except TypeError:
                raise NotificationError(
                    f"{where}: ticket={shown(t, 80)} is not one this queue gave out"
                ) from None


class MemoryQueue:
    """Deques per lane and a heap of delayed items; taken items wait in ``in_flight``."""

    __slots__ = ("_delayed", "_ids", "_lanes", "in_flight")

    def __init__(self) -> None:
        self._lanes: dict[str, deque[tuple[int, Item]]] = {lane: deque() for lane in LANES}
        self._delayed: list[tuple[float, int, str, Item]] = []
        self._ids = itertools.count()
        self.in_flight: dict[Hashable, tuple[str, Item]] = {}

    def put(self, item: Item, *, lane: str = "normal", at: float = 0.0) -> None:
        """Add ``item`` to ``lane``, due at time ``at`` (0: now)."""
        check_put("MemoryQueue.put", item, lane, at)
        if at:
            heapq.heappush(self._delayed, (at, next(self._ids), lane, item))
        else:
            self._lanes[lane].append((next(self._ids), item))

    def put_many(self, items: Sequence[Item], *, lane: str = "normal") -> None:
        """Add several items due now (the fast path of the expand stage); every item is checked
        first, so a refused batch adds nothing."""
        items = check_many("MemoryQueue.put_many", items, lane)
        ids = self._ids
        self._lanes[lane].extend((next(ids), item) for item in items)

    def take(self, n: int, now: float) -> list[tuple[Hashable, Item]]:
        """Up to ``n`` due items, high lane first, each with its ticket."""
        check_take("MemoryQueue.take", n, now)
        delayed = self._delayed
        while delayed and delayed[0][0] <= now:
            _, i, lane, item = heapq.heappop(delayed)
            self._lanes[lane].append((i, item))
        out: list[tuple[Hashable, Item]] = []
        flight = self.in_flight
        for lane in LANES:
            dq = self._lanes[lane]
            while dq and len(out) < n:
                i, item = dq.popleft()
                flight[i] = (lane, item)
                out.append((i, item))
        return out

    def renew(self, tickets: Sequence[Hashable], now: float) -> None:
        """Nothing to do: a taken item stays taken until it is acked or :meth:`restore` puts
        it back (the arguments are still checked)."""
        check_tickets("MemoryQueue.renew", tickets)
        check_now("MemoryQueue.renew", now)

    def ack(self, tickets: Sequence[Hashable]) -> None:
        """Forget taken items for good."""
        check_tickets("MemoryQueue.ack", tickets)
        flight = self.in_flight
        for t in tickets:
            flight.pop(t, None)

    def ack_settled(
        self,
        tickets: Sequence[Hashable],
        dedup: Deliverer,
        confirmed: Sequence[str],
        released: Sequence[str],
    ) -> None:
        """``dedup.settle(confirmed, released)``, then :meth:`ack` ``tickets``: a take's end.

        Everything is checked first (the tickets here, the ids by ``settle``), so a refused
        call settles and acks nothing.
        """
        where = "MemoryQueue.ack_settled"
        settle_then_ack(where, check_tickets, self.ack, tickets, dedup, confirmed, released)

    def restore(self) -> int:
        """Put every taken, unacked item back at the front of its lane (a worker crashed)."""
        n = len(self.in_flight)
        for i, (lane, item) in sorted(self.in_flight.items(), key=_order, reverse=True):
            self._lanes[lane].appendleft((int(i), item))  # type: ignore[call-overload]
        self.in_flight.clear()
        return n

    def next_due(self) -> float | None:
        """When the earliest delayed item falls due (None: no delayed item)."""
        return self._delayed[0][0] if self._delayed else None

    def __len__(self) -> int:
        return sum(map(len, self._lanes.values())) + len(self._delayed) + len(self.in_flight)


def _order(pair: tuple[Any, tuple[str, Item]]) -> int:
    return int(pair[0])


class SQLiteQueue:
    """A durable queue in one SQLite table; a taken item is leased for ``lease`` seconds."""

    def __init__(self, path: str, *, name: str = "queue", lease: float = 30.0) -> None:
        check_path("SQLiteQueue", path)
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 60:
            raise NotificationError(f"SQLiteQueue: name={shown(name)} must be an identifier")
        if name.lower().startswith("sqlite_"):
            raise NotificationError(
                f"SQLiteQueue: name={shown(name)} must not begin with 'sqlite_' (SQLite keeps "
                "those names for itself)"
            )
        self.lease = check_seconds("SQLiteQueue", "lease", lease, high=86400.0)
        self.path, self.name = path, name
        self._table = f'"{name}"'  # quoted: an identifier may still be an SQL keyword (NULL)
        db = None
        try:  # the whole setup: a failure closes the connection and raises NotificationError
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (id INTEGER PRIMARY KEY, lane INTEGER, "
                "at REAL, leased REAL NOT NULL DEFAULT 0, item TEXT)"
            )
            db.execute(f'CREATE INDEX IF NOT EXISTS "{name}_due" ON {self._table} (lane, at)')
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            raise NotificationError(
                f"SQLiteQueue: cannot open path={shown(path)} with name={shown(name)}: {exc}"
            ) from None
        self._db = db
        #: The lease end this queue set on each row it took and has not acked: its fence, so
        #: a late renew leaves a row another taker has taken since as it is.
        self._held: dict[int, float] = {}

    def put(self, item: Item, *, lane: str = "normal", at: float = 0.0) -> None:
        """Add ``item`` (stored as JSON: what JSON cannot hold is refused) to ``lane``, due at
        ``at``."""
        check_put("SQLiteQueue.put", item, lane, at)
        text = encode("SQLiteQueue.put", item)
        try:
            self._db.execute(
                f"INSERT INTO {self._table} (lane, at, item) VALUES (?, ?, ?)",
                (LANES.index(lane), at, text),
            )
        except sqlite3.Error as exc:  # locked by another writer, disk full, closed
            raise QueueUnavailable(f"SQLiteQueue.put: {shown(self.path)}: {exc}") from exc

    def put_many(self, items: Sequence[Item], *, lane: str = "normal") -> None:
        """Add several items due now in one transaction; every item is checked and encoded
        first, so a refused batch adds nothing."""
        where = "SQLiteQueue.put_many"
        checked = check_many(where, items, lane)
        rows = [(LANES.index(lane), 0.0, encode(where, item)) for item in checked]
        try:
            with self._db:
                self._db.execute("BEGIN")
                insert = f"INSERT INTO {self._table} (lane, at, item) VALUES (?, ?, ?)"
                self._db.executemany(insert, rows)
        except sqlite3.Error as exc:  # the transaction rolled back: nothing was added
            raise QueueUnavailable(f"{where}: {shown(self.path)}: {exc}") from exc

    def take(self, n: int, now: float) -> list[tuple[Hashable, Item]]:
        """Lease up to ``n`` due items (high lane first) in one transaction; a store that
        cannot run it raises :class:`~.base.QueueUnavailable`, with nothing leased."""
        check_take("SQLiteQueue.take", n, now)
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute(
                    f"SELECT id, item FROM {self._table} WHERE at <= ? AND leased <= ? "
                    "ORDER BY lane, id LIMIT ?",
                    (now, now, n),
                ).fetchall()
                db.executemany(
                    f"UPDATE {self._table} SET leased = ? WHERE id = ?",
                    [(now + self.lease, r[0]) for r in rows],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:  # locked by another writer, disk full, closed
            raise QueueUnavailable(f"SQLiteQueue.take: {shown(self.path)}: {exc}") from exc
        self._held.update((r[0], now + self.lease) for r in rows)
        return [(r[0], json.loads(r[1])) for r in rows]

    @staticmethod
    def _tickets(where: str, tickets: object) -> None:
        check_tickets(where, tickets)
        for t in cast(Sequence[object], tickets):
            if not isinstance(t, int):  # this queue hands out row ids, never a str or tuple
                raise NotificationError(
                    f"{where}: ticket={shown(t)} is not one this queue gave out"
                )

    def renew(self, tickets: Sequence[Hashable], now: float) -> None:
        """Lease the taken items again, ``lease`` seconds from ``now``, in one transaction, so
        a take that lasts longer than the lease is not served to another taker meanwhile; a
        store that cannot run it raises :class:`~.base.QueueUnavailable`, with nothing renewed.

        Only a row still under the lease this queue set (taken by it, and not taken by another
        taker since its lease ran out: the lease end is the fence) is renewed; an unknown
        ticket, an acked row, or one another taker has taken over is left as it is."""
        where = "SQLiteQueue.renew"
        self._tickets(where, tickets)
        check_now(where, now)
        held = {t: self._held[t] for t in cast(Sequence[int], tickets) if t in self._held}
        renewed: dict[int, float] = {}  # never shortened: a lease ends at the later of the two
        update = f"UPDATE {self._table} SET leased = ? WHERE id = ? AND leased = ?"
        try:
            with self._db:
                self._db.execute("BEGIN")
                for t, fence in held.items():
                    end = max(fence, now + self.lease)
                    if self._db.execute(update, (end, t, fence)).rowcount:
                        renewed[t] = end
        except sqlite3.Error as exc:  # the transaction rolled back: nothing was renewed
            raise QueueUnavailable(f"{where}: {shown(self.path)}: {exc}") from exc
        for t in held:  # a row lost to another taker, or acked, is no longer this queue's
            if t in renewed:
                self._held[t] = renewed[t]
            else:
                del self._held[t]

    def ack(self, tickets: Sequence[Hashable]) -> None:
        """Delete taken items for good, in one transaction (an unknown ticket deletes nothing);
        a store that cannot run it raises :class:`~.base.QueueUnavailable`, with nothing acked."""
        self._tickets("SQLiteQueue.ack", tickets)
        try:
            with self._db:
                self._db.execute("BEGIN")
                delete = f"DELETE FROM {self._table} WHERE id = ?"
                self._db.executemany(delete, [(t,) for t in tickets])
        except sqlite3.Error as exc:  # the transaction rolled back: nothing was acked
            raise QueueUnavailable(f"SQLiteQueue.ack: {shown(self.path)}: {exc}") from exc
        for t in tickets:
            self._held.pop(cast(int, t), None)

    def ack_settled(
        self,
        tickets: Sequence[Hashable],
        dedup: Deliverer,
        confirmed: Sequence[str],
        released: Sequence[str],
    ) -> None:
        """``dedup.settle(confirmed, released)``, then :meth:`ack` ``tickets``: a take's end.

        Everything is checked first (the tickets here, the ids by ``settle``), so a refused
        call settles and acks nothing.
        """
        where = "SQLiteQueue.ack_settled"
        settle_then_ack(where, self._tickets, self.ack, tickets, dedup, confirmed, released)

    def next_due(self) -> float | None:
        """The earliest time a row becomes takeable: its due time ``at`` or, while it is leased
        (taken, not acked), the end of its lease, whichever is later (None: the table is empty).
        A row takeable already answers a time at or before now. A store that cannot answer
        (closed) raises :class:`~.base.QueueUnavailable`, as ``len`` does."""
        row = self._read("SQLiteQueue.next_due", "SELECT min(max(at, leased)) FROM {}")
        return None if row[0] is None else float(row[0])

    def __len__(self) -> int:
        return int(self._read("SQLiteQueue.__len__", "SELECT count(*) FROM {}")[0])

    def _read(self, where: str, sql: str) -> Any:
        """The one row of ``sql`` on this queue's table; QueueUnavailable if the store fails."""
        try:
            return self._db.execute(sql.format(self._table)).fetchone()
        except sqlite3.Error as exc:  # closed, or the file unreadable
            raise QueueUnavailable(f"{where}: {shown(self.path)}: {exc}") from exc

    def close(self) -> None:
        """Close the connection (the rows stay on disk)."""
        self._db.close()
