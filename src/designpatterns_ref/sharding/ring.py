"""Consistent-hash ring with virtual nodes and weights, ketama-compatible (as memcached clients).

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

Hash every shard to many points on a circle of 2**32 positions (its virtual nodes) and every key
to one point; a key belongs to the first shard point clockwise from it. Adding a shard inserts its
points and takes over only the arcs just before them, about ``1 / (n + 1)`` of the keys, all from
the other shards in proportion; removing one hands its arcs to the next points. More virtual nodes
give a more even load (the spread of a shard's share falls like ``1 / sqrt(vnodes)``) at the cost
of memory and a slightly deeper binary search. A shard of weight 2 gets twice the points.

Weights cost the ring its best property. A shard's count of virtual nodes is its share of the
total weight, so adding or removing a shard changes every other shard's count when the weights
differ: points appear and vanish on the old shards too, and keys move *between old shards*, not
only to or from the one added (uhashring's weighted ketama rings do the same). With equal
weights every count stays ``vnodes`` and only the new shard's arcs move. A weight so small that
the shard would get no point at all (it would receive no key) is refused with
:class:`ShardingError`, by the constructor, :meth:`ConsistentHashRing.add` and
:meth:`ConsistentHashRing.remove` (which can shrink another shard's count), leaving the ring as
it was. Rendezvous hashing with weights moves only what it must.

The default point layout is ketama's, the one memcached clients and ``uhashring`` use: a shard
named ``s`` of weight ``w`` gets ``vnodes * n * w // sum(weights)`` names ``s-0, s-1, ...``, each
hashed with MD5 into four 32-bit little-endian points; a key's point is the first four bytes of
its MD5. So a ring built here sends every key to the same shard as ``uhashring.HashRing(nodes,
hash_fn="ketama", vnodes=...)`` (tested), and a Python service can share a cache fleet with
clients in other languages. ``layout="xxh3"`` hashes each virtual node once with xxh3 instead:
the same idea, faster to build and to look up, compatible with nothing.

Complexity: O(log(n * vnodes)) per lookup (a bisect over the sorted points); O(n * vnodes log) to
build, and ``add`` / ``remove`` rebuild (the ketama counts depend on ``n``).

>>> ring = ConsistentHashRing(["cache-a", "cache-b", "cache-c"])
>>> ring.shard_for("user:42") in ring.shards
True
>>> before = {k: ring.shard_for(k) for k in map(str, range(1000))}
>>> ring.add("cache-d")
>>> moved = sum(ring.shard_for(k) != s for k, s in before.items())
>>> 150 < moved < 350   # about a quarter, all of them to the new shard
True
"""

from __future__ import annotations

import math
from bisect import bisect_right
from hashlib import md5
from typing import Literal

from xxhash import xxh3_64_intdigest

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding.base import (
    Key,
    ShardingError,
    check_shard_name,
    check_shards,
    key_bytes,
)

__all__ = ["ConsistentHashRing", "ketama_points"]

Layout = Literal["ketama", "xxh3"]
_MAX_VNODES = 10_000
_MAX_POINTS = 1_000_000  # virtual nodes a ketama_points call may ask for


def _ketama_hash(data: bytes) -> int:
    digest = md5(data, usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "little")


def ketama_points(name: str, count: int) -> list[int]:
    """The ``4 * count`` ketama points of virtual nodes ``name-0 .. name-(count-1)``.

    ``name`` is a shard name (a non-empty str) and ``count`` a whole number from 0 to
    1,000,000; anything else raises :class:`ShardingError`.
    """
    check_shard_name(name, "name")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= _MAX_POINTS:
        raise ShardingError(f"count={shown(count, 60)} must be an int in [0, {_MAX_POINTS:_}]")
    return _ketama_points(name, count)


def _ketama_points(name: str, count: int) -> list[int]:
    points = []
    for w in range(count):
        digest = md5(f"{name}-{w}".encode(), usedforsecurity=False).digest()
        points += [int.from_bytes(digest[r : r + 4], "little") for r in (0, 4, 8, 12)]
    return points


def _check_weight(weight: object, name: str = "weight") -> float:
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise ShardingError(f"{name}={shown(weight)} must be a positive number")
    if isinstance(weight, int) and not 0 < weight <= 1_000_000:  # no float() of a huge int
        raise ShardingError(f"{name}={shown(weight)} must be a positive number at most 1e6")
    if not (math.isfinite(weight) and 0 < weight <= 1_000_000):
        raise ShardingError(f"{name}={shown(weight)} must be a positive number at most 1e6")
    return float(weight)


