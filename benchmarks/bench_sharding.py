"""sharding benchmarks: placement lookups beside uhashring, resharding, and the schema lesson.

Run ``pytest benchmarks/bench_sharding.py --benchmark-only`` for figures, or
``--benchmark-disable`` for the quick pass CI makes. The summary tables of
``dpref bench sharding`` come from ``designpatterns_ref.sharding._bench``.
"""

from __future__ import annotations

import importlib.util
import tempfile
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.sharding import (
    ConsistentHashRing,
    JumpPlacement,
    MaglevPlacement,
    ModuloPlacement,
    RendezvousPlacement,
    keyslot,
)
from designpatterns_ref.sharding._bench import _reshard, bench_movement
from designpatterns_ref.sharding.schema import generate_blocks, run_schema_lesson
from designpatterns_ref.sharding.sql import PostgresShards, SQLiteShards

KEYS = [f"user:{i}" for i in range(2_000)]
MAKERS: dict[str, Any] = {
    "modulo": ModuloPlacement,
    "ring-ketama": ConsistentHashRing,
    "ring-xxh3": lambda s: ConsistentHashRing(s, layout="xxh3"),
    "rendezvous": RendezvousPlacement,
    "jump": JumpPlacement,
    "maglev": MaglevPlacement,
}


@pytest.mark.parametrize("shards", [10, 100])
@pytest.mark.parametrize("scheme", MAKERS)
def test_lookup(benchmark: BenchmarkFixture, scheme: str, shards: int) -> None:
    placement = MAKERS[scheme]([f"node-{i}" for i in range(shards)])
    benchmark(lambda: [placement.shard_for(k) for k in KEYS])


@pytest.mark.skipif(importlib.util.find_spec("uhashring") is None, reason="uhashring not installed")
@pytest.mark.parametrize("shards", [10, 100])
def test_lookup_uhashring(benchmark: BenchmarkFixture, shards: int) -> None:
    import uhashring

    ring = uhashring.HashRing(
        nodes=[f"node-{i}" for i in range(shards)], hash_fn="ketama", vnodes=160
    )
    ours = ConsistentHashRing([f"node-{i}" for i in range(shards)])
    assert all(ring.get_node(k) == ours.shard_for(k) for k in KEYS[:200])
    benchmark(lambda: [ring.get_node(k) for k in KEYS])


def test_keyslot(benchmark: BenchmarkFixture) -> None:
    benchmark(lambda: [keyslot(k) for k in KEYS])


def test_movement_table(benchmark: BenchmarkFixture, quick: bool) -> None:
    tables = benchmark.pedantic(bench_movement, args=(True,), rounds=1, iterations=1)
    moved = {row[0]: float(row[1]) for row in tables[0].rows}
    assert 8.0 < moved["rendezvous"] < 10.2


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_resharding_throughput(
    benchmark: BenchmarkFixture, engine: str, quick: bool, request: pytest.FixtureRequest
) -> None:
    rows = 2_000 if quick else 50_000
    if engine == "sqlite":
        make = lambda: SQLiteShards(tempfile.mkdtemp(prefix="dpref-bench-"))  # noqa: E731
    else:
        url = request.getfixturevalue("pg_url")
        prefixes = iter(f"b{i}" for i in range(1000))
        make = lambda: PostgresShards(url, prefix=next(prefixes))  # noqa: E731
    benchmark.pedantic(lambda: _reshard(make(), rows, 2), rounds=1, iterations=1)


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_schema_lesson(
    benchmark: BenchmarkFixture, engine: str, quick: bool, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_url") if engine == "postgres" else None
    blocks = generate_blocks(5_000 if quick else 200_000, seed=1, workspaces=20)
    results = benchmark.pedantic(
        run_schema_lesson, args=(blocks,), kwargs={"engine": engine, "pg_url": url}, rounds=1
    )
    answers = [r.answers for r in results]
    assert all(a == answers[0] for a in answers)
