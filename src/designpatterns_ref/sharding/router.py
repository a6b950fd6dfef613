"""The Vitess router in miniature: send a query to one shard by its key, or scatter it.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

The application talks to the router (Vitess's vtgate) as if to one database. The router knows the
keyspace's serving shards (a :class:`~designpatterns_ref.sharding.keyspace.ShardMap`) and the
primary vindex of the table (``orders`` is sharded by ``customer``): a query that names the
customer goes to the one shard owning that customer's keyspace id; one that does not (a lookup by
order id, a total) is *scattered* to every shard and the answers merged, which costs a round trip
to each shard. Every read returns a :class:`Route` saying which it did, so a student sees the price
of a query that does not carry the sharding key.

An order is identified by ``(customer, id)``, not by ``id`` alone: the same number under two
customers is two orders (on one shard or on two), and :meth:`Router.insert` of ``(id,
customer)`` replaces only that customer's order. Each shard's key holds the sharding key, as
sharded databases require of a unique key (SingleStore refuses a unique key that does not
contain the shard key; Oracle Sharding refuses one without the sharding columns): a shard can
only enforce uniqueness among its own rows, and only a key that fixes the shard makes that
global. So an order lives on exactly one shard, and a merge of two shards never meets two rows
with one key. Giving an order to another customer moves it to that customer's shard: delete
it, then insert it, two single-shard writes. Vitess does the same: an update of a vindex column
must not move a row to another shard, and its documentation's way out is a delete followed by
an insert (vitessio/vitess#3596, moving the row in one update, is still open).

Writes go to one shard, in a transaction that also appends the row's new image to that shard's
change log (see :mod:`~designpatterns_ref.sharding.sql`), which online resharding replays. A gate
lets resharding pause the router for the moment of cut-over: writes and reads hold it shared, the
cut-over exclusively, so they wait (none fails) and no write is lost or lands on a shard that has
just stopped serving. A fenced shard (a row in its ``denied_writes`` table) serves neither: a
write checks the fence in its own transaction, a read in the same statement as its rows (one
round trip), and both are refused with :class:`~designpatterns_ref.sharding.ShardingError`
naming the shard. A cut-over's source is fenced for good (the error says where its rows went):
a router opened by another process with the old shard list can neither write to a shard that
no longer serves nor read rows from it that later writes to the new shards have made stale. A
resharding's target is fenced from its start to the cut-over (``from:<sources>``; the error says
the resharding has not cut over yet): a router opened with the new shard list too early reads
no partial copy and takes no write a rollback would drop.

Complexity: O(log shards) routing; a scatter costs one query per shard.

>>> import tempfile
>>> from designpatterns_ref.sharding.sql import SQLiteShards
>>> router = Router(SQLiteShards(tempfile.mkdtemp()), ["-80", "80-"])
>>> router.insert(1, "alice", 30).kind
'single'
>>> rows, route = router.by_id(1)
>>> rows, route.kind, route.shards
([(1, 'alice', 30)], 'scatter', ('-80', '80-'))
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding.base import ShardingError
from designpatterns_ref.sharding.keyspace import HashVindex, ShardMap, Vindex
from designpatterns_ref.sharding.sql import ShardDatabases

__all__ = ["NOT_CUT_OVER", "Route", "Router", "WriteGate", "check_row"]

_MAX = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class Route:
    """How a query was routed: to one shard (``"single"``) or to all (``"scatter"``)."""

    kind: str
    shards: tuple[str, ...]


def check_row(id: object, customer: object, amount: object = 0) -> tuple[int, str, int]:
    """Validate an order row: int id and amount in the BIGINT range, a non-empty str customer."""
    for name, value in (("id", id), ("amount", amount)):
        if not isinstance(value, int) or isinstance(value, bool) or not -_MAX <= value <= _MAX:
            raise ShardingError(f"{name}={shown(value)} must be an int within +-(2**63 - 1)")
    if not isinstance(customer, str) or not customer or len(customer) > 200:
        raise ShardingError(
            f"customer={shown(customer)} must be a non-empty str of at most 200 chars"
        )
    try:
        customer.encode()
    except UnicodeEncodeError:
        raise ShardingError(f"customer={shown(customer)} is not encodable as UTF-8") from None
    if "\x00" in customer:
        raise ShardingError(f"customer={shown(customer)} must not contain NUL")
    return id, customer, amount  # type: ignore[return-value]


class WriteGate:
    """Writers (and the router's reads) share the gate; :meth:`paused` waits for them to finish
    and holds new ones back."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._writers = 0
        self._paused = False

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            while self._paused:
                self._cond.wait()
            self._writers += 1
        try:
            yield
        finally:
            with self._cond:
                self._writers -= 1
                self._cond.notify_all()

    @contextmanager
    def paused(self) -> Iterator[None]:
        with self._cond:
            while self._paused:
                self._cond.wait()
            self._paused = True
            while self._writers:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._paused = False
                self._cond.notify_all()


class Router:
    """``orders`` sharded by ``customer`` over ``shards`` (range names), through a vindex."""

    def __init__(
        self, databases: ShardDatabases, shards: Iterable[str], *, vindex: Vindex | None = None
    ) -> None:
        if not isinstance(databases, ShardDatabases):
            raise ShardingError(f"databases={shown(databases)} must be a ShardDatabases")
        if vindex is not None and not isinstance(vindex, Vindex):
            raise ShardingError(f"vindex={shown(vindex)} must be a Vindex")
        self.map = ShardMap(shards)
        self.db = databases
        self.vindex = vindex or HashVindex()
        self.gate = WriteGate()
        for shard in self.map.names:
            self.db.create(shard)

    def __repr__(self) -> str:
        return f"Router({self.map.names!r})"

    @property
    def shards(self) -> tuple[str, ...]:
        return tuple(self.map.names)

    def ksid(self, customer: str) -> int:
        """The keyspace id of ``customer``."""
        return self.vindex.keyspace_id(customer)

    def shard_of(self, customer: str) -> str:
        return self.map.shard_for_id(self.ksid(customer))

    # writes: one shard, row and change-log entry in one transaction
    def _write(self, op: str, id: int, customer: str, amount: int) -> Route:
        ksid = self.ksid(customer)
        with self.gate.write():
            shard = self.map.shard_for_id(ksid)
            with self.db.transaction(shard, serial=True) as run:
                fenced = run("SELECT moved_to FROM denied_writes")
                if fenced:
                    raise _fenced(shard, "writes", fenced[0][0])
                apply_change(run, op, id, customer, f"{ksid:016x}", amount)
                run(
                    "INSERT INTO changes (op, id, customer, ksid, amount) VALUES (?, ?, ?, ?, ?)",
                    (op, id, customer, f"{ksid:016x}", amount),
                )
        return Route("single", (shard,))

    def insert(self, id: int, customer: str, amount: int) -> Route:
        """Insert or replace order ``id`` of ``customer`` (the order ``(customer, id)``; another
        customer's order ``id`` is another order and stays as it is)."""
        return self._write("upsert", *check_row(id, customer, amount))

    update = insert

    def delete(self, id: int, customer: str) -> Route:
        """Delete order ``id`` of ``customer`` (its shard; other customers' ``id`` stay)."""
        row = check_row(id, customer)
        return self._write("delete", row[0], row[1], 0)

    # reads: the rows and the shard's fence in one statement, under the gate
    def _read(self, shard: str, where: str, params: tuple[Any, ...]) -> list[Any]:
        """``orders`` rows of ``shard`` matching ``where``, refused if the shard is fenced.

        One statement reads the fence rows and the order rows together, so a read costs no
        extra round trip and sees the fence and the rows in one snapshot: no write can land on
        a new shard between the check and the read.
        """
        rows = self.db.query(shard, _FENCED_READ + where, params)
        for row in rows:
            if row[0] is None:  # no order has a NULL id: this is the fence's row
                raise _fenced(shard, "reads", row[1])
        return rows

    def by_customer(self, customer: str) -> tuple[list[tuple[int, str, int]], Route]:
        """Every order of ``customer``: one shard."""
        check_row(0, customer)
        with self.gate.write():  # a read waits out a cut-over instead of meeting its fence
            shard = self.shard_of(customer)
            rows = self._read(shard, " WHERE customer = ?", (customer,))
        return sorted(rows), Route("single", (shard,))

    def by_id(self, id: int) -> tuple[list[tuple[int, str, int]], Route]:
        """Every order numbered ``id`` (one per customer that has one): the id is not the
        sharding key, so every shard is asked."""
        check_row(id, "x")
        return self._scatter(" WHERE id = ?", (id,))

    def scan(self) -> tuple[list[tuple[int, str, int]], Route]:
        """Every order, from every shard, merged by id."""
        return self._scatter("", ())

    def _scatter(self, where: str, params: tuple[Any, ...]) -> tuple[list[Any], Route]:
        with self.gate.write():
            shards = tuple(self.map.names)
            rows = [row for shard in shards for row in self._read(shard, where, params)]
        return sorted(rows), Route("scatter", shards)


# the fence's rows (a NULL id, where the rows moved in the customer's place), then the orders
_FENCED_READ = (
    "SELECT NULL, moved_to, NULL FROM denied_writes "
    "UNION ALL SELECT id, customer, amount FROM orders"
)


#: A target's fence from a resharding's start to its cut-over: ``"from:" + source shards``.
NOT_CUT_OVER = "from:"


def _fenced(shard: str, what: str, moved_to: str) -> ShardingError:
    if moved_to.startswith(NOT_CUT_OVER):
        sources = moved_to.removeprefix(NOT_CUT_OVER)
        return ShardingError(
            f"shard {shard!r} takes no {what} yet: a resharding is moving rows onto it from "
            f"{sources!r} and has not cut over yet; use {sources!r} until the cut-over (resume "
            "that resharding to finish it, or roll it back)"
        )
    return ShardingError(
        f"shard {shard!r} no longer takes {what}: a resharding moved its rows to {moved_to!r}; "
        "resume or roll back that resharding (either switches the router to the shards that "
        "serve)"
    )


UPSERT = (
    "INSERT INTO orders (id, customer, ksid, amount) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (id, customer) DO UPDATE SET ksid = excluded.ksid, amount = excluded.amount"
)


def apply_change(run: Any, op: str, id: int, customer: str, ksid: str, amount: int) -> None:
    """Apply one row image to a shard: an upsert or a delete of order ``(id, customer)`` (both
    idempotent)."""
    if op == "delete":
        run("DELETE FROM orders WHERE id = ? AND customer = ?", (id, customer))
    else:
        run(UPSERT, (id, customer, ksid, amount))
