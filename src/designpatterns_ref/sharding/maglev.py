"""Maglev hashing (Google, NSDI 2016): a lookup table filled by each shard's own permutation.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

Maglev, Google's software load balancer, maps a key with one array index: ``table[hash(key) %
M]``, where ``M`` is a prime much larger than the number of shards. Each shard derives from its
name an ``offset`` in ``[0, M)`` and a ``skip`` in ``[1, M)``, and so a permutation of the table's
slots, ``(offset + j * skip) mod M``. The shards then take turns: each claims the next slot of its
permutation that nobody holds yet, until the table is full. Every shard ends with ``M / n`` slots
give or take one (near-perfect balance), and when a shard joins or leaves most slots keep their
owner (Maglev trades a little extra movement, a few percent above ``1 / (n + 1)``, for balance
and O(1) lookups).

The price is the table: M entries to build (O(M log M) expected, pure Python about 30 ms for the
default ``M = 65,537``) and to hold in memory, and a rebuild on every change.

Complexity: O(1) per lookup; O(M log M) expected per build; O(M) memory.

>>> p = MaglevPlacement(["a", "b", "c"], table_size=1031)
>>> sorted(p.slot_counts().values())
[343, 344, 344]
"""

from __future__ import annotations

from xxhash import xxh3_64_intdigest, xxh64_intdigest

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding.base import (
    Key,
    ShardingError,
    check_shard_name,
    check_shards,
    key_bytes,
)

__all__ = ["MaglevPlacement", "is_prime"]


def is_prime(n: int) -> bool:
    """True when ``n`` is prime (trial division; table sizes are small)."""
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


class MaglevPlacement:
    """``table[xxh3_64(key) % M]``, the table filled round-robin from per-shard permutations."""

    def __init__(self, shards: object, *, table_size: int = 65537) -> None:
        names = check_shards(shards)
        if (
            not isinstance(table_size, int)
            or isinstance(table_size, bool)
            or not 7 <= table_size <= 10_000_019
            or not is_prime(table_size)
        ):
            raise ShardingError(
                f"table_size={shown(table_size)} must be a prime in [7, 10,000,019]"
            )
        if len(names) > table_size // 8:
            raise ShardingError(
                f"{len(names)} shards need table_size >= 8 * shards; table_size={table_size}"
            )
        self.table_size = table_size
        self._shards = names
        self._build()

    def __repr__(self) -> str:
        return f"MaglevPlacement({self._shards!r}, table_size={self.table_size})"

    def _build(self) -> None:
        m, n = self.table_size, len(self._shards)
        offsets = [xxh64_intdigest(s.encode(), 0xBEEF) % m for s in self._shards]
        skips = [xxh64_intdigest(s.encode(), 0xCAFE) % (m - 1) + 1 for s in self._shards]
        following = [0] * n  # how far along its permutation each shard is
        table = [-1] * m
        filled = 0
        while True:
            for i in range(n):
                slot = (offsets[i] + following[i] * skips[i]) % m
                while table[slot] >= 0:
                    following[i] += 1
                    slot = (offsets[i] + following[i] * skips[i]) % m
                table[slot] = i
                following[i] += 1
                filled += 1
                if filled == m:
                    self._table = [self._shards[i] for i in table]
                    return

    @property
    def shards(self) -> tuple[str, ...]:
        return tuple(self._shards)

    def slot_counts(self) -> dict[str, int]:
        """How many table slots each shard owns."""
        counts = dict.fromkeys(self._shards, 0)
        for owner in self._table:
            counts[owner] += 1
        return counts

    def shard_for(self, key: Key) -> str:
        return self._table[xxh3_64_intdigest(key_bytes(key)) % self.table_size]

    def add(self, shard: str, weight: float = 1.0) -> None:
        """Add a shard and rebuild the table; Maglev here has no weights (only ``weight=1``)."""
        name = check_shard_name(shard)
        if weight != 1 or isinstance(weight, bool):
            raise ShardingError(f"add: weight={shown(weight)}: this Maglev supports weight=1 only")
        if name in self._shards:
            raise ShardingError(f"add: shard={shown(name)} is there already")
        if len(self._shards) + 1 > self.table_size // 8:
            raise ShardingError(f"add: table_size={self.table_size} is too small for more shards")
        self._shards.append(name)
        self._build()

    def remove(self, shard: str) -> None:
        name = check_shard_name(shard)
        if name not in self._shards:
            raise ShardingError(
                f"remove: shard={shown(name)} is unknown; shards are {self._shards}"
            )
        if len(self._shards) == 1:
            raise ShardingError(f"remove: shard={shown(name)} is the last one")
        self._shards.remove(name)
        self._build()
