"""Shard names come back: split, merge back, split again (and old job objects run again).

Every resharding is checked against an oracle, a plain dict of the orders that should exist
(every write the router acknowledged, replayed). A retired shard's old rows, change log and
progress rows must never be taken for a new job's; a job whose shards a later resharding moved
on is refused before it writes anything; two jobs on one source are refused at the start.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.sharding import ShardingError
from designpatterns_ref.sharding.keyspace import KeyRange
from designpatterns_ref.sharding.resharding import Resharding
from designpatterns_ref.sharding.router import Router
from designpatterns_ref.sharding.sql import ShardDatabases, SQLiteShards
from tests.sharding.shards import SHARDS, open_shards

Orders = dict[tuple[int, str], int]


def customer(i: int) -> str:
    return f"c{i % 11}"


def write(router: Router, orders: Orders, id: int, amount: int | None) -> None:
    """Insert (or delete, for None) order ``id`` and replay it into the oracle."""
    key = (id, customer(id))
    if amount is None:
        router.delete(*key)
        orders.pop(key, None)
    else:
        router.insert(*key, amount)
        orders[key] = amount


def check(router: Router, orders: Orders, where: Any = None) -> None:
    """The router serves exactly the oracle, each row on the shard its keyspace id names."""
    assert router.scan()[0] == sorted((i, c, a) for (i, c), a in orders.items()), where
    for shard in router.shards:
        r = KeyRange.parse(shard)
        ksids = router.db.query(shard, "SELECT ksid FROM orders")
        assert all(int(k, 16) in r for (k,) in ksids), (where, shard)


def snapshot(db: ShardDatabases) -> dict[str, Any]:
    """Everything a refused call must leave as it was, on every shard that exists."""
    tables = ("orders", "changes", "denied_writes", "resharding", "outgoing")
    return {
        shard: [
            sorted(db.query(shard, f"SELECT * FROM {t}")) for t in tables if db.has_table(shard, t)
        ]
        for shard in SHARDS
        if db.exists(shard)
    }


def refused(router: Router, call: Any, orders: Orders, match: str = "") -> None:
    """``call`` raises ShardingError and changes nothing (the map, the shards, the rows)."""
    before, shards = snapshot(router.db), router.shards
    with pytest.raises(ShardingError, match=match):
        call()
    assert (router.shards, snapshot(router.db)) == (shards, before)
    check(router, orders)


def test_split_merge_split_again_with_writes_and_deletes(engine: str, place: str) -> None:
    """The re-split takes no stale shard: orders written and deleted since the merge stay so,
    and the merged shard is fenced (no router on the old list takes a write nobody reads)."""
    router = Router(open_shards(engine, place), ["-"])
    orders: Orders = {}
    for i in range(30):
        write(router, orders, i, i)
    assert Resharding(router, ["-"], ["-80", "80-"]).run().ok
    for i in range(30, 40):
        write(router, orders, i, i)
    write(router, orders, 3, None)
    write(router, orders, 5, 500)  # an update after the split
    assert Resharding(router, ["-80", "80-"], ["-"]).run().ok  # into the retired name '-'
    check(router, orders, "merge")
    assert router.db.query("-", "SELECT count(*) FROM changes") == [(0,)]  # made again, empty
    for i in range(40, 50):
        write(router, orders, i, i)
    for i in range(0, 10, 2):
        write(router, orders, i, None)
    write(router, orders, 7, 700)
    job = Resharding(router, ["-"], ["-80", "80-"])
    assert job.phase() == "new"
    assert job.run().ok
    check(router, orders, "split again")
    assert router.db.query("-", "SELECT moved_to FROM denied_writes") == [("-80,80-",)]
    with pytest.raises(ShardingError, match="no longer takes writes"):
        Router(router.db, ["-"]).insert(77, customer(77), 1)
    # and the same in a part of the keyspace: -80 split, merged back, split again
    for plan in ((["-80"], ["-40", "40-80"]), (["-40", "40-80"], ["-80"])) * 2:
        assert Resharding(router, *plan).run().ok
        write(router, orders, 100 + len(orders), 1)
        write(router, orders, 11, None)
        check(router, orders, plan)
    router.db.close()


def test_a_merge_into_a_retired_name_rolled_back_brings_nothing_back(
    engine: str, place: str
) -> None:
    router = Router(open_shards(engine, place), ["-"])
    orders: Orders = {}
    for i in range(20):
        write(router, orders, i, i)
    assert Resharding(router, ["-"], ["-80", "80-"]).run().ok
    write(router, orders, 3, None)
    write(router, orders, 4, 400)
    merge = Resharding(router, ["-80", "80-"], ["-"])
    assert merge.run().ok
    write(router, orders, 6, None)
    write(router, orders, 50, 5)
    merge.rollback()
    assert router.shards == ("-80", "80-")
    check(router, orders, "rolled back")
    assert not router.db.exists("-")
    router.db.close()


def test_a_stale_job_is_refused_before_it_writes(engine: str, place: str) -> None:
    """A finished split's job object, run or rolled back after one of its targets was split
    further (by this router, or by a new process's router on the old list), is refused and
    changes nothing."""
    db = open_shards(engine, place)
    router = Router(db, ["-"])
    orders: Orders = {}
    for i in range(20):
        write(router, orders, i, i)
    first = Resharding(router, ["-"], ["-80", "80-"])
    assert first.run().ok
    assert Resharding(router, ["-80"], ["-40", "40-80"]).run().ok
    write(router, orders, 21, 21)
    for how in (first.run, first.rollback):
        refused(router, how, orders, "refused, nothing was changed")
    old = Router(db, ["-"])  # a process configured with the list before both
    for how in ("run", "rollback"):
        job = Resharding(old, ["-"], ["-80", "80-"])
        refused(router, getattr(job, how), orders, "moved on")
    assert old.shards == ("-",)
    db.close()


def test_two_jobs_on_one_source(engine: str, place: str) -> None:
    db = open_shards(engine, place)
    router = Router(db, ["-80", "80-"])
    orders: Orders = {}
    for i in range(20):
        write(router, orders, i, i)
    a = Resharding(router, ["-80"], ["-40", "40-80"])
    b = Resharding(router, ["-80"], ["-20", "20-80"])
    a.start()
    refused(router, b.start, orders, "source of another resharding")
    assert a.run().ok
    refused(router, b.run, orders, "serves")  # the router no longer serves -80
    check(router, orders)
    db.close()


class Killed(BaseException):
    """The resharding process dies at a crash point."""


def _die_at(point: str) -> Any:
    def die(name: str) -> None:
        if name == point:
            raise Killed(name)

    return die


def test_a_decided_cut_over_that_fails_verification_never_switches(engine: str, place: str) -> None:
    """Finishing a cut-over a dead process decided verifies first: a target that lost a row
    is refused with ShardingError, and the router keeps serving what it served."""
    db = open_shards(engine, place)
    router = Router(db, ["-"])
    orders: Orders = {}
    for i in range(30):
        write(router, orders, i, i)
    job = Resharding(router, ["-"], ["-80", "80-"], on_point=_die_at("cut_over:-80"))
    with pytest.raises(Killed):
        job.run()
    with db.transaction("80-") as run:  # a row lost on a target
        run("DELETE FROM orders WHERE id = (SELECT min(id) FROM orders)")
    router = Router(open_shards(engine, place), ["-"])
    job = Resharding(router, ["-"], ["-80", "80-"])
    assert job.phase() == "cut_over"
    fences = {t: router.db.query(t, "SELECT moved_to FROM denied_writes") for t in job.target}
    with pytest.raises(ShardingError, match="verification failed, nothing switched"):
        job.resume()
    assert router.shards == ("-",)
    assert {t: router.db.query(t, "SELECT moved_to FROM denied_writes") for t in job.target} == (
        fences
    )
    job.rollback()  # the rollback replays nothing lost: the source still has every order
    check(router, orders)
    db.close()
    router.db.close()


# --- a model: random splits, merges, rollbacks and stale jobs against the oracle -------------

_SPLITS = {"-": ["-80", "80-"], "-80": ["-40", "40-80"], "80-": ["80-c0", "c0-"]}


_QUARTERS = ["-40", "40-80", "80-c0", "c0-"]


def _plans(shards: tuple[str, ...]) -> list[tuple[list[str], list[str]]]:
    """Every split of a serving shard and every merge of two serving halves of a parent; and
    ``-`` into quarters and back (so a name comes back after another way of splitting)."""
    plans = [([s], halves) for s, halves in _SPLITS.items() if s in shards]
    plans += [(halves, [s]) for s, halves in _SPLITS.items() if set(halves) <= set(shards)]
    if shards == ("-",):
        plans.append((["-"], _QUARTERS))
    if shards == tuple(_QUARTERS):
        plans.append((_QUARTERS, ["-"]))
    return plans


_KINDS = ["write", "write", "reshard", "reshard", "rollback", "stale", "stale", "old_router"]
# a step: (kind, a, b): the order written and its amount (a negative one deletes), which plan
# or job, run or rollback
_STEP = st.tuples(st.sampled_from(_KINDS), st.integers(0, 40), st.integers(-3, 9))
# split, merge back, split again (a write and a delete in between); and an old job run again
_RESPLIT = [("reshard", 0, 0), ("write", 3, -1), ("reshard", 2, 0), ("write", 5, 7),
            ("write", 20, 1), ("reshard", 0, 0)]  # fmt: skip
_STALE = [("reshard", 0, 0), ("reshard", 0, 0), ("stale", 0, 1), ("old_router", 0, 9)]
# halves, back, quarters, back, halves again: the halves' job lost its target '-' meanwhile
_OTHER_WAY = [("reshard", 0, 0), ("reshard", 2, 0), ("reshard", 1, 0), ("write", 2, -1),
              ("reshard", 2, 0), ("reshard", 0, 0)]  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(_STEP, min_size=4, max_size=16))
@example(steps=_RESPLIT)
@example(steps=_STALE)
@example(steps=_OTHER_WAY)
@example(steps=[("reshard", 0, 0), ("stale", 0, -1), ("old_router", 0, 9)])
def test_model_reused_names_lose_no_order(tmp_path_factory: Any, steps: list[Any]) -> None:
    """Whatever the order of splits, merges (names come back), rollbacks, old job objects run
    or rolled back again and writes through routers opened with an older shard list: every
    call either works or is refused changing nothing, and the live router serves the oracle."""
    db = SQLiteShards(tmp_path_factory.mktemp("model"))
    router = Router(db, ["-"])
    orders: Orders = {}
    made: list[Resharding] = []
    lists: list[tuple[str, ...]] = [router.shards]
    for i in range(12):
        write(router, orders, i, i)
    undoable = None
    for step in steps:
        kind = step[0]
        if kind != "reshard":
            undoable = None if kind != "write" else undoable
        if kind == "write":
            write(router, orders, step[1], None if step[2] < 0 else step[2])
        elif kind == "reshard":
            plans = _plans(router.shards)
            job = Resharding(router, *plans[step[1] % len(plans)])
            assert job.run().ok, step
            made.append(job)
            undoable = job
            lists.append(router.shards)
        elif kind == "rollback" and made:
            job = made.pop()
            if job is undoable:  # the move just made: it can be undone
                job.rollback()
            else:  # undone or refused (its shards were moved on), changing nothing
                before, shards = snapshot(db), router.shards
                try:
                    job.rollback()
                except ShardingError:
                    assert (router.shards, snapshot(db)) == (shards, before), step
            lists.append(router.shards)
        elif kind == "stale" and made:
            job = made[step[1] % len(made)]
            before, shards = snapshot(db), router.shards
            try:
                job.run() if step[2] >= 0 else job.rollback()
            except ShardingError:
                assert (router.shards, snapshot(db)) == (shards, before), step
            lists.append(router.shards)
        elif kind == "old_router":
            shards = lists[step[1] % len(lists)]
            if all(db.exists(s) for s in shards):  # a router would make a missing one
                try:
                    write(Router(db, shards), orders, step[2], step[1])
                except ShardingError as exc:
                    assert "takes" in str(exc), exc
        check(router, orders, step)
    db.close()
