"""Modulo placement: ``hash(key) mod n``, the baseline that moves almost every key on growth.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

The obvious scheme: hash the key to 64 bits and take the remainder by the number of shards.
Lookups are one hash and one division, and the load is as even as the hash. The trouble comes when
the cluster changes: going from ``n`` to ``n + 1`` shards keeps a key in place only when its hash
gives the same remainder under both, so about ``n / (n + 1)`` of all keys move, against the
``1 / (n + 1)`` a consistent scheme moves. Every other module of this family exists because of
that number.

Complexity: O(1) per lookup; O(n) to add or remove a shard (the list is rebuilt).

>>> p = ModuloPlacement(["a", "b", "c"])
>>> p.shard_for("user:42") in p.shards
True
>>> p.shard_for("user:42") == p.shard_for("user:42")
True
"""

from __future__ import annotations

from xxhash import xxh3_64_intdigest

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding.base import (
    Key,
    ShardingError,
    check_shard_name,
    check_shards,
    key_bytes,
)

__all__ = ["ModuloPlacement"]


class ModuloPlacement:
    """``shards[xxh3_64(key) % len(shards)]``."""

    def __init__(self, shards: object) -> None:
        self._shards = check_shards(shards)

    def __repr__(self) -> str:
        return f"ModuloPlacement({self._shards!r})"

    @property
    def shards(self) -> tuple[str, ...]:
        return tuple(self._shards)

    def shard_for(self, key: Key) -> str:
        return self._shards[xxh3_64_intdigest(key_bytes(key)) % len(self._shards)]

    def add(self, shard: str, weight: float = 1.0) -> None:
        """Append a shard; modulo placement has no weights (only ``weight=1``)."""
        name = check_shard_name(shard)
        if weight != 1 or isinstance(weight, bool):
            raise ShardingError(
                f"add: weight={shown(weight)}: modulo placement supports weight=1 only"
            )
        if name in self._shards:
            raise ShardingError(f"add: shard={shown(name)} is there already")
        self._shards.append(name)

    def remove(self, shard: str) -> None:
        name = check_shard_name(shard)
        if name not in self._shards:
            raise ShardingError(
                f"remove: shard={shown(name)} is unknown; shards are {self._shards}"
            )
        if len(self._shards) == 1:
            raise ShardingError(f"remove: shard={shown(name)} is the last one")
        self._shards.remove(name)
