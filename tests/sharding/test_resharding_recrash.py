"""A resharding killed, then killed again while it recovers, then recovered: nothing is lost.

The story of :func:`tests.sharding.test_resharding._whole_story` (start, copy with a write in
between, cut over, write on the new shards, roll back) dies at one step; a new process starts
a resume or a rollback and dies at one of *its* steps; a third process finishes, resuming or
rolling back (only a rollback once a target is marked ``rolled_back``). The model: every write
the story saw acknowledged is in the table, each row on the shard that owns it, and the
router serves the shard list the recovery chose. On SQLite, every pair of crash points: the
story's odd points recovered by a resume first, its even ones by a rollback first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.sharding.keyspace import KeyRange
from designpatterns_ref.sharding.resharding import Resharding
from designpatterns_ref.sharding.router import Router
from designpatterns_ref.sharding.sql import ShardDatabases, SQLiteShards
from tests.sharding.shards import open_shards
from tests.sharding.test_resharding import (
    TARGETS,
    Killed,
    _points,
    _reset,
    _whole_story,
    customer_of,
    seed_rows,
)


def _killer(n: int) -> Any:
    calls: Iterator[int] = iter(range(1, 10**6))

    def die(name: str) -> None:
        if next(calls) == n:
            raise Killed(name)

    return die


def _recover(databases: ShardDatabases, how: str, on_point: Any = None) -> Router:
    router = Router(databases, ["-"])
    job = Resharding(router, ["-"], TARGETS, chunk=25, on_point=on_point)
    if how == "resume" and job.phase() != "rolled_back":
        assert job.resume().ok
        assert router.shards == tuple(TARGETS) and job.phase() == "cut_over"
    else:
        job.rollback()
        assert router.shards == ("-",) and job.phase() == "new"
    return router


@pytest.mark.parametrize(
    ("first", "then", "odd"), [("resume", "rollback", 1), ("rollback", "resume", 0)]
)
def test_a_recovery_killed_at_any_step_is_recovered_again(
    tmp_path: Path, first: str, then: str, odd: int
) -> None:
    databases = SQLiteShards(tmp_path)
    points = _points(databases)
    pairs = 0
    for n in range(2 - odd, len(points) + 1, 2):
        for m in range(1, 100):
            router = Router(databases, ["-"])
            wrote: dict[int, Any] = dict(seed_rows(router, 60))
            with pytest.raises(Killed):
                _whole_story(router, _killer(n), wrote)
            databases = SQLiteShards(tmp_path)
            try:
                _recover(databases, first, _killer(m))
            except Killed:
                killed = True
            else:
                killed = False
            databases = SQLiteShards(tmp_path)
            router = _recover(databases, then if killed else first)
            router.insert(7, customer_of(7), 7)
            wrote[7] = 7
            want = sorted(
                (i, customer_of(i % 900_000), v) for i, v in wrote.items() if v is not None
            )
            where = (points[n - 1], m)
            assert router.scan()[0] == want, where
            for shard in router.shards:
                r = KeyRange.parse(shard)
                ksids = databases.query(shard, "SELECT ksid FROM orders")
                assert all(int(k, 16) in r for (k,) in ksids), where
            _reset(databases)
            pairs += killed
            if not killed:
                break
    assert pairs > len(points) // 2  # the recoveries were killed at many points
    databases.close()


def _at(point: str) -> Any:
    def die(name: str) -> None:
        if name == point:
            raise Killed(name)

    return die


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
@pytest.mark.parametrize("then", ["resume", "rollback"])
def test_a_rollback_killed_among_its_drops_is_finished(place: str, engine: str, then: str) -> None:
    """The case the sweep above found, on both engines: the story dies with one target marked
    ``rolled_back``, the rollback that finishes it dies after dropping that target; the other
    target must not be left marked ``cut_over`` (a finished cut-over with a target missing),
    and a third process finishes the rollback with every acknowledged write on the source."""
    databases = open_shards(engine, place)
    router = Router(databases, ["-"])
    wrote: dict[int, Any] = dict(seed_rows(router, 60))
    with pytest.raises(Killed):
        _whole_story(router, _at("rolled_back:-80"), wrote)
    databases.close()
    databases = open_shards(engine, place)
    with pytest.raises(Killed):
        _recover(databases, "rollback", _at("drop:-80"))
    databases.close()
    databases = open_shards(engine, place)
    job = Resharding(Router(databases, ["-"]), ["-"], TARGETS, chunk=25)
    assert job.phase() == "rolled_back"
    router = _recover(databases, then)
    want = sorted((i, customer_of(i % 900_000), v) for i, v in wrote.items() if v is not None)
    assert router.shards == ("-",) and router.scan()[0] == want
    assert not any(databases.exists(t) for t in TARGETS)
    databases.close()
