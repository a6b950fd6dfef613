"""Snowflake IDs: time-sortable 64-bit IDs minted on many machines without coordination.

Case study: Design a Photo Sharing App (Instagram-Style) (docs/case-studies/photo-sharing.md)

An ID is three numbers packed into one integer, most significant first: milliseconds since
a chosen epoch, the number of the worker (machine, process or shard) that minted it, and a
sequence that counts IDs within one millisecond on that worker. Because time is on top, IDs
sort by creation time across all workers; because each worker owns its number, two workers
never mint the same ID and never need to talk. The :class:`Layout` says how many bits each
part gets: :data:`TWITTER` is 41 time / 10 worker / 12 sequence (4,096 IDs per millisecond
per worker, 69 years from :data:`TWITTER_EPOCH_MS`), :data:`INSTAGRAM` is 41 / 13 shard / 10
(1,024 per millisecond on each of 8,192 logical shards, from :data:`INSTAGRAM_EPOCH_MS`).

Two things can go wrong, and both are handled in the open:

* **The sequence runs out** within one millisecond: the generator waits for the next one.
* **The wall clock goes backwards** (an NTP step, a VM migration): minting now could repeat or
  reorder IDs, so the generator waits for the clock to catch up, up to ``max_backwards``
  seconds, and past that raises :class:`~designpatterns_ref.shortcode.base.ClockMovedBackwards`.

The trade-off: no central counter and no round trip, in exchange for a dependency on the
wall clock and on each worker having a unique number (assigning those is a configuration
problem, solved once per deployment). IDs from one generator are strictly increasing, also
across threads (a lock guards the last timestamp and the sequence). The clock is injected:
the default reads ``time.time_ns``; tests pass a ``ManualClock`` and a ``sleep`` that advances
it, so waiting costs no real time.

Complexity: O(1) per ID; one lock acquisition.

>>> from designpatterns_ref.clock import ManualClock
>>> clock = ManualClock(start=1_700_000_000.0)
>>> gen = Snowflake(worker=7, clock=clock, sleep=clock.advance)
>>> a, b = gen.next_id(), gen.next_id()
>>> a < b
True
>>> gen.decompose(b)
SnowflakeParts(timestamp_ms=1700000000000, worker=7, sequence=1)
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.base import ClockMovedBackwards, ShortCodeError, SpaceExhausted

__all__ = [
    "INSTAGRAM",
    "INSTAGRAM_EPOCH_MS",
    "MAX_BATCH",
    "TWITTER",
    "TWITTER_EPOCH_MS",
    "Layout",
    "Snowflake",
    "SnowflakeParts",
    "decompose",
]

MAX_BATCH = 1_000_000
"""The most IDs one :meth:`Snowflake.next_ids` call returns (a larger count is refused)."""

STUCK_TURNS = 1000
"""Sleeps of 1 ms waited for the next millisecond before a clock that stays put is refused."""

TWITTER_EPOCH_MS = 1_288_834_974_657
"""Twitter's epoch: 2010-11-04 01:42:54.657 UTC, in Unix milliseconds."""
INSTAGRAM_EPOCH_MS = 1_314_220_021_721
"""Instagram's epoch (from its ``next_id()`` PL/pgSQL function), in Unix milliseconds."""


