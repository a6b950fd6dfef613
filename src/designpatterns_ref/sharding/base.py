"""Shared types of the sharding family: the placement interface, key hashing and errors.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

Every placement scheme (:class:`~designpatterns_ref.sharding.modulo.ModuloPlacement`,
:class:`~designpatterns_ref.sharding.ring.ConsistentHashRing`,
:class:`~designpatterns_ref.sharding.rendezvous.RendezvousPlacement`,
:class:`~designpatterns_ref.sharding.jump.JumpPlacement`,
:class:`~designpatterns_ref.sharding.maglev.MaglevPlacement`) answers one question,
``shard_for(key) -> shard name``, and grows or shrinks with ``add`` and ``remove``, so a student
swaps one for another in one line and measures what each costs when the cluster changes.

Keys are ``str``, ``bytes`` or ``int``; strings are hashed as UTF-8 and ints as their decimal
text, so ``42`` and ``"42"`` land on the same shard. Anything else raises :class:`ShardingError`.

Complexity: :func:`key_bytes` is O(len(key)).

>>> key_bytes("user:7"), key_bytes(7)
(b'user:7', b'7')
>>> key_bytes(None)
Traceback (most recent call last):
...
designpatterns_ref.sharding.base.ShardingError: key=None must be a str, bytes or int
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "Key",
    "Placement",
    "ShardingError",
    "check_shard_name",
    "check_shards",
    "key_bytes",
]

Key = str | bytes | int


class ShardingError(DesignPatternsError, ValueError):
    """A key, shard name, weight or layout of the sharding family is invalid."""


def key_bytes(key: object, name: str = "key") -> bytes:
    """The bytes a placement hashes for ``key`` (UTF-8 text, or an int's decimal digits)."""
    if isinstance(key, str):
        try:
            return key.encode()
        except UnicodeEncodeError:
            raise ShardingError(f"{name}={shown(key, 80)} is not encodable as UTF-8") from None
    if isinstance(key, bytes):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        if abs(key) >= 1 << 128:
            raise ShardingError(
                f"{name}={shown(key, 80)} is out of range: ints must lie within +-2**128"
            )
        return str(key).encode()
    raise ShardingError(f"{name}={shown(key, 80)} must be a str, bytes or int")


def check_shard_name(shard: object, name: str = "shard") -> str:
    """A shard name: a non-empty str without NUL or lone surrogates."""
    if not isinstance(shard, str) or not shard:
        raise ShardingError(f"{name}={shown(shard)} must be a non-empty str")
    try:
        shard.encode()
    except UnicodeEncodeError:
        raise ShardingError(f"{name}={shown(shard)} is not encodable as UTF-8") from None
    if "\x00" in shard:
        raise ShardingError(f"{name}={shown(shard)} must not contain NUL")
    return shard


def check_shards(shards: object, *, allow_empty: bool = False) -> list[str]:
    """A list of distinct shard names, in the order given."""
    if isinstance(shards, str | bytes) or not isinstance(shards, Iterable):
        raise ShardingError(f"shards={shown(shards)} must be an iterable of shard names")
    names = [check_shard_name(s) for s in shards]
    if not names and not allow_empty:
        raise ShardingError("shards=[] is empty: a placement needs at least one shard")
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ShardingError(f"shards lists {dupes} more than once")
    return names


@runtime_checkable
class Placement(Protocol):
    """Where a key lives: every scheme maps a key to one of its shards."""

    @property
    def shards(self) -> tuple[str, ...]:
        """The shards, in the order they were added."""
        ...

    def shard_for(self, key: Key) -> str:
        """The shard holding ``key``."""
        ...

    def add(self, shard: str, weight: float = 1.0) -> None:
        """Add a shard (refused if it is there already)."""
        ...

    def remove(self, shard: str) -> None:
        """Remove a shard (refused if it is unknown or the last one)."""
        ...
