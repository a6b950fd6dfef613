"""``dpref bench sharding``: lookups, movement and balance per scheme beside uhashring; resharding
throughput on SQLite and PostgreSQL; Notion's JSON-versus-typed-columns table."""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from designpatterns_ref.benchkit import Table, installed, time_per_item
from designpatterns_ref.sharding.jump import JumpPlacement
from designpatterns_ref.sharding.maglev import MaglevPlacement
from designpatterns_ref.sharding.modulo import ModuloPlacement
from designpatterns_ref.sharding.rendezvous import RendezvousPlacement
from designpatterns_ref.sharding.resharding import Resharding
from designpatterns_ref.sharding.ring import ConsistentHashRing
from designpatterns_ref.sharding.router import Router
from designpatterns_ref.sharding.schema import generate_blocks, run_schema_lesson
from designpatterns_ref.sharding.slots import keyslot
from designpatterns_ref.sharding.sql import PostgresShards, ShardDatabases, SQLiteShards

Make = Callable[[list[str]], Any]

SCHEMES: dict[str, Make] = {
    "modulo": ModuloPlacement,
    "ring, ketama 160 vnodes": ConsistentHashRing,
    "ring, xxh3 160 vnodes": lambda s: ConsistentHashRing(s, layout="xxh3"),
    "rendezvous": RendezvousPlacement,
    "jump": JumpPlacement,
    "maglev (M=65537)": MaglevPlacement,
}


def _peers() -> dict[str, Make]:
    if not installed("uhashring"):
        return {}
    import uhashring

    def ring(shards: list[str]) -> Any:
        peer = uhashring.HashRing(nodes=shards, hash_fn="ketama", vnodes=160)

        class View:
            shard_for = staticmethod(peer.get_node)

        return View()

    return {"uhashring (ketama, 160)": ring}


def bench_lookups(quick: bool) -> list[Table]:
    """µs per lookup at 10, 100 and 1,000 shards."""
    sizes = (10, 100) if quick else (10, 100, 1000)
    keys = [f"user:{i}" for i in range(2_000 if quick else 20_000)]
    table = Table(
        f"placement: µs per lookup, median of 5 passes over {len(keys):,} keys",
        ["scheme", *(f"{n} shards" for n in sizes)],
    )
    for name, make in {**SCHEMES, **_peers()}.items():
        row = []
        for n in sizes:
            placement = make([f"node-{i}" for i in range(n)])
            row.append(round(time_per_item(placement.shard_for, keys, 5) * 1e6, 2))
        table.add(name, *row)
    table.add(
        "Redis Cluster keyslot (CRC16)",
        *[round(time_per_item(keyslot, keys, 5) * 1e6, 2)] * len(sizes),
    )
    return [table]


def bench_movement(quick: bool) -> list[Table]:
    """Keys moved from 10 to 11 shards against the ideal, and busiest shard over the mean."""
    count = 20_000 if quick else 1_000_000
    keys = [f"k{i}" for i in range(count)]
    table = Table(
        f"placement: {count:,} keys, 10 -> 11 shards (ideal moved 1/11 = 9.09%)",
        ["scheme", "moved %", "vs ideal", "max/mean load (10 shards)"],
    )
    for name, make in {**SCHEMES, **_peers()}.items():
        before = make([f"s{i}" for i in range(10)])
        after = make([f"s{i}" for i in range(11)])
        first = [before.shard_for(k) for k in keys]
        moved = sum(a != after.shard_for(k) for a, k in zip(first, keys, strict=True)) / count
        load = Counter(first)
        table.add(
            name,
            round(moved * 100, 2),
            round(moved * 11, 3),
            round(max(load.values()) / (count / 10), 3),
        )
    return [table]


def _reshard(databases: ShardDatabases, rows: int, writers: int) -> tuple[float, int, float]:
    router = Router(databases, ["-"])
    for i in range(rows):
        router.insert(i, f"c{i % 997}", i)
    stop = threading.Event()
    written = [0] * writers

    def write(t: int) -> None:
        i = 0
        while not stop.is_set():
            router.insert(10_000_000 + t * 1_000_000 + i % 5000, f"c{i % 997}", i)
            written[t] += 1
            i += 1
        databases.close()

    threads = [threading.Thread(target=write, args=(t,)) for t in range(writers)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    check = Resharding(router, ["-"], ["-80", "80-"], chunk=1000).run()
    elapsed = time.perf_counter() - start
    stop.set()
    for thread in threads:
        thread.join()
    assert check.ok
    return rows / elapsed, sum(written), elapsed


def bench_resharding(quick: bool, pg_url: str | None = None) -> list[Table]:
    """Rows per second copied from ``-`` to ``-80``/``80-`` while two writers keep writing."""
    rows = 5_000 if quick else 100_000
    table = Table(
        f"online resharding of {rows:,} rows, '-' -> '-80', '80-', 2 writers throughout",
        ["engine", "rows/s copied", "writes during it", "seconds"],
    )
    rate, writes, secs = _reshard(SQLiteShards(tempfile.mkdtemp(prefix="dpref-shards-")), rows, 2)
    table.add("SQLite files (WAL)", round(rate), writes, round(secs, 2))
    if pg_url is not None:
        rate, writes, secs = _reshard(PostgresShards(pg_url, prefix="bench"), rows, 2)
        table.add("PostgreSQL databases", round(rate), writes, round(secs, 2))
    return [table]


def bench_schema(quick: bool, pg_url: str | None = None) -> list[Table]:
    """Notion's lesson: ms per query and storage, JSON against typed columns."""
    n = 20_000 if quick else 1_000_000
    blocks = generate_blocks(n, seed=1, workspaces=max(1, n // 5000))
    table = Table(
        f"{n:,} blocks: ms per query (median of 5) and size",
        ["engine", "layout", "page ms", "done ms", "due ms", "MB"],
    )
    engines: list[tuple[str, str | None]] = [("sqlite", None)]
    if pg_url is not None:
        engines.append(("postgres", pg_url))
    for engine, url in engines:
        for r in run_schema_lesson(blocks, engine=engine, pg_url=url):
            table.add(engine, r.layout, round(r.ms["page"], 3), round(r.ms["done"], 3),
                      round(r.ms["due"], 3), round(r.bytes / 2**20, 1))  # fmt: skip
    return [table]


def _with_postgres(run: Callable[[str | None], list[Table]]) -> list[Table]:
    from designpatterns_ref.testing import ServerUnavailable, postgres_server

    try:
        with postgres_server() as pg:
            return run(pg.create_database("bench_sharding"))
    except ServerUnavailable:
        return run(None)


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench sharding`` runs, each returning its tables."""
    return [
        ("lookups", lambda: bench_lookups(quick)),
        ("keys moved and balance", lambda: bench_movement(quick)),
        ("online resharding", lambda: _with_postgres(lambda url: bench_resharding(quick, url))),
        ("JSON vs typed columns", lambda: _with_postgres(lambda url: bench_schema(quick, url))),
    ]
