"""Rendezvous (highest random weight) hashing, with weights: every key ranks every shard.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

For a key, score every shard with a hash of (shard, key) and pick the highest score (Thaler and
Ravishankar, 1996). Removing a shard moves only its own keys, each to its runner-up; adding one
takes from every shard exactly the keys for which it now scores highest, ``1 / (n + 1)`` of them.
No ring, no table, no virtual nodes, and the load is as even as the hash. Weights use the
logarithmic method (Schindelhauer and Schomaker): with ``h`` the hash mapped into (0, 1), a
shard of weight ``w`` scores ``-w / ln(h)``, which gives it a ``w / sum(w)`` share of the keys.

The trade-off is the lookup: every key hashes once per shard, O(n). At ten shards that is a few
microseconds; at a thousand it is the slowest scheme here by far (the benchmark plots it). Where
n is large, two known remedies: precompute a Maglev-style table from the same scores, or arrange
the shards in a skeleton tree of small groups and run rendezvous per level (O(log n)); this module
keeps the plain form, and its cost is stated rather than hidden.

Complexity: O(n) per lookup; O(1) to add or remove a shard (no rebuild at all).

>>> p = RendezvousPlacement(["a", "b", "c"], weights={"c": 2.0})
>>> p.shard_for("user:42") in p.shards
True
"""

from __future__ import annotations

import math

from xxhash import xxh3_64_intdigest

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding.base import (
    Key,
    ShardingError,
    check_shard_name,
    check_shards,
    key_bytes,
)
from designpatterns_ref.sharding.ring import _check_weight

__all__ = ["RendezvousPlacement"]

_TWO53 = float(1 << 53)  # (h >> 11) + 0.5 over 2**53 lies strictly inside (0, 1)


class RendezvousPlacement:
    """Highest random weight: the shard whose ``-w / ln(hash(shard, key))`` is largest."""

    def __init__(self, shards: object, *, weights: dict[str, float] | None = None) -> None:
        names = check_shards(shards)
        given = {} if weights is None else weights
        if not isinstance(given, dict):
            raise ShardingError(f"weights={shown(weights)} must be a dict of shard -> weight")
        unknown = set(given) - set(names)
        if unknown:
            raise ShardingError(f"weights names shards {sorted(map(repr, unknown))} not in shards")
        self._weights = {n: _check_weight(given.get(n, 1.0), f"weights[{n!r}]") for n in names}
        self._seeds = {n: xxh3_64_intdigest(n.encode()) for n in names}

    def __repr__(self) -> str:
        return f"RendezvousPlacement({list(self._weights)!r})"

    @property
    def shards(self) -> tuple[str, ...]:
        return tuple(self._weights)

    def score(self, shard: str, key: Key) -> float:
        """Shard ``shard``'s score for ``key`` (the largest wins).

        Raises :class:`ShardingError` when ``shard`` is not one of :attr:`shards` or ``key`` is
        not a key.
        """
        name = check_shard_name(shard)
        if name not in self._weights:
            raise ShardingError(f"score: shard={shown(name)} is unknown; shards are {self.shards}")
        data = key_bytes(key)
        h = ((xxh3_64_intdigest(data, self._seeds[name]) >> 11) + 0.5) / _TWO53
        return -self._weights[name] / math.log(h)

    def shard_for(self, key: Key) -> str:
        data = key_bytes(key)
        log = math.log
        best, best_score = "", -1.0
        for name, seed in self._seeds.items():
            score = -self._weights[name] / log(
                ((xxh3_64_intdigest(data, seed) >> 11) + 0.5) / _TWO53
            )
            if score > best_score:
                best, best_score = name, score
        return best

    def add(self, shard: str, weight: float = 1.0) -> None:
        name = check_shard_name(shard)
        w = _check_weight(weight)
        if name in self._weights:
            raise ShardingError(f"add: shard={shown(name)} is there already")
        self._weights[name] = w
        self._seeds[name] = xxh3_64_intdigest(name.encode())

    def remove(self, shard: str) -> None:
        name = check_shard_name(shard)
        if name not in self._weights:
            raise ShardingError(
                f"remove: shard={shown(name)} is unknown; shards are {list(self._weights)}"
            )
        if len(self._weights) == 1:
            raise ShardingError(f"remove: shard={shown(name)} is the last one")
        del self._weights[name]
        del self._seeds[name]
