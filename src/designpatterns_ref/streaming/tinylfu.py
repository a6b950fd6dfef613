"""TinyLFU admission: let a missed item in only if it is asked for more than what it evicts.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

A Count-Min sketch (:class:`CountMinSketch`) estimates how often each key was asked for lately:
``depth`` rows of ``width`` counters, one cell per row from the row's own hash function (a
multiply-shift hash with its own multiplier, so two keys that share a cell in one row rarely
share one in another), the estimate is the smallest of a key's cells, so it never
undercounts; every ``sample`` additions all counters are halved, so old popularity fades
(Einziger, Friedman and Manes, ACM Transactions on Storage 2017).

- :class:`TinyLFUCache`: an LRU whose *admission* is guarded by the sketch: on a miss with a full
  cache, the candidate enters only if its estimate beats the LRU victim's. The long tail's
  one-hit wonders never flush the popular head. Under churn it is slow to admit new releases,
  which start with low counts.
- :class:`WTinyLFUCache`: Window-TinyLFU, the design Caffeine ships: every new item first enters a
  small LRU *window* (1% of the bytes); what the window evicts competes, through the sketch, with
  the victim of the main cache, a segmented LRU (20% probation, 80% protected; a hit in
  probation promotes). The window catches bursts of recency; the filter keeps the frequent.

Complexity: O(depth) per access for the sketch, O(1) amortised for the LRU segments.

>>> tiny = TinyLFUCache(2, width=64)
>>> tuple(tiny.access(k, 1) for k in "aabbc")
(False, True, False, True, False)
>>> "c" in tiny  # seen once, it could not displace a key seen twice
False
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from designpatterns_ref.streaming.base import check_int, check_number
from designpatterns_ref.streaming.caches import LRUCache, check_key, check_size

__all__ = ["CountMinSketch", "TinyLFUCache", "WTinyLFUCache", "sketch_for"]

_MASK64 = (1 << 64) - 1


def _spread(x: int) -> int:
    """splitmix64's finalizer: each bit of the 64-bit ``x`` moves about half the bits of the
    result (Python hashes small ints to themselves, so the low bits alone would not do)."""
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK64
    return x ^ (x >> 31)


#: One odd 64-bit multiplier per row (up to the largest depth, 8), fixed so runs repeat.
_ROW_MULTIPLIERS = tuple(_spread(0x9E3779B97F4A7C15 * (i + 1) & _MASK64) | 1 for i in range(8))


class CountMinSketch:
    """Approximate counts that never undercount; halved every ``sample`` increments (aging).

    >>> cms = CountMinSketch(width=64, depth=4, sample=1000)
    >>> for _ in range(5):
    ...     cms.add("x")
    >>> cms.estimate("x") >= 5
    True
    """

    def __init__(self, width: int = 1024, depth: int = 4, sample: int = 10_000) -> None:
        self.width = check_int("width", width, minimum=1, maximum=1 << 20)
        self.depth = check_int("depth", depth, minimum=1, maximum=8)
        self.sample = check_int("sample", sample, minimum=1, maximum=10**12)
        self._rows = [[0] * self.width for _ in range(self.depth)]
        self._multipliers = _ROW_MULTIPLIERS[: self.depth]
        self.additions = 0

    def _cells(self, key: Hashable) -> list[int]:
        """One cell a row: the key's hash spread over 64 bits, then multiply-shift hashing
        with the row's own odd multiplier (the top bits of ``x * a mod 2**64``, scaled to
        ``width``). The rows must be independent: a key pair that shares a cell in one row
        should not share it in the others, or the minimum over rows protects nothing."""
        x = _spread(hash(key) & _MASK64)
        width = self.width
        return [((x * a) & _MASK64) * width >> 64 for a in self._multipliers]

    def add(self, key: Hashable) -> None:
        """Count one more access to ``key`` (halving every counter every ``sample`` adds)."""
        key = check_key(key)
        for row, cell in zip(self._rows, self._cells(key), strict=True):
            row[cell] += 1
        self.additions += 1
        if self.additions >= self.sample:
            self.additions = 0
            for row in self._rows:
                row[:] = [c >> 1 for c in row]

    def estimate(self, key: Hashable) -> int:
        """The smallest of the key's counters: at least its true (aged) count."""
        key = check_key(key)
        return min(row[cell] for row, cell in zip(self._rows, self._cells(key), strict=True))


def sketch_for(
    entries: int | None = None, width: int | None = None, sample: int | None = None
) -> CountMinSketch:
    """A sketch sized for a cache of about ``entries`` items (Caffeine's rule of thumb).

    Four counters per expected entry (at least 256), halved every ten times ``entries``
    accesses; without ``entries``, 4096 counters halved every 40,960 accesses.
    """
    if entries is not None:
        entries = check_int("entries", entries, minimum=1, maximum=1 << 18)
    if width is None:
        width = 4096 if entries is None else max(256, 4 * entries)
    width = check_int("width", width, minimum=1, maximum=1 << 20)
    if sample is None:
        sample = 10 * (width if entries is None else entries)
    return CountMinSketch(width=width, depth=4, sample=sample)


