"""Sharding: where a key lives, and what moves when the cluster grows.

Case studies: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md) and
Notion's Postgres Migration (docs/case-studies/notion-postgres.md).

Placement schemes behind one interface (``shard_for(key) -> shard``, ``add``, ``remove``):
:class:`ModuloPlacement` (the baseline), :class:`ConsistentHashRing` (virtual nodes and weights,
ketama-compatible), :class:`RendezvousPlacement` (highest random weight), :class:`JumpPlacement`
(Lamping and Veach) and :class:`MaglevPlacement` (Google's lookup table); and Redis Cluster's
hash slots (:func:`keyslot`).
"""

from __future__ import annotations

from designpatterns_ref.sharding.base import Key, Placement, ShardingError, key_bytes
from designpatterns_ref.sharding.jump import JumpPlacement, jump_hash
from designpatterns_ref.sharding.maglev import MaglevPlacement
from designpatterns_ref.sharding.modulo import ModuloPlacement
from designpatterns_ref.sharding.rendezvous import RendezvousPlacement
from designpatterns_ref.sharding.ring import ConsistentHashRing, ketama_points
from designpatterns_ref.sharding.slots import SLOTS, crc16, hash_tag, keyslot

__all__ = [
    "SLOTS",
    "ConsistentHashRing",
    "JumpPlacement",
    "Key",
    "MaglevPlacement",
    "ModuloPlacement",
    "Placement",
    "RendezvousPlacement",
    "ShardingError",
    "crc16",
    "hash_tag",
    "jump_hash",
    "ketama_points",
    "key_bytes",
    "keyslot",
]
