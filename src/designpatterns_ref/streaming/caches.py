"""Byte-capacity caches for CDN edges: the LRU and LFU baselines, behind one interface.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

Every cache holds at most ``capacity`` bytes and answers ``access(key, size) -> hit``, admitting
the item on a miss (an item larger than the whole cache is never admitted):

- :class:`LRUCache`: evict the least recently used; O(1) per access over an ordered dict. Wins on
  recency (a new release everyone watches this week).
- :class:`LFUCache`: evict the least frequently used resident (ties: the least recent); O(log n)
  per access over a sorted list of (count, last access, key). Wins on a stable popular head,
  but under churn it keeps yesterday's hits too long: their counts never decay.

The TinyLFU admission filters in :mod:`~designpatterns_ref.streaming.tinylfu` build on
:class:`LRUCache`; :mod:`~designpatterns_ref.streaming.cdn` replays workloads through them.

>>> lru = LRUCache(100)
>>> tuple(lru.access(k, 40) for k in "ababca")
(False, False, True, True, False, False)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Protocol

from sortedcontainers import SortedList

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import StreamingError, StreamingTypeError, check_int

__all__ = ["Cache", "LFUCache", "LRUCache", "check_key", "check_size"]


class Cache(Protocol):
    """A byte-capacity cache: ``access`` answers hit or miss and admits on a miss."""

    name: str
    capacity: int

    @property
    def used(self) -> int:
        """Bytes held."""

    def access(self, key: Hashable, size: int) -> bool:
        """True on a hit; on a miss the item may be admitted (evicting others)."""

    def __contains__(self, key: object) -> bool: ...


def check_size(size: object) -> int:
    """``size`` as a positive int of bytes, else raise."""
    return check_int("size", size, minimum=1, maximum=10**15)


def check_key(key: object) -> Hashable:
    """``key`` if it is hashable, else raise."""
    try:
        hash(key)
    except TypeError:
        raise StreamingTypeError(f"key={shown(key, 60)} must be hashable") from None
    return key


class LRUCache:
    """Least recently used eviction over an ordered dict."""

    def __init__(self, capacity: int) -> None:
        self.capacity = check_int("capacity", capacity, minimum=1, maximum=10**15)
        self.used = 0
        self.name = "LRU"
        self._items: OrderedDict[Hashable, int] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def victim(self) -> Hashable | None:
        """The key evicted next (least recently used), or None when empty."""
        return next(iter(self._items), None)

    def access(self, key: Hashable, size: int) -> bool:
        size = check_size(size)
        key = check_key(key)
        items = self._items
        if key in items:
            items.move_to_end(key)
            return True
        self.admit(key, size)
        return False

    def admit(self, key: Hashable, size: int) -> None:
        """Insert ``key`` (evicting from the cold end); items larger than the cache are skipped."""
        size = check_size(size)
        key = check_key(key)
        if key in self._items:
            raise StreamingError(f"key={shown(key, 60)} is already cached")
        if size > self.capacity:
            return
        items = self._items
        while self.used + size > self.capacity:
            _, freed = items.popitem(last=False)
            self.used -= freed
        items[key] = size
        self.used += size


class LFUCache:
    """Least frequently used eviction among residents (ties: least recently used)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = check_int("capacity", capacity, minimum=1, maximum=10**15)
        self.used = 0
        self.name = "LFU"
        self._meta: dict[Hashable, tuple[int, int, int]] = {}  # key -> (count, tick, size)
        self._order: SortedList = SortedList()  # (count, tick, key)
        self._tick = 0

    def __contains__(self, key: object) -> bool:
        return key in self._meta

    def __len__(self) -> int:
        return len(self._meta)

    def access(self, key: Hashable, size: int) -> bool:
        size = check_size(size)
        key = check_key(key)
        self._tick += 1
        meta = self._meta.get(key)
        if meta is not None:
            count, tick, stored = meta
            self._order.remove((count, tick, key))
            self._order.add((count + 1, self._tick, key))
            self._meta[key] = (count + 1, self._tick, stored)
            return True
        if size > self.capacity:
            return False
        while self.used + size > self.capacity:
            count, tick, old = self._order.pop(0)
            self.used -= self._meta.pop(old)[2]
        self._meta[key] = (1, self._tick, size)
        self._order.add((1, self._tick, key))
        self.used += size
        return False
