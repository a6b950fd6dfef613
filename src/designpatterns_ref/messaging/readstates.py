"""Discord's read states: last-read id and mention count per (user, channel), an LRU cache
with write-back batching over SQLite or Redis.

Case study: Discord's Read States: Rewriting a Go Service in Rust
(docs/case-studies/discord-read-states.md)

Every message read or mention changes a tiny record, far too often to write each change to
disk. :class:`ReadStates` keeps the hot records in a bounded LRU (an ``OrderedDict``) and marks
changed ones dirty; dirty records are written in one transaction when ``flush_entries`` of
them have piled up, when ``flush_interval`` seconds have passed since the last flush, when a
dirty record is evicted, and on :meth:`ReadStates.close`. The interval is checked on every
call of :meth:`~ReadStates.ack`, :meth:`~ReadStates.mention`, :meth:`~ReadStates.get` and
:meth:`~ReadStates.unread` (a cache hit, an ack behind the marker included); there is no
timer thread, so while no call comes nothing is written: a crash then loses the changes since
the last flush, fewer than ``flush_entries`` records, made at most ``flush_interval`` seconds
before the last call (call :meth:`~ReadStates.flush` from your own timer to bound it in wall
time). A reload reads the rest back. A write-back that fails (store unreachable, file locked) raises
:class:`~designpatterns_ref.messaging.base.MessagingError` from the call that needed it, and that
call changes no record: the batch, with the call's own change in it, is written before the
cache changes, so the dirty records stay dirty for the next flush and the call, retried, counts
once. As in Discord's read states, the marker only moves forward: an ack past it moves it
and clears the mentions; an ack at or behind it (a late ack from a second device) changes
nothing. A mention is a count, with no message id: an ack past the marker clears every
mention counted so far, those in messages after the acked id too (the record cannot tell
them apart). That is right when the client acks the newest message it has shown, as
Discord's does; a client acking an older id than the newest mention loses that mention.
Several caches may share one store: its writes merge (see
:mod:`~designpatterns_ref.messaging.readstore`), so no cache moves a stored marker back, but
only one cache per user keeps exact mention counts. O(1) per ack or mention; O(d) per flush
of d dirty records. The durable side is a
:class:`~designpatterns_ref.messaging.readstore.ReadStateStore`: give ``path`` (a SQLite file,
:class:`~designpatterns_ref.messaging.readstore.SQLiteReadStore`) or ``store=`` (for example a
:class:`~designpatterns_ref.messaging.readstore.RedisReadStore`).

>>> rs = ReadStates(":memory:", capacity=2, flush_entries=10)
>>> rs.mention("ann", "general"); rs.mention("ann", "general"); rs.get("ann", "general")
(0, 2)
>>> rs.ack("ann", "general", 1042); rs.get("ann", "general")
(1042, 0)
>>> rs.unread("ann")
{}
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from designpatterns_ref.clock import read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import (
    MessagingError,
    MessagingTypeError,
    check_id,
    check_seq,
)
from designpatterns_ref.messaging.readstore import ReadStateStore, SQLiteReadStore

__all__ = ["ReadStates"]


class ReadStates:
    """Read markers and mention counts, cached in an LRU and written back in batches."""

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        capacity: int = 10_000,
        flush_entries: int = 256,
        flush_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        store: ReadStateStore | None = None,
    ) -> None:
        if not isinstance(path, str | Path) or (isinstance(path, str) and not path.isprintable()):
            raise MessagingTypeError(f"path={shown(path, 80)} must be a printable str or a Path")
        if store is not None and not isinstance(store, ReadStateStore):
            raise MessagingTypeError(f"store={shown(store, 80)} must be a ReadStateStore or None")
        self.capacity = check_seq("capacity", capacity, low=1, high=10**8)
        self.flush_entries = check_seq("flush_entries", flush_entries, low=1, high=10**8)
        if isinstance(flush_interval, bool) or not isinstance(flush_interval, int | float):
            raise MessagingTypeError(f"flush_interval={shown(flush_interval, 80)} must be seconds")
        if not (0 < flush_interval <= 3600):
            raise MessagingError(f"flush_interval={shown(flush_interval, 80)} must be in (0, 3600]")
        if not callable(clock):
            raise MessagingTypeError(f"clock={shown(clock, 80)} must be callable")
        self.path, self.flush_interval, self._clock = str(path), float(flush_interval), clock
        self.store: ReadStateStore = store if store is not None else SQLiteReadStore(path)
        self._cache: OrderedDict[tuple[str, str], tuple[int, int]] = OrderedDict()
        self._dirty: set[tuple[str, str]] = set()
        self._last_flush = read_seconds(clock, MessagingError, "ReadStates")
        self.flushes = 0
        self.loads = 0

    def _entry(self, key: tuple[str, str]) -> tuple[int, int]:
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        self.loads += 1
        value = self.store.load(*key) or (0, 0)
        self._put(key, value, dirty=False)
        return value

    def _put(self, key: tuple[str, str], value: tuple[int, int], *, dirty: bool) -> None:
        """Cache ``value`` (``dirty``: to be written back). A write-back this call needs (the
        batch is full, the interval has passed, a dirty record would be evicted) runs first,
        with ``value`` in the batch: when it fails, it raises and nothing has changed."""
        cache, marked = self._cache, self._dirty
        evict = next(iter(cache)) if key not in cache and len(cache) >= self.capacity else None
        pending = len(marked) + (dirty and key not in marked)
        if (
            (evict is not None and evict in marked)  # write back before forgetting a change
            or pending >= self.flush_entries
            or (pending and self._now() - self._last_flush >= self.flush_interval)
        ):
            batch = {k: cache[k] for k in marked}
            if dirty:
                batch[key] = value
            self._write(batch)  # all or none; a failure leaves the cache as it was
        elif dirty:
            marked.add(key)
        cache[key] = value
        cache.move_to_end(key)
        if evict is not None:
            del cache[evict]

    def ack(self, user: str, channel: str, msg_id: int) -> None:
        """``user`` has read ``channel`` up to ``msg_id``.

        Past the marker: the marker moves to ``msg_id`` and every mention counted so far
        clears (a mention records no message id, so one in a message after ``msg_id`` clears
        too: ack the newest message shown). At or behind it (a late ack from another device):
        nothing changes, not even the mentions.
        """
        key = (check_id("user", user), check_id("channel", channel))
        check_seq("msg_id", msg_id)
        last, _ = self._entry(key)
        if msg_id > last:
            self._put(key, (msg_id, 0), dirty=True)
        else:
            self._flush_if_due()

    def mention(self, user: str, channel: str, count: int = 1) -> None:
        """``user`` was mentioned ``count`` times in ``channel``."""
        key = (check_id("user", user), check_id("channel", channel))
        check_seq("count", count, low=1, high=10**6)
        last, mentions = self._entry(key)
        self._put(key, (last, min(mentions + count, 2**62)), dirty=True)

    def get(self, user: str, channel: str) -> tuple[int, int]:
        """``(last_read_id, mention_count)`` of ``user`` in ``channel`` (a flush that is due
        runs first)."""
        key = (check_id("user", user), check_id("channel", channel))
        self._flush_if_due()
        return self._entry(key)

    def _flush_if_due(self) -> None:
        """Flush when records are dirty and ``flush_interval`` has passed: the check a call
        that changes nothing still makes (when it fails, it raises and nothing has changed)."""
        if self._dirty and self._now() - self._last_flush >= self.flush_interval:
            self.flush()

    def unread(self, user: str) -> dict[str, int]:
        """The channels where ``user`` has unread mentions, with their counts."""
        check_id("user", user)
        self.flush()
        return self.store.unread(user)

    def flush(self) -> int:
        """Write every dirty record in one transaction; how many were written. When the
        write fails it raises and the records stay dirty for the next flush."""
        batch = {key: self._cache[key] for key in self._dirty if key in self._cache}
        if batch:
            self._write(batch)
        else:
            now = self._now()
            self._dirty.clear()
            self._last_flush = now
        return len(batch)

    def _now(self) -> float:
        return read_seconds(self._clock, MessagingError, "ReadStates")

    def _write(self, batch: dict[tuple[str, str], tuple[int, int]]) -> None:
        now = self._now()  # before the write: a bad reading changes nothing
        self.store.write([(*key, *batch[key]) for key in sorted(batch)])  # all or none
        self.flushes += 1
        self._dirty.clear()
        self._last_flush = now

    @property
    def dirty(self) -> int:
        """Changed records not yet on disk (what a crash now would lose)."""
        return len(self._dirty)

    def crash(self) -> None:
        """Lose the cache and its unwritten changes, as a killed process would."""
        self._cache.clear()
        self._dirty.clear()
        self.store.close()

    def close(self) -> None:
        """Flush and close."""
        self.flush()
        self.store.close()

    def __len__(self) -> int:
        return len(self._cache)
