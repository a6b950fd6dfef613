"""A B+tree index reduced to what the cost model needs: sorted entries, leaves and height.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

Entries are tuples ``(key, ...)`` kept in key order (a ``SortedList``); the tree's shape is
derived from the count: leaves hold ``page_size // entry_size`` entries, inner pages fan out
as widely, so a lookup reads :meth:`CountedIndex.height` pages (root to leaf) and a range scan
reads one more page for every further leaf it crosses. Adding an entry writes its leaf; when
the leaf count grows, the split writes the new leaf and its parent too. This keeps the
counters honest about *how many* pages each operation touches without simulating node
splits byte by byte.

Complexity: O(log n) per insert, remove and seek (sortedcontainers).

>>> index = CountedIndex("city", page_size=1024, entry_size=32)   # 32 entries a leaf
>>> tuple(index.insert((f"c{i:03}", i)) for i in range(3))   # pages written
(1, 1, 1)
>>> index.height(), index.leaves()
(1, 1)
>>> for i in range(3, 40):
...     _ = index.insert((f"c{i:03}", i))
>>> index.height(), index.leaves()
(2, 2)
>>> tuple(e[1] for e in index.range("c010", "c013"))
(10, 11, 12)
"""

from __future__ import annotations

from typing import Any

from sortedcontainers import SortedList

from designpatterns_ref.storage.base import Value

__all__ = ["CountedIndex"]


class CountedIndex:
    """Sorted index entries with a B+tree's page counts (height, leaves, splits)."""

    def __init__(self, name: str, *, page_size: int, entry_size: int = 32) -> None:
        self.name = name
        self.capacity = max(4, page_size // entry_size)
        self.entries: SortedList = SortedList()

    def __len__(self) -> int:
        return len(self.entries)

    def leaves(self) -> int:
        """Leaf pages: entries divided by a leaf's capacity, at least one."""
        return max(1, -(-len(self.entries) // self.capacity))

    def height(self) -> int:
        """Pages on the way from the root to a leaf."""
        levels, pages = 1, self.leaves()
        while pages > 1:
            pages = -(-pages // self.capacity)
            levels += 1
        return levels

    def leaf_of(self, entry: tuple[Any, ...]) -> int:
        """The leaf page number an entry lives on."""
        return int(self.entries.bisect_left(entry)) // self.capacity

    def insert(self, entry: tuple[Any, ...]) -> int:
        """Add an entry; returns the pages written (its leaf, plus two on a split)."""
        before = self.leaves()
        self.entries.add(entry)
        return 1 if self.leaves() == before else 3

    def remove(self, entry: tuple[Any, ...]) -> None:
        """Drop an entry that is present."""
        self.entries.remove(entry)

    def discard(self, entry: tuple[Any, ...]) -> None:
        """Drop an entry if present."""
        self.entries.discard(entry)

    def matching(self, key: Value) -> list[tuple[Any, ...]]:
        """Entries whose key equals ``key``, in order."""
        out = []
        for entry in self.entries.islice(self.entries.bisect_left((key,))):
            if entry[0] != key:
                break
            out.append(entry)
        return out

    def range(self, low: Value | None, high: Value | None) -> list[tuple[Any, ...]]:
        """Entries with ``low <= key < high`` (``None``: unbounded), in order."""
        start = 0 if low is None else self.entries.bisect_left((low,))
        stop = len(self.entries) if high is None else self.entries.bisect_left((high,))
        return list(self.entries.islice(start, max(start, stop)))

    def range_pages(self, found: int) -> int:
        """Pages a range scan reads: one descent, then one more leaf per ``capacity`` entries."""
        return self.height() + max(0, -(-found // self.capacity) - 1)
