"""``dpref tour sharding``: where keys live, what moves when shards are added, an online
resharding while writes continue, and Notion's logical shards and schema lesson."""

from __future__ import annotations

import tempfile
from collections.abc import Callable

from designpatterns_ref.sharding.jump import JumpPlacement
from designpatterns_ref.sharding.logical import LogicalShards, page_fanout
from designpatterns_ref.sharding.maglev import MaglevPlacement
from designpatterns_ref.sharding.modulo import ModuloPlacement
from designpatterns_ref.sharding.plot import moved_fraction
from designpatterns_ref.sharding.rendezvous import RendezvousPlacement
from designpatterns_ref.sharding.resharding import Resharding
from designpatterns_ref.sharding.ring import ConsistentHashRing
from designpatterns_ref.sharding.router import Router
from designpatterns_ref.sharding.schema import generate_blocks, reference_answers, run_schema_lesson
from designpatterns_ref.sharding.slots import keyslot
from designpatterns_ref.sharding.sql import SQLiteShards

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Print the sharding story, deterministically, in a few seconds."""
    out("Ten shards become eleven. The share of 10,000 keys each scheme moves (ideal 9.1%):")
    for name, make in (
        ("modulo", ModuloPlacement),
        ("consistent-hash ring", ConsistentHashRing),
        ("rendezvous", RendezvousPlacement),
        ("jump hash", JumpPlacement),
        ("maglev", lambda s: MaglevPlacement(s, table_size=4099)),
    ):
        out(f"  {name:21} {moved_fraction(make, 10, keys=10_000):6.1%}")
    out("  Modulo moves nearly everything: that is why consistent schemes exist.")
    cart, orders = keyslot("{user:7}:cart"), keyslot("{user:7}:orders")
    out(f"\nRedis Cluster puts '{{user:7}}:cart' in slot {cart} and '{{user:7}}:orders' in slot")
    out(f"  {orders}: one hash tag, one slot, so one script may touch both.")

    router = Router(SQLiteShards(tempfile.mkdtemp(prefix="dpref-tour-")), ["-"])
    for i in range(300):
        router.insert(i, f"customer-{i % 23}", i)
    out("\nVitess in miniature: 300 orders on one shard '-', split into '-80' and '80-'.")
    job = Resharding(router, ["-"], ["-80", "80-"], chunk=100)
    job.start()
    chunks = 0
    while not job.copy_chunk():
        chunks += 1
        router.insert(1000 + chunks, "customer-late", chunks)  # writes go on during the copy
        router.delete(chunks, f"customer-{chunks % 23}")
        out(f"  copied chunk {chunks}; meanwhile order {1000 + chunks} was written and order "
            f"{chunks} deleted on the source")  # fmt: skip
        job.catch_up()
    check = job.cut_over()
    out(f"  verified {check.counts} (source rows, target rows)")
    out(f"  and cut over: the router now serves {router.shards}")
    rows, route = router.by_customer("customer-late")
    out(f"  customer-late's orders: {[r[0] for r in rows]}, from {route.kind} shard {route.shards}")
    rows, route = router.by_id(5)
    out(f"  order 5 by id: a {route.kind} over {len(route.shards)} shards (the id is not the key)")

    fleet = LogicalShards([f"db{i}" for i in range(32)])
    out("\nNotion: 480 logical shards on 32 hosts, 15 each, keyed by workspace.")
    moves = fleet.add_host("db32")
    out(f"  A 33rd host takes {len(moves)} whole logical shards; no key is rehashed.")
    page = [(42, f"block-{i}") for i in range(60)]
    by_ws, by_block = page_fanout(page)
    out(
        f"  A 60-block page touches {by_ws} shard keyed by workspace, {by_block} keyed by block id."
    )
    blocks = generate_blocks(5_000, seed=2, workspaces=10)
    results = run_schema_lesson(blocks, repeat=1, workspace=3, page=7)
    expected = reference_answers(blocks, 3, 7, 20_030)
    out("  5,000 blocks stored four ways on SQLite (bytes on disk; all give the same answers: "
        f"{all(r.answers == expected for r in results)}):")  # fmt: skip
    for r in results:
        out(f"    {r.layout:12} {r.bytes:>9,} bytes")