@dataclass(frozen=True)
class Layout:
    """How many bits the time, the worker and the sequence each get (at most 64 in all).

    Twitter keeps the top bit of a signed 64-bit integer clear (63 bits); Instagram uses all
    64, so its IDs stay positive as signed BIGINTs only until the top time bit is set
    (about 35 years after its 2011 epoch).

    >>> TWITTER.max_worker, TWITTER.max_sequence, TWITTER.ids_per_ms
    (1023, 4095, 4096)
    """

    time_bits: int = 41
    worker_bits: int = 10
    sequence_bits: int = 12

    def __post_init__(self) -> None:
        for name in ("time_bits", "worker_bits", "sequence_bits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ShortCodeError(f"Layout: {name}={shown(value)} must be an int >= 0")
        if self.time_bits < 1 or self.sequence_bits < 1:
            raise ShortCodeError(
                f"Layout: time_bits={self.time_bits} and sequence_bits={self.sequence_bits} "
                "must both be at least 1"
            )
        total = self.time_bits + self.worker_bits + self.sequence_bits
        if total > 64:
            raise ShortCodeError(f"Layout: {shown(total)} bits in all; IDs have at most 64 bits")

    @property
    def max_worker(self) -> int:
        """The largest worker number."""
        return (1 << self.worker_bits) - 1

    @property
    def max_sequence(self) -> int:
        """The largest sequence number within one millisecond."""
        return (1 << self.sequence_bits) - 1

    @property
    def ids_per_ms(self) -> int:
        """How many IDs one worker may mint per millisecond."""
        return 1 << self.sequence_bits

    @property
    def years(self) -> float:
        """How many years of milliseconds the time field holds."""
        return (1 << self.time_bits) / (1000 * 86400 * 365.25)


TWITTER = Layout(41, 10, 12)
"""Twitter's layout: 41 bits of time, 10 of worker (datacenter + machine), 12 of sequence."""
INSTAGRAM = Layout(41, 13, 10)
"""Instagram's layout: 41 bits of time, 13 of logical shard, 10 of sequence."""


class SnowflakeParts(NamedTuple):
    """The three fields of an ID: Unix milliseconds, worker number, sequence."""

    timestamp_ms: int
    worker: int
    sequence: int


class Snowflake:
    """A generator of strictly increasing, time-sortable IDs for one worker (thread-safe).

    ``worker`` is this generator's number, unique in the deployment; ``layout`` and
    ``epoch_ms`` (Unix milliseconds) fix the format; ``clock`` returns Unix seconds (default:
    the wall clock); ``sleep`` is how to wait (default :func:`time.sleep`); ``max_backwards``
    is how many seconds of backward clock movement to wait out before raising.
    """

    def __init__(
        self,
        worker: int,
        *,
        layout: Layout = TWITTER,
        epoch_ms: int = TWITTER_EPOCH_MS,
        clock: Clock | None = None,
        sleep: Callable[[float], object] = time.sleep,
        max_backwards: float = 0.010,
    ) -> None:
        if not isinstance(layout, Layout):
            raise ShortCodeError(f"Snowflake: layout={shown(layout)} must be a Layout")
        if isinstance(worker, bool) or not isinstance(worker, int):
            raise ShortCodeError(f"Snowflake: worker={shown(worker)} must be an int")
        if not 0 <= worker <= layout.max_worker:
            raise ShortCodeError(
                f"Snowflake: worker={shown(worker)} is outside [0, {layout.max_worker}] "
                f"({layout.worker_bits} worker bits)"
            )
        if isinstance(epoch_ms, bool) or not isinstance(epoch_ms, int) or epoch_ms < 0:
            raise ShortCodeError(f"Snowflake: epoch_ms={shown(epoch_ms)} must be an int >= 0")
        if isinstance(max_backwards, bool) or not isinstance(max_backwards, int | float):
            raise ShortCodeError(f"Snowflake: max_backwards={shown(max_backwards)} must be seconds")
        if not 0 <= max_backwards <= 86_400:  # refuses NaN, inf and ints like 10**400
            raise ShortCodeError(
                f"Snowflake: max_backwards={shown(max_backwards)} must be finite, "
                "from 0 to 86400 seconds"
            )
        if clock is not None and not callable(clock):
            raise ShortCodeError(f"Snowflake: clock={shown(clock)} must be callable")
        if not callable(sleep):
            raise ShortCodeError(f"Snowflake: sleep={shown(sleep)} must be callable")
        self.worker = worker
        self.layout = layout
        self.epoch_ms = epoch_ms
        self.max_backwards = float(max_backwards)
        # The time source in ticks: nanoseconds from time.time_ns (a C call, the fast path),
        # or milliseconds from an injected seconds clock.
        self._ticks: Callable[[], int] = (
            time.time_ns if clock is None else partial(_clock_ms, clock)
        )
        self._per_ms = 1_000_000 if clock is None else 1
        self._sleep = sleep
        self._lock = threading.Lock()
        self._time_shift = layout.worker_bits + layout.sequence_bits
        self._worker_part = worker << layout.sequence_bits
        self._seq_mask = layout.max_sequence
        self._max_elapsed = (1 << layout.time_bits) - 1
        # The state, changed only with the lock held. ``_last`` is the millisecond (since the
        # epoch) of the last ID; ``_next`` is the ID after it and ``_stop`` the first ID past
        # that millisecond's sequence numbers, so ``_next < _stop`` while some are free.
        # ``[_start, _end)`` is ``_last`` in clock ticks: a reading inside it needs no division
        # to know its millisecond. The initial values send the first call to ``_claim``.
        self._last = -1
        self._next = self._stop = 0
        self._start = self._end = 0

    def __repr__(self) -> str:
        return f"Snowflake(worker={self.worker}, layout={self.layout}, epoch_ms={self.epoch_ms})"

    def next_id(self) -> int:
        """A new ID, greater than every ID this generator returned before."""
        # The common case: the clock still reads the last ID's millisecond and it has free
        # sequence numbers, so the next ID is the last one plus 1. Anything else (a new
        # millisecond, a used-up one, a clock that went back) goes to ``_claim`` with the
        # same reading. acquire/try/finally rather than ``with``: half the cost on CPython.
        lock = self._lock
        lock.acquire()
        try:
            ticks = self._ticks()
            id_ = self._next
            if self._start <= ticks < self._end and id_ < self._stop:
                self._next = id_ + 1
                return id_
            return self._claim(ticks // self._per_ms - self.epoch_ms)
        finally:
            lock.release()

    __call__ = next_id

    def next_ids(self, count: int) -> list[int]:
        """``count`` new IDs in increasing order, taking whole runs of a millisecond at once.

        One clock reading serves every free sequence number of the current millisecond, so a
        batch costs far less per ID than calling :meth:`next_id` in a loop.
        """
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_BATCH:
            raise ShortCodeError(
                f"Snowflake.next_ids: count={shown(count)} must be an int from 0 to {MAX_BATCH}"
            )
        ids: list[int] = []
        with self._lock:
            state = self._last, self._next, self._stop, self._start, self._end
            try:
                while len(ids) < count:
                    first = self._claim(self._now_ms())
                    take = min(count - len(ids), self._stop - first)
                    ids.extend(range(first, first + take))
                    self._next = first + take
            except BaseException:  # none of the batch was handed out: take none of it
                self._last, self._next, self._stop, self._start, self._end = state
                raise
        return ids

    def _claim(self, now: int) -> int:
        # The core, called with the lock held and the clock just read (``now``, milliseconds
        # since the epoch): pick (millisecond, sequence), record it, pack it.
        if now < 0:
            self._raise_out_of_range(now)
        next_seq = self._next & self._seq_mask  # 0 once the last millisecond is used up
        if now == self._last:
            seq = next_seq
            if seq == 0:  # this millisecond is used up: wait for the next one
                now = self._wait_past(self._last)
        elif now > self._last:
            seq = 0
        else:  # the clock went backwards: wait it out (bounded) or raise
            now = self._wait_out_backwards(now)
            seq = 0 if now > self._last else next_seq
            if now == self._last and seq == 0:
                now = self._wait_past(self._last)
        if now > self._max_elapsed:
            self._raise_out_of_range(now)
        id_ = (now << self._time_shift) | self._worker_part | seq
        self._last, self._next, self._stop = now, id_ + 1, (id_ | self._seq_mask) + 1
        self._start = (now + self.epoch_ms) * self._per_ms
        self._end = self._start + self._per_ms
        return id_

    def _wait_past(self, last: int) -> int:
        # Sleep until the clock shows a later millisecond than ``last`` (the last ID's). A
        # clock that steps back meanwhile is waited out within max_backwards, like any other
        # step back, and one that will not move on (a stopped clock) is refused.
        now = self._now_ms()
        turns = 0
        while now <= last:
            if now < last:
                now = self._wait_out_backwards(now)
                continue
            turns += 1
            if turns > STUCK_TURNS:
                raise ClockMovedBackwards(
                    f"Snowflake: the clock stayed at millisecond {now} through {STUCK_TURNS} "
                    "sleeps of 1 ms; is it stopped (a ManualClock needs sleep=clock.advance)?"
                )
            self._sleep(0.001)
            now = self._now_ms()
        return now

    def _now_ms(self) -> int:
        return self._ticks() // self._per_ms - self.epoch_ms

    def _wait_out_backwards(self, now: int) -> int:
        # The clock is behind the last timestamp: wait up to max_backwards, then give up.
        waited = 0.0
        while now < self._last:
            behind = (self._last - now) / 1000
            if waited + behind > self.max_backwards:
                raise ClockMovedBackwards(
                    f"Snowflake: the clock is {self._last - now} ms behind the last ID "
                    f"(waited {waited * 1000:.0f} ms); max_backwards={self.max_backwards} s"
                )
            self._sleep(behind)
            waited += behind
            now = self._now_ms()
        return now

    def _raise_out_of_range(self, now: int) -> None:
        if now < 0:
            raise SpaceExhausted(
                f"Snowflake: the clock reads {now} ms before epoch_ms={self.epoch_ms}"
            )
        raise SpaceExhausted(
            f"Snowflake: {now} ms since the epoch no longer fits {self.layout.time_bits} time "
            f"bits (the layout ran out {self.layout.years:.1f} years after the epoch)"
        )

    def decompose(self, id_: int) -> SnowflakeParts:
        """The (Unix milliseconds, worker, sequence) an ID was made of."""
        return decompose(id_, layout=self.layout, epoch_ms=self.epoch_ms)


def decompose(
    id_: int, *, layout: Layout = TWITTER, epoch_ms: int = TWITTER_EPOCH_MS
) -> SnowflakeParts:
    """Split an ID into (Unix milliseconds, worker, sequence) for a layout and epoch.

    >>> decompose((5 << 22) | (3 << 12) | 9, epoch_ms=0)
    SnowflakeParts(timestamp_ms=5, worker=3, sequence=9)
    """
    if not isinstance(layout, Layout):
        raise ShortCodeError(f"decompose: layout={shown(layout)} must be a Layout")
    if isinstance(epoch_ms, bool) or not isinstance(epoch_ms, int) or epoch_ms < 0:
        raise ShortCodeError(f"decompose: epoch_ms={shown(epoch_ms)} must be an int >= 0")
    bits = layout.time_bits + layout.worker_bits + layout.sequence_bits
    if isinstance(id_, bool) or not isinstance(id_, int) or not 0 <= id_ < (1 << bits):
        raise ShortCodeError(f"decompose: id={shown(id_)} must be an int in [0, 2**{bits})")
    sequence = id_ & layout.max_sequence
    worker = (id_ >> layout.sequence_bits) & layout.max_worker
    elapsed = id_ >> (layout.sequence_bits + layout.worker_bits)
    return SnowflakeParts(elapsed + epoch_ms, worker, sequence)


def _clock_ms(clock: Callable[[], float]) -> int:
    """An injected seconds clock's reading in whole milliseconds; ShortCodeError, before any
    ID is made, unless it is a finite number (``True`` is not second 1, NaN is no time)."""
    seconds = read_seconds(clock, ShortCodeError, "Snowflake")
    ms = seconds * 1000
    if ms - ms:  # finite seconds past 1.8e305 overflow to an infinity of milliseconds
        raise ShortCodeError(
            f"Snowflake: clock() returned {shown(seconds, 60)}; too many seconds to count in ms"
        )
    return math.floor(ms)
