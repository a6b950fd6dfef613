"""sharding: every placement scheme, its constructor and its methods, and the slot functions."""

from __future__ import annotations

from typing import Any

from designpatterns_ref import sharding as sh
from tests.fuzz.spec import Entry

ERRORS = (sh.ShardingError,)

_MAKERS: dict[str, Any] = {
    "ModuloPlacement": sh.ModuloPlacement,
    "ConsistentHashRing": sh.ConsistentHashRing,
    "RendezvousPlacement": sh.RendezvousPlacement,
    "JumpPlacement": sh.JumpPlacement,
    "MaglevPlacement": lambda s: sh.MaglevPlacement(s, table_size=101),
}


def _entries(name: str, make: Any) -> list[Entry]:
    def fresh() -> Any:
        return make(["a", "b", "c"])

    return [
        Entry(f"{name}(shards)", call=lambda _, v: make(v)),
        Entry(f"{name}(shards=[v])", call=lambda _, v: make([v])),
        Entry(f"{name}.shard_for", make=fresh, call=lambda p, v: p.shard_for(v)),
        Entry(f"{name}.add", make=fresh, call=lambda p, v: p.add(v)),
        Entry(f"{name}.add(weight)", make=fresh, call=lambda p, v: p.add("d", weight=v)),
        Entry(f"{name}.remove", make=fresh, call=lambda p, v: p.remove(v)),
    ]


ENTRIES = [
    *(e for name, make in _MAKERS.items() for e in _entries(name, make)),
    Entry("ConsistentHashRing(vnodes)", call=lambda _, v: sh.ConsistentHashRing(["a"], vnodes=v)),
    Entry("ConsistentHashRing(weights)", call=lambda _, v: sh.ConsistentHashRing(["a"], weights=v)),
    Entry(
        "ConsistentHashRing(weights[a])",
        call=lambda _, v: sh.ConsistentHashRing(["a"], weights={"a": v}),
    ),
    Entry("ConsistentHashRing(layout)", call=lambda _, v: sh.ConsistentHashRing(["a"], layout=v)),
    Entry(
        "RendezvousPlacement(weights[a])",
        call=lambda _, v: sh.RendezvousPlacement(["a"], weights={"a": v}),
    ),
    Entry("MaglevPlacement(table_size)", call=lambda _, v: sh.MaglevPlacement(["a"], table_size=v)),
    Entry("jump_hash(key)", call=lambda _, v: sh.jump_hash(v, 10)),
    Entry("jump_hash(buckets)", call=lambda _, v: sh.jump_hash(1, v)),
    Entry("keyslot", call=lambda _, v: sh.keyslot(v)),
    Entry("hash_tag", call=lambda _, v: sh.hash_tag(v)),
    Entry("key_bytes", call=lambda _, v: sh.key_bytes(v)),
]
