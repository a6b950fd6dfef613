"""Vitess-style keyspaces: shards named by keyspace-id ranges, and vindexes that map rows to them.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

Vitess does not hash rows straight onto shards. A *vindex* maps the sharding column's value to a
64-bit *keyspace id*, and each shard owns a contiguous range of keyspace ids, named by the hex
prefixes of its bounds: ``-80`` holds ids below ``0x80...``, ``80-`` the rest, ``40-80`` the
quarter between. Splitting a shard in two is then a change of ranges (``-80`` becomes ``-40`` and
``40-80``), not of hashes: no key outside the split shard moves, and the shards of a keyspace must
cover the whole id space without gaps or overlaps, which :class:`ShardMap` checks
(:func:`contiguous` checks a part of it: the shards a resharding moves, see
:mod:`~designpatterns_ref.sharding.resharding`).

Two vindexes: :class:`HashVindex` (keyspace id = a 64-bit hash of the value, spreading rows
evenly; Vitess uses a DES-based reversible hash, this one xxh3) and :class:`LookupVindex` (an
explicit table from value to keyspace id, for columns that cannot be hashed into place, such as
an email that must find its user's shard).

Complexity: O(log shards) to find a keyspace id's shard; O(1) per vindex lookup.

>>> shards = ShardMap(["-80", "80-"])
>>> shards.shard_for_id(0x10 << 56), shards.shard_for_id(0xC0 << 56)
('-80', '80-')
>>> ShardMap(["-80", "90-"])
Traceback (most recent call last):
...
designpatterns_ref.sharding.base.ShardingError: shards leave a gap between 80 and 90
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from xxhash import xxh3_64_intdigest

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding.base import Key, ShardingError, key_bytes

__all__ = [
    "SPACE",
    "HashVindex",
    "KeyRange",
    "LookupVindex",
    "ShardMap",
    "Vindex",
    "contiguous",
]

SPACE = 1 << 64  #: keyspace ids are 64-bit unsigned integers


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Keyspace ids ``start <= id < end``, named as Vitess names shards (``"40-80"``)."""

    start: int
    end: int

    @classmethod
    def parse(cls, name: object) -> KeyRange:
        """``"-80"`` -> ``[0, 0x80 << 56)``; ``"-"`` is the whole space."""
        if not isinstance(name, str) or name.count("-") != 1:
            raise ShardingError(
                f"shard={shown(name)} must be a range name like '-80', '40-80' or '80-'"
            )
        low, high = name.split("-")
        return cls(_bound(low, name, 0), _bound(high, name, SPACE))

    @property
    def name(self) -> str:
        return f"{_hex(self.start, '')}-{_hex(self.end, '')}"

    def __contains__(self, keyspace_id: object) -> bool:
        return isinstance(keyspace_id, int) and self.start <= keyspace_id < self.end

    def split(self, parts: int = 2) -> list[KeyRange]:
        """This range cut into ``parts`` equal ranges (``parts`` a power of two)."""
        if not isinstance(parts, int) or parts < 2 or parts & (parts - 1) or parts > 256:
            raise ShardingError(f"parts={shown(parts)} must be a power of two in [2, 256]")
        step = (self.end - self.start) // parts
        cuts = [self.start + i * step for i in range(parts)] + [self.end]
        return [KeyRange(a, b) for a, b in pairwise(cuts)]


def _bound(text: str, name: str, empty: int) -> int:
    if text == "":
        return empty
    if len(text) > 16 or any(c not in "0123456789abcdef" for c in text):
        raise ShardingError(
            f"shard={shown(name)}: {shown(text)} must be up to 16 lower-case hex digits"
        )
    return int(text, 16) << (4 * (16 - len(text)))


def _hex(value: int, empty: str) -> str:
    if value in (0, SPACE):
        return empty
    digits = f"{value:016x}".rstrip("0")
    return digits + "0" * (len(digits) % 2)  # whole bytes, as Vitess writes them


