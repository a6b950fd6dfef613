"""Notion's layout: many logical shards on few physical hosts, keyed by workspace.

Case study: Notion's Postgres Migration: rethinking the schema
(docs/case-studies/notion-postgres.md)

Notion split its blocks table into 480 logical shards (Postgres schemas) spread over 32 physical
databases, 15 each, and chose the workspace id as the shard key, so every block of a workspace,
and so every block of a page, lives in one logical shard. Two consequences this module makes
measurable:

- **Growth moves whole logical shards.** Adding a host never rehashes a key: some logical shards
  (schemas) move to it, whole, until the hosts are even again. 480 has many divisors
  (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 16, 20, 24, 30, 32, 40, 48, 60, 80, 96, 120, 160, 240), so
  many fleet sizes divide it evenly.
- **The shard key decides the fan-out.** With the workspace as key a page load touches one shard;
  with the block id as key the same page's blocks scatter over nearly as many shards as it has
  blocks (:func:`page_fanout`).

Complexity: O(1) per lookup; ``add_host`` moves O(logical / hosts) shards.

>>> fleet = LogicalShards(["db1", "db2"], logical=480)
>>> fleet.load()
{'db1': 240, 'db2': 240}
>>> moves = fleet.add_host("db3")
>>> len(moves), fleet.load()
(160, {'db1': 160, 'db2': 160, 'db3': 160})
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from xxhash import xxh3_64_intdigest

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding.base import (
    Key,
    ShardingError,
    check_shard_name,
    check_shards,
    key_bytes,
)

__all__ = ["LogicalShards", "page_fanout"]


class LogicalShards:
    """``logical`` logical shards (``hash(key) % logical``) assigned to physical ``hosts``."""

    def __init__(self, hosts: Iterable[str], *, logical: int = 480) -> None:
        names = check_shards(hosts)
        if not isinstance(logical, int) or isinstance(logical, bool) or not 1 <= logical <= 1 << 20:
            raise ShardingError(f"logical={shown(logical)} must be an int in [1, 2**20]")
        if len(names) > logical:
            raise ShardingError(f"{len(names)} hosts cannot share {logical} logical shards")
        self.logical = logical
        # deal the logical shards out in contiguous runs, as Notion did (15 schemas a database)
        self.owner = [names[i * len(names) // logical] for i in range(logical)]
        self._hosts = names

    def __repr__(self) -> str:
        return f"LogicalShards({self._hosts!r}, logical={self.logical})"

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(self._hosts)

    def logical_shard(self, key: Key) -> int:
        """The logical shard of ``key`` (a workspace id): ``xxh3_64(key) % logical``."""
        return xxh3_64_intdigest(key_bytes(key)) % self.logical

    def host_for(self, key: Key) -> str:
        return self.owner[self.logical_shard(key)]

    def load(self) -> dict[str, int]:
        """Logical shards per host."""
        counts = dict.fromkeys(self._hosts, 0)
        for host in self.owner:
            counts[host] += 1
        return counts

    def add_host(self, host: str) -> list[tuple[int, str, str]]:
        """Add ``host`` and move whole logical shards to it from the fullest hosts until even.

        Returns the moves as ``(logical shard, from host, to host)``.
        """
        name = check_shard_name(host, "host")
        if name in self._hosts:
            raise ShardingError(f"add_host: host={shown(name)} is there already")
        if len(self._hosts) + 1 > self.logical:
            raise ShardingError(f"add_host: {self.logical} logical shards cannot fill another host")
        self._hosts.append(name)
        want = self.logical // len(self._hosts)
        load = self.load()
        moves = []
        while load[name] < want:
            source = max((h for h in self._hosts if h != name), key=lambda h: (load[h], h))
            shard = max(i for i, owner in enumerate(self.owner) if owner == source)
            self.owner[shard] = name
            load[source] -= 1
            load[name] += 1
            moves.append((shard, source, name))
        return moves

    def remove_host(self, host: str) -> list[tuple[int, str, str]]:
        """Remove ``host``, handing each of its logical shards to the least-loaded host."""
        name = check_shard_name(host, "host")
        if name not in self._hosts:
            raise ShardingError(
                f"remove_host: host={shown(name)} is unknown; hosts are {self._hosts}"
            )
        if len(self._hosts) == 1:
            raise ShardingError(f"remove_host: host={shown(name)} is the last one")
        self._hosts.remove(name)
        load = dict.fromkeys(self._hosts, 0)
        for owner in self.owner:
            if owner != name:
                load[owner] += 1
        moves = []
        for shard, owner in enumerate(self.owner):
            if owner == name:
                to = min(load, key=lambda h: (load[h], h))
                self.owner[shard] = to
                load[to] += 1
                moves.append((shard, name, to))
        return moves


def page_fanout(blocks: Sequence[tuple[Key, Key]], *, logical: int = 480) -> tuple[int, int]:
    """Logical shards one page load touches, keyed by workspace and keyed by block id.

    ``blocks`` are ``(workspace_id, block_id)`` pairs of one page (a sequence of them, each id
    a str, bytes or int key). Returns ``(by workspace, by block)``: 1 and, for a page
    of ``b`` blocks, close to ``min(b, logical)``. Raises :class:`ShardingError` naming the
    first bad pair or id.
    """
    if not isinstance(logical, int) or isinstance(logical, bool) or logical < 1:
        raise ShardingError(f"logical={shown(logical)} must be an int >= 1")
    if not isinstance(blocks, Sequence) or isinstance(blocks, str | bytes | bytearray):
        raise ShardingError(
            f"blocks={shown(blocks, 60)} must be a list or tuple of (workspace_id, block_id) pairs"
        )
    pairs = []
    for i, pair in enumerate(blocks):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ShardingError(
                f"blocks[{i}]={shown(pair, 60)} must be a (workspace_id, block_id) pair"
            )
        pairs.append((key_bytes(pair[0], f"blocks[{i}][0]"), key_bytes(pair[1], f"blocks[{i}][1]")))
    by_workspace = {xxh3_64_intdigest(w) % logical for w, _ in pairs}
    by_block = {xxh3_64_intdigest(b) % logical for _, b in pairs}
    return len(by_workspace), len(by_block)