class TinyLFUCache:
    """An LRU cache behind a TinyLFU admission filter (a Count-Min sketch of frequencies)."""

    def __init__(
        self,
        capacity: int,
        *,
        entries: int | None = None,
        width: int | None = None,
        sample: int | None = None,
    ) -> None:
        self._lru = LRUCache(capacity)
        self.capacity = self._lru.capacity
        self.name = "TinyLFU"
        self.sketch = sketch_for(entries, width, sample)
        self.rejected = 0

    @property
    def used(self) -> int:
        """Bytes held."""
        return self._lru.used

    def __contains__(self, key: object) -> bool:
        return key in self._lru

    def __len__(self) -> int:
        return len(self._lru)

    def access(self, key: Hashable, size: int) -> bool:
        size = check_size(size)
        key = check_key(key)
        self.sketch.add(key)
        lru = self._lru
        if key in lru:
            lru.access(key, size)
            return True
        if lru.used + size > lru.capacity:
            victim = lru.victim()
            if victim is not None and self.sketch.estimate(key) <= self.sketch.estimate(victim):
                self.rejected += 1
                return False
        lru.admit(key, size)
        return False


class WTinyLFUCache:
    """Window-TinyLFU: a small LRU window, then TinyLFU admission into a segmented LRU."""

    def __init__(
        self,
        capacity: int,
        *,
        window: float = 0.01,
        protected: float = 0.8,
        entries: int | None = None,
        width: int | None = None,
        sample: int | None = None,
    ) -> None:
        self.capacity = check_int("capacity", capacity, minimum=1, maximum=10**15)
        window = check_number("window", window, strict=True, limit=1.0)
        protected = check_number("protected", protected, limit=1.0)
        sketch = sketch_for(entries, width, sample)
        self.name = "W-TinyLFU"
        self.window_capacity = max(1, int(self.capacity * window))
        self.main_capacity = self.capacity - self.window_capacity
        self.protected_capacity = int(self.main_capacity * protected)
        self.sketch = sketch
        self._window: OrderedDict[Hashable, int] = OrderedDict()
        self._probation: OrderedDict[Hashable, int] = OrderedDict()
        self._protected: OrderedDict[Hashable, int] = OrderedDict()
        self._bytes = {"window": 0, "probation": 0, "protected": 0}
        self.rejected = 0

    @property
    def used(self) -> int:
        """Bytes held in the three segments."""
        return sum(self._bytes.values())

    def __contains__(self, key: object) -> bool:
        return key in self._window or key in self._probation or key in self._protected

    def __len__(self) -> int:
        return len(self._window) + len(self._probation) + len(self._protected)

    def access(self, key: Hashable, size: int) -> bool:
        size = check_size(size)
        key = check_key(key)
        self.sketch.add(key)
        if key in self._window:
            self._window.move_to_end(key)
            return True
        if key in self._protected:
            self._protected.move_to_end(key)
            return True
        if key in self._probation:  # a second hit: promote, demoting protected's coldest
            stored = self._probation.pop(key)
            self._bytes["probation"] -= stored
            self._protected[key] = stored
            self._bytes["protected"] += stored
            while self._bytes["protected"] > self.protected_capacity and self._protected:
                old, old_size = self._protected.popitem(last=False)
                self._bytes["protected"] -= old_size
                self._probation[old] = old_size
                self._bytes["probation"] += old_size
            return True
        if size > self.capacity:
            return False
        self._window[key] = size
        self._bytes["window"] += size
        while self._bytes["window"] > self.window_capacity:
            candidate, candidate_size = self._window.popitem(last=False)
            self._bytes["window"] -= candidate_size
            self._admit(candidate, candidate_size)
        return False

    def _main_victim(self) -> Hashable | None:
        for segment in (self._probation, self._protected):
            if segment:
                return next(iter(segment))
        return None

    def _admit(self, key: Hashable, size: int) -> None:
        """The window's evictee enters probation if it beats the main cache's victim."""
        if size > self.main_capacity:
            self.rejected += 1
            return
        main = self._bytes["probation"] + self._bytes["protected"]
        if main + size > self.main_capacity:
            victim = self._main_victim()
            if victim is not None and self.sketch.estimate(key) <= self.sketch.estimate(victim):
                self.rejected += 1
                return
        while self._bytes["probation"] + self._bytes["protected"] + size > self.main_capacity:
            segment = "probation" if self._probation else "protected"
            _, freed = getattr(self, f"_{segment}").popitem(last=False)
            self._bytes[segment] -= freed
        self._probation[key] = size
        self._bytes["probation"] += size
