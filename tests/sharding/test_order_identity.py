"""An order is identified by (customer, id): the same id under two customers is two orders.

Before the fix the shards' ``orders`` table was keyed by ``id`` alone while rows are placed by
``customer``, so one id could live on two shards; a merge then upserted both into one target
``ON CONFLICT (id)`` and silently kept one, and ``verify()`` (expected rows in a dict keyed by
id) lost the same row and said ok. These tests merge, split and regroup shards holding ids
shared by customers on different shards (and on the same one), on SQLite and a real PostgreSQL,
with writes between the steps, crashes between any two steps, and a check of the verification
itself against a target that lost a row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.sharding import ShardingError
from designpatterns_ref.sharding.keyspace import KeyRange
from designpatterns_ref.sharding.resharding import Resharding
from designpatterns_ref.sharding.router import Router
from designpatterns_ref.sharding.sql import SQLiteShards
from tests.sharding.shards import drop_all, open_shards

# customer-0 and customer-1 hash below 0x80..., customer-2 above: two shards of "-80", "80-"
A, B, C = "customer-0", "customer-2", "customer-1"
PLANS = {
    "merge": (["-80", "80-"], ["-"]),
    "split": (["-"], ["-80", "80-"]),
    "regroup": (["-80", "80-"], ["-40", "40-"]),  # "40-" takes rows from both sources
}
Acked = dict[tuple[int, str], int]


def write(router: Router, acked: Acked, id: int, customer: str, amount: int | None) -> None:
    """Insert (or delete, for None) through the router and replay it into the reference."""
    if amount is None:
        router.delete(id, customer)
        acked.pop((id, customer), None)
    else:
        router.insert(id, customer, amount)
        acked[(id, customer)] = amount


def reference(acked: Acked) -> list[tuple[int, str, int]]:
    """The unsharded copy: every (id, customer)'s last write, as a sorted list of rows."""
    return sorted((i, c, a) for (i, c), a in acked.items())


def check_reads(router: Router, acked: Acked) -> None:
    want = reference(acked)
    assert router.scan()[0] == want
    for customer in (A, B, C):
        assert router.by_customer(customer)[0] == [r for r in want if r[1] == customer]
    for id in (5, 6):
        assert router.by_id(id)[0] == [r for r in want if r[0] == id]
    for shard in router.shards:  # every row on the shard its keyspace id names
        r = KeyRange.parse(shard)
        ksids = router.db.query(shard, "SELECT ksid FROM orders")
        assert all(int(k, 16) in r for (k,) in ksids)


def test_the_same_id_under_two_customers_is_two_orders(tmp_path: Path) -> None:
    router = Router(SQLiteShards(tmp_path), ["-80", "80-"])
    acked: Acked = {}
    write(router, acked, 5, A, 100)
    write(router, acked, 5, B, 200)  # another shard
    write(router, acked, 5, C, 300)  # the same shard as A: before the fix it replaced A's
    write(router, acked, 5, A, 101)  # A's order 5 again: replaced, not added
    check_reads(router, acked)
    write(router, acked, 5, C, None)  # deletes C's order 5 only
    check_reads(router, acked)
    assert router.by_id(5)[0] == [(5, A, 101), (5, B, 200)]


@pytest.mark.parametrize("plan", sorted(PLANS))
def test_a_resharding_keeps_every_order_of_a_shared_id(engine: str, place: str, plan: str) -> None:
    """Ids shared by customers on two source shards, merged into
    one target (or split, or regrouped), with writes during the copy and after the cut-over,
    and a rollback after the cut-over."""
    source, target = PLANS[plan]
    router = Router(open_shards(engine, place), source)
    acked: Acked = {}
    for id in range(30):
        write(router, acked, id, A, id)
        if id % 2:
            write(router, acked, id, B, 1000 + id)
        if id % 3 == 0:
            write(router, acked, id, C, 2000 + id)
    job = Resharding(router, source, target, chunk=7)
    job.start()
    job.copy_chunk()
    write(router, acked, 5, C, 55)  # during the copy: a third order 5
    write(router, acked, 3, A, None)  # A's order 3 goes, B's and C's stay
    write(router, acked, 40, B, 40)  # past the copy cursor
    write(router, acked, 40, A, 41)
    check = job.run()
    assert check.ok, check
    assert router.shards == tuple(target)
    check_reads(router, acked)
    write(router, acked, 6, B, 66)  # on a target after the cut-over
    write(router, acked, 9, B, None)
    assert job.verify().ok
    job.rollback()  # the targets' writes go back to the sources
    assert router.shards == tuple(source)
    check_reads(router, acked)
    router.db.close()


def test_verify_counts_every_row_of_a_shared_id(engine: str, place: str) -> None:
    """The verification compares whole rows as multisets, computed from the sources without
    the target's key: a target that lost one of two orders numbered 5 fails it."""
    source, target = PLANS["merge"]
    router = Router(open_shards(engine, place), source)
    acked: Acked = {}
    for customer, amount in ((A, 100), (B, 200)):
        write(router, acked, 5, customer, amount)
    write(router, acked, 6, A, 6)
    job = Resharding(router, source, target)
    job.start()
    while not job.copy_chunk():
        pass
    job.catch_up()
    assert job.verify().ok
    with router.db.transaction("-") as run:  # one order 5 goes missing on the target
        run("DELETE FROM orders WHERE id = 5 AND customer = ?", (B,))
    check = job.verify()
    assert not check.ok and check.counts["-"] == (3, 2), check
    with pytest.raises(ShardingError, match="verification failed"):
        job.cut_over()
    assert router.shards == tuple(source)  # nothing switched, the sources serve again
    check_reads(router, acked)
    router.db.close()


