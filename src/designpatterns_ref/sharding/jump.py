"""Jump consistent hash (Lamping and Veach, 2014): no ring, no table, one loop of arithmetic.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

Buckets are numbered ``0 .. n-1``. Follow a key as the bucket count grows one at a time: when the
``j``-th bucket is added, the key jumps to it with probability ``1 / (j + 1)``, else it stays. That
is exactly the minimum movement (``1 / (n + 1)`` of the keys on each growth) with a perfectly even
spread. Lamping and Veach draw the jumps from a 64-bit linear congruential generator seeded with the
key, and skip ahead straight to the next jump, so a lookup costs O(log n) iterations and no memory.

The trade-off: buckets are numbers, not names. Shards can only be added or removed at the end;
removing one in the middle would renumber the rest and move their keys. Use it for numbered
shards that grow (Vitess-style ranges, storage partitions), not for a fleet of caches that fail at
random (the ring or rendezvous handle that).

Complexity: O(log n) per lookup, O(1) memory; ``add`` appends, ``remove`` only the last shard.

>>> jump_hash(1, 1), jump_hash(2**63, 10) in range(10)
(0, True)
>>> p = JumpPlacement(["s0", "s1", "s2"])
>>> p.remove("s0")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
designpatterns_ref.sharding.base.ShardingError: remove: shard='s0' is not the last: ...
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

__all__ = ["JumpPlacement", "jump_hash"]

_MASK = (1 << 64) - 1


def jump_hash(key: int, buckets: int) -> int:
    """The bucket in ``range(buckets)`` of the 64-bit ``key`` (the paper's algorithm)."""
    if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key <= _MASK:
        raise ShardingError(f"jump_hash: key={shown(key)} must be an int in [0, 2**64)")
    if not isinstance(buckets, int) or isinstance(buckets, bool) or not 1 <= buckets < 1 << 31:
        raise ShardingError(f"jump_hash: buckets={shown(buckets)} must be an int in [1, 2**31)")
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & _MASK
        j = int((b + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return b


class JumpPlacement:
    """Jump consistent hash over numbered shards ``shards[0..n-1]``."""

    def __init__(self, shards: object) -> None:
        self._shards = check_shards(shards)

    def __repr__(self) -> str:
        return f"JumpPlacement({self._shards!r})"

    @property
    def shards(self) -> tuple[str, ...]:
        return tuple(self._shards)

    def shard_for(self, key: Key) -> str:
        h = xxh3_64_intdigest(key_bytes(key))
        # the loop of jump_hash, inlined: no argument checks on the hot path
        b, j, n = -1, 0, len(self._shards)
        while j < n:
            b = j
            h = (h * 2862933555777941757 + 1) & _MASK
            j = int((b + 1) * ((1 << 31) / ((h >> 33) + 1)))
        return self._shards[b]

    def add(self, shard: str, weight: float = 1.0) -> None:
        """Append a shard as bucket ``n``; jump hash has no weights (only ``weight=1``)."""
        name = check_shard_name(shard)
        if weight != 1 or isinstance(weight, bool):
            raise ShardingError(f"add: weight={shown(weight)}: jump hash supports weight=1 only")
        if name in self._shards:
            raise ShardingError(f"add: shard={shown(name)} is there already")
        self._shards.append(name)

    def remove(self, shard: str) -> None:
        """Remove the last shard (the only one jump hash can remove without renumbering)."""
        name = check_shard_name(shard)
        if name not in self._shards:
            raise ShardingError(
                f"remove: shard={shown(name)} is unknown; shards are {self._shards}"
            )
        if len(self._shards) == 1:
            raise ShardingError(f"remove: shard={shown(name)} is the last one")
        if name != self._shards[-1]:
            raise ShardingError(
                f"remove: shard={shown(name)} is not the last: jump hash can only remove the last "
                f"shard ({shown(self._shards[-1])})"
            )
        self._shards.pop()