def contiguous(shards: Iterable[str], name: str = "shards") -> tuple[list[KeyRange], KeyRange]:
    """The ranges of ``shards`` in order and the one range they cover together, without a gap
    or an overlap (a part of the keyspace: the shards a resharding moves, or all of them)."""
    if isinstance(shards, str) or not isinstance(shards, Iterable):
        raise ShardingError(f"{name}={shown(shards)} must be an iterable of range names")
    ranges = sorted((KeyRange.parse(s) for s in shards), key=lambda r: (r.start, r.end))
    if not ranges:
        raise ShardingError(f"{name}=[] is empty: a keyspace needs at least one shard")
    position = ranges[0].start
    for r in ranges:
        if r.start >= r.end:
            raise ShardingError(f"shard {shown(r.name)} is empty: its start is not below its end")
        if r.start > position:
            raise ShardingError(
                f"{name} leave a gap between {_hex(position, '')} and {_hex(r.start, '')}"
            )
        if r.start < position:
            raise ShardingError(f"shard {shown(r.name)} overlaps the shard before it")
        position = r.end
    return ranges, KeyRange(ranges[0].start, position)


class ShardMap:
    """The serving shards of a keyspace: ranges that cover ``[0, 2**64)`` exactly once."""

    def __init__(self, shards: Iterable[str]) -> None:
        ranges, covered = contiguous(shards)
        if covered.start != 0:
            raise ShardingError(
                f"shards leave a gap before {_hex(covered.start, '')}: the first shard must "
                f"start where the keyspace does (a name like '-{_hex(covered.start, '')}')"
            )
        if covered.end != SPACE:
            raise ShardingError(f"shards leave a gap after {_hex(covered.end, '')}")
        self.ranges = ranges
        self._starts = [r.start for r in ranges]
        self.names = [r.name for r in ranges]

    def __repr__(self) -> str:
        return f"ShardMap({self.names!r})"

    def shard_for_id(self, keyspace_id: int) -> str:
        """The shard owning ``keyspace_id``."""
        if (
            not isinstance(keyspace_id, int)
            or isinstance(keyspace_id, bool)
            or not 0 <= keyspace_id < SPACE
        ):
            raise ShardingError(f"keyspace_id={shown(keyspace_id)} must be an int in [0, 2**64)")
        return self.names[bisect_right(self._starts, keyspace_id) - 1]

    def range_of(self, shard: str) -> KeyRange:
        if shard not in self.names:
            raise ShardingError(f"shard={shown(shard)} is not serving; shards are {self.names}")
        return self.ranges[self.names.index(shard)]


class Vindex:
    """Maps a sharding column's value to a keyspace id."""

    def keyspace_id(self, value: Key) -> int:  # pragma: no cover - interface
        raise NotImplementedError


class HashVindex(Vindex):
    """Keyspace id = xxh3_64 of the value (ints as their decimal digits): an even spread."""

    def keyspace_id(self, value: Key) -> int:
        return xxh3_64_intdigest(key_bytes(value, "value"))


class LookupVindex(Vindex):
    """Keyspace id looked up in a table (value -> keyspace id); unknown values are refused."""

    def __init__(self, table: dict[Key, int] | None = None) -> None:
        if table is not None and not isinstance(table, Mapping):
            raise ShardingError(
                f"table={shown(table, 80)} must be a dict of value -> keyspace id, or None"
            )
        self._table: dict[bytes, int] = {}
        for value, ksid in (table or {}).items():
            self.set(value, ksid)

    def set(self, value: Key, keyspace_id: int) -> None:
        """Point ``value`` at ``keyspace_id`` (as a lookup table's row would)."""
        data = key_bytes(value, "value")
        if (
            not isinstance(keyspace_id, int)
            or isinstance(keyspace_id, bool)
            or not 0 <= keyspace_id < SPACE
        ):
            raise ShardingError(f"keyspace_id={shown(keyspace_id)} must be an int in [0, 2**64)")
        self._table[data] = keyspace_id

    def keyspace_id(self, value: Key) -> int:
        data = key_bytes(value, "value")
        try:
            return self._table[data]
        except KeyError:
            raise ShardingError(f"value={shown(value)} is not in the lookup vindex") from None