# --- a kill between any two steps of a merge of shared ids ------------------------------------


class Killed(BaseException):
    """The resharding process dies at a crash point: nothing after it runs."""


def _story(router: Router, on_point: Callable[[str], object], acked: Acked) -> None:
    """Merge with shared ids written during the copy and after the cut-over, then roll back."""
    source, target = PLANS["merge"]
    job = Resharding(router, source, target, chunk=4, on_point=on_point)
    job.start()
    write(router, acked, 5, B, 55)
    while not job.copy_chunk():
        job.catch_up()
    job.catch_up()
    assert job.cut_over().ok
    write(router, acked, 6, B, 66)  # on the merged shard
    write(router, acked, 1, A, None)
    job.rollback()


def _seed(router: Router) -> Acked:
    acked: Acked = {}
    for id in range(8):
        write(router, acked, id, A, id)
        write(router, acked, id, B, 100 + id)
    return acked


@pytest.mark.parametrize("recover", ["resume", "rollback"])
def test_a_merge_killed_between_any_two_steps_keeps_every_order(
    engine: str, place: str, recover: str
) -> None:
    """Die after every durable step in turn (on PostgreSQL at every third, to keep it short);
    a new process resumes or rolls back; every acknowledged order is there, shared ids too."""
    source, target = PLANS["merge"]
    points: list[str] = []
    router = Router(open_shards(engine, place), source)
    _story(router, points.append, _seed(router))
    assert {"copy:-80>-", "copy:80->-", "fence:80-", "switched", "replay:->-80"} <= set(points)
    drop_all(router.db)
    every = 1 if engine == "sqlite" else 3
    for n in range(1 + (recover == "rollback"), len(points) + 1, every):
        calls = iter(range(1, 10**6))

        def die(name: str, n: int = n, calls: Iterator[int] = calls) -> None:
            if next(calls) == n:
                raise Killed(name)

        router = Router(open_shards(engine, place), source)
        acked = _seed(router)
        with pytest.raises(Killed):
            _story(router, die, acked)
        router.db.close()
        router = Router(open_shards(engine, place), source)  # a new process, the old list
        job = Resharding(router, source, target, chunk=4)
        if recover == "resume" and job.phase() != "rolled_back":
            assert job.resume().ok, points[n - 1]
            assert router.shards == tuple(target)
        else:
            job.rollback()
            assert router.shards == tuple(source)
        write(router, acked, 7, A, 77)
        check_reads(router, acked)
        drop_all(router.db)


# --- generated: writes sharing ids between customers, between the steps of any plan ----------

CUSTOMERS = st.sampled_from([A, B, C])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(4, 7), CUSTOMERS, st.none() | st.integers(0, 9)),
        st.tuples(st.just("step"), st.sampled_from(["copy", "catch_up", "cut_over", "rollback"])),
    ),
    max_size=20,
)


@settings(max_examples=30, deadline=None)
@given(plan=st.sampled_from(sorted(PLANS)), seed=st.integers(0, 3), ops=OPS)
@example(plan="merge", seed=0, ops=[("write", 5, A, 100), ("write", 5, B, 200)])
@example(
    plan="merge",
    seed=1,
    ops=[("step", "copy"), ("write", 5, B, 1), ("step", "cut_over"), ("write", 5, A, None)],
)
def test_model_every_acknowledged_order_survives_any_plan(
    tmp_path_factory: pytest.TempPathFactory, plan: str, seed: int, ops: list[tuple[Any, ...]]
) -> None:
    """Play generated writes (ids 4..7 under three customers, two on one shard) between the
    steps of a resharding; after each step and at the end, the router's reads equal the
    acknowledged writes replayed into a dict keyed by (id, customer)."""
    source, target = PLANS[plan]
    router = Router(SQLiteShards(tmp_path_factory.mktemp("model")), source)
    acked: Acked = {}
    for id in range(seed * 3):
        write(router, acked, id + 4, (A, B, C)[id % 3], id)
    job = Resharding(router, source, target, chunk=2)
    job.start()
    for op in ops:
        if op[0] == "write":
            write(router, acked, op[1], op[2], op[3])
            continue
        phase = job.phase()
        if op[1] in ("copy", "catch_up") and phase in ("copying", "copied"):
            job.copy_chunk() if op[1] == "copy" else job.catch_up()
        elif op[1] == "cut_over" and phase in ("copying", "copied"):
            assert job.run().ok
        elif op[1] == "rollback" and phase == "cut_over":
            job.rollback()
            job = Resharding(router, source, target, chunk=2)
            job.start()
        check_reads(router, acked)
    if job.phase() != "cut_over":
        assert job.run().ok
    check_reads(router, acked)
    router.db.close()


def test_a_shard_keyed_by_id_alone_is_refused_by_name(engine: str, place: str) -> None:
    """A shard made before orders were keyed by (id, customer) cannot keep two customers'
    orders of one number apart: opening it is refused with the family's error, naming it."""
    dbs = open_shards(engine, place)
    dbs.create("-")
    with dbs.transaction("-") as run:
        run("DROP TABLE orders")
        run(
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, "
            "ksid TEXT NOT NULL, amount BIGINT NOT NULL)"
        )
    with pytest.raises(ShardingError, match="'-' was made by an older version"):
        Router(dbs, ["-"])
    assert dbs.query("-", "SELECT count(*) FROM orders") == [(0,)]
    dbs.close()