class ConsistentHashRing:
    """A ring of virtual nodes; ``layout="ketama"`` (default) agrees with uhashring's ketama."""

    def __init__(
        self,
        shards: object,
        *,
        vnodes: int = 160,
        weights: dict[str, float] | None = None,
        layout: Layout = "ketama",
    ) -> None:
        names = check_shards(shards)
        if (
            not isinstance(vnodes, int)
            or isinstance(vnodes, bool)
            or not 1 <= vnodes <= _MAX_VNODES
        ):
            raise ShardingError(f"vnodes={shown(vnodes)} must be an int in [1, {_MAX_VNODES}]")
        if layout not in ("ketama", "xxh3"):
            raise ShardingError(f"layout={shown(layout)} must be 'ketama' or 'xxh3'")
        given = {} if weights is None else weights
        if not isinstance(given, dict):
            raise ShardingError(f"weights={shown(weights)} must be a dict of shard -> weight")
        unknown = set(given) - set(names)
        if unknown:
            raise ShardingError(f"weights names shards {sorted(map(repr, unknown))} not in shards")
        self._weights = {n: _check_weight(given.get(n, 1.0), f"weights[{n!r}]") for n in names}
        self.vnodes = vnodes
        self.layout: Layout = layout
        self._build()

    def __repr__(self) -> str:
        names = list(self._weights)
        return f"ConsistentHashRing({names!r}, vnodes={self.vnodes}, layout={self.layout!r})"

    def _counts(self, weights: dict[str, float], what: str) -> dict[str, int]:
        """Virtual nodes per shard for ``weights``; a shard that would get none is refused
        (it would receive no key at all, silently) with :class:`ShardingError`."""
        total = sum(weights.values())
        n = len(weights)
        counts = {}
        for name, weight in weights.items():
            if self.layout == "ketama":
                # ketama's count, integer arithmetic as uhashring does it
                counts[name] = int((self.vnodes * n * weight) // total)
            else:
                counts[name] = max(1, round(self.vnodes * n * weight / total))
        empty = [name for name, count in counts.items() if count == 0]
        if empty:
            raise ShardingError(
                f"{what}: shard {shown(empty[0])} (weight {weights[empty[0]]:g} of {total:g}) "
                f"would get no point on the ring with vnodes={self.vnodes}: it would receive no "
                "key; raise its weight or vnodes"
            )
        return counts

    def _build(self, counts: dict[str, int] | None = None) -> None:
        ring: dict[int, str] = {}
        counts = counts or self._counts(self._weights, "ConsistentHashRing")
        for name, count in counts.items():
            if self.layout == "ketama":
                points = _ketama_points(name, count)  # checked names; count from vnodes
            else:
                points = [xxh3_64_intdigest(f"{name}-{w}".encode()) >> 32 for w in range(count)]
            for point in points:
                ring[point] = name  # a collision goes to the later shard, as in ketama clients
        self._points = sorted(ring)
        self._owners = [ring[p] for p in self._points]

    @property
    def shards(self) -> tuple[str, ...]:
        return tuple(self._weights)

    @property
    def points(self) -> int:
        """How many points the ring holds."""
        return len(self._points)

    def shard_for(self, key: Key) -> str:
        data = key_bytes(key)
        h = _ketama_hash(data) if self.layout == "ketama" else xxh3_64_intdigest(data) >> 32
        i = bisect_right(self._points, h)
        return self._owners[i if i < len(self._owners) else 0]

    def add(self, shard: str, weight: float = 1.0) -> None:
        name = check_shard_name(shard)
        w = _check_weight(weight)
        if name in self._weights:
            raise ShardingError(f"add: shard={shown(name)} is there already")
        weights = {**self._weights, name: w}
        counts = self._counts(weights, "add")  # refused before anything changes
        self._weights = weights
        self._build(counts)

    def remove(self, shard: str) -> None:
        name = check_shard_name(shard)
        if name not in self._weights:
            raise ShardingError(
                f"remove: shard={shown(name)} is unknown; shards are {list(self._weights)}"
            )
        if len(self._weights) == 1:
            raise ShardingError(f"remove: shard={shown(name)} is the last one")
        weights = {k: v for k, v in self._weights.items() if k != name}
        counts = self._counts(weights, "remove")  # refused before anything changes
        self._weights = weights
        self._build(counts)
