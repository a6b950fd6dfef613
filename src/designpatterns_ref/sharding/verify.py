"""A resharding's verification: each target against the source rows in its range, as multisets.

Case study: GitHub's Migration from MySQL to Vitess (docs/case-studies/github-vitess.md)

Both sides are multisets of whole rows: every source row in the target's range counts, as read
(never collected under a key, which would fold two rows into one the way a wrong key folds them
on the target), so a row the copy lost or overwrote changes the count or the checksum (the sum
of the rows' hashes mod 2**64, which no order of reading changes). After cut-over the sources
are fenced and the targets take the writes, so each target is compared with the source rows in
its range with the target's own change log (every write since the cut-over, empty before it:
a target is always made empty) replayed on top: a change replaces every row of its order
``(id, customer)``.

Complexity: O(source rows + target rows + target changes).

>>> Verification({"-80": (3, 3)}, {"-80": (7, 7)}).ok
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xxhash import xxh3_64_intdigest

from designpatterns_ref.sharding.keyspace import KeyRange
from designpatterns_ref.sharding.sql import ShardDatabases

__all__ = ["Verification", "compare"]


@dataclass(frozen=True, slots=True)
class Verification:
    """Per target shard: (source rows, target rows) counts and checksums; ``ok`` if all equal."""

    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    checksums: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(a == b for a, b in self.counts.values()) and all(
            a == b for a, b in self.checksums.values()
        )


def _digest(rows: list[tuple[int, str, int]]) -> tuple[int, int]:
    """Row count and an order-independent checksum (sum of row hashes mod 2**64)."""
    total = 0
    for row in rows:
        total = (total + xxh3_64_intdigest(repr(tuple(row)).encode())) & ((1 << 64) - 1)
    return len(rows), total


def compare(db: ShardDatabases, source: list[str], ranges: dict[str, KeyRange]) -> Verification:
    """Counts and checksums of each target (``ranges``: target -> its key range) against the
    rows of ``source`` in its range, with the target's change log replayed on top."""
    source_rows = [
        row
        for shard in source
        for row in db.query(shard, "SELECT id, customer, ksid, amount FROM orders")
    ]
    counts, sums = {}, {}
    for target, key_range in ranges.items():
        last: dict[tuple[int, str], tuple[str, int]] = {}  # the latest change of an order
        for op, id, customer, amount in db.query(
            target, "SELECT op, id, customer, amount FROM changes ORDER BY seq"
        ):
            last[(id, customer)] = (op, amount)
        mine = [
            (i, c, a)
            for i, c, k, a in source_rows
            if int(k, 16) in key_range and (i, c) not in last
        ]
        mine += [(i, c, a) for (i, c), (op, a) in last.items() if op != "delete"]
        theirs = db.query(target, "SELECT id, customer, amount FROM orders")
        (n1, s1), (n2, s2) = _digest(mine), _digest(theirs)
        counts[target], sums[target] = (n1, n2), (s1, s2)
    return Verification(counts, sums)
