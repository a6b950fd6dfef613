"""The write-ahead log both engines share: record sizes, full-page images, crash and replay.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

Every change to a page is first appended to the log as a :class:`Record` (the redo
information: which page, what changed), then applied to the page in memory. The log is
flushed (made durable) at every commit; pages reach the disk only at a checkpoint. A crash
(:meth:`Wal.crash`) keeps the last checkpoint's image and the flushed log and loses everything
else; recovery replays the flushed records over the image and aborts every transaction without
a commit record. Because the same ``apply`` code runs live and in recovery, replay rebuilds
exactly the pages the engine had.

Sizes follow PostgreSQL's layout in round numbers: a 24-byte record header, 4 bytes per page
the record touches, then its payload. With ``full_page_writes`` the first change to a page
after a checkpoint logs the whole page instead (PostgreSQL's defence against torn pages,
and the reason WAL volume jumps after every checkpoint). Physical replication ships every
byte of this log, aborted work and index changes included; logical replication ships only
the row changes of committed transactions (:func:`logical_change_size`).

Complexity: O(1) per record; a checkpoint copies the engine's state, O(size).

>>> from designpatterns_ref.storage.base import Counters
>>> wal = Wal(Counters(), page_size=8192, full_page_writes=False)
>>> wal.append("insert", 1, payload=40, pages=[("heap", 0)]).size   # 24 + 4 + 40
68
>>> wal.counters.wal_bytes, wal.counters.physical_replica_bytes
(68, 68)
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from designpatterns_ref.errors import DesignPatternsError, shown
from designpatterns_ref.storage.base import Counters, Row, StorageError, Value, value_size

__all__ = [
    "COMMIT_RECORD",
    "RECORD_HEADER",
    "Disk",
    "Record",
    "SimulatedCrash",
    "Wal",
    "logical_change_size",
    "logical_transaction_size",
    "recovery_image",
]

#: Bytes of a record header (PostgreSQL's XLogRecord is 24 bytes).
RECORD_HEADER = 24
#: Bytes of a page reference inside a record.
PAGE_REF = 4
#: Payload bytes of a commit or abort record (a timestamp and flags).
COMMIT_RECORD = 8


class SimulatedCrash(DesignPatternsError, RuntimeError):
    """The engine was killed on purpose after a log write and before the page write."""


@dataclass(frozen=True)
class Record:
    """One log record: its sequence number, kind, transaction, arguments and size in bytes."""

    lsn: int
    kind: str
    xid: int
    args: tuple[Any, ...]
    size: int


@dataclass(frozen=True)
class Disk:
    """What survives a crash: the state at the last checkpoint and the flushed log after it."""

    image: Any
    log: tuple[Record, ...]


def recovery_image(disk: object, image: type, engine: str) -> Any:
    """A private copy of ``disk``'s checkpoint image, for ``engine``'s recovery to replay onto.

    ``disk`` must be what ``engine.crash()`` returns: a :class:`Disk` whose image is an
    ``image`` and whose log is a tuple of :class:`Record`. Replay changes the copy, never the
    disk, so the same disk recovers to the same engine every time (a crash image is read, not
    consumed), and engines recovered from one disk share nothing.
    """
    if not (
        isinstance(disk, Disk)
        and isinstance(disk.image, image)
        and isinstance(disk.log, tuple)
        and all(isinstance(record, Record) for record in disk.log)
    ):
        raise StorageError(f"disk={shown(disk, 80)} must be a Disk from {engine}.crash()")
    return copy.deepcopy(disk.image)


class Wal:
    """An append-only log with byte accounting, full-page images and durable flushes."""

    def __init__(self, counters: Counters, *, page_size: int, full_page_writes: bool) -> None:
        self.counters = counters
        self.page_size = page_size
        self.full_page_writes = full_page_writes
        self.records: list[Record] = []
        self.flushed = 0
        self.lsn = 0
        self._touched: set[Hashable] = set()
        self._image: Any = None
        #: Tests set this to a sequence number: appending that record raises SimulatedCrash.
        self.crash_at: int | None = None

    def append(
        self, kind: str, xid: int, *args: Any, payload: int, pages: Sequence[Hashable] = ()
    ) -> Record:
        """Log one change to ``pages`` carrying ``payload`` bytes; returns the record.

        ``args`` must be plain data (the engine replays them). Size: 24 bytes of header, 4 per
        page, the payload, and under ``full_page_writes`` a whole page image for each page
        first changed since the last checkpoint.
        """
        size = RECORD_HEADER + payload
        for page in pages:
            size += PAGE_REF
            if page not in self._touched:
                self._touched.add(page)
                if self.full_page_writes:
                    size += self.page_size
                    self.counters.full_page_images += 1
        self.lsn += 1
        record = Record(self.lsn, kind, xid, args, size)
        self.records.append(record)
        self.counters.wal_bytes += size
        self.counters.physical_replica_bytes += size
        if self.crash_at is not None and record.lsn >= self.crash_at:
            self.flush()
            raise SimulatedCrash(f"killed after writing WAL record {record.lsn} ({kind})")
        return record

    def flush(self) -> None:
        """Make every record so far durable (a commit does this)."""
        self.flushed = len(self.records)

    def checkpoint(self, state: Any) -> None:
        """Write every page (a deep copy of ``state``) and start the log afresh."""
        self.flush()
        self._image = copy.deepcopy(state)
        self.records.clear()
        self.flushed = 0
        self._touched.clear()

    def crash(self) -> Disk:
        """What a restart finds: the last checkpoint and the durable log (the rest is lost)."""
        return Disk(copy.deepcopy(self._image), tuple(self.records[: self.flushed]))


def logical_change_size(kind: str, data: Row | Value) -> int:
    """Bytes of one row change in a logical stream (PostgreSQL's pgoutput, MySQL's row events).

    An insert or update carries the new row (1 byte of kind, 4 of relation id, 2 of column
    count, then each value); a delete carries the key.
    """
    if isinstance(data, dict):
        return 7 + sum(value_size(v) for v in data.values())
    return 7 + value_size(data)


def logical_transaction_size(changes: Sequence[tuple[str, Row | Value]]) -> int:
    """Bytes a committed transaction costs a logical replica: begin, changes, commit."""
    if not changes:
        return 0
    return 21 + sum(logical_change_size(k, d) for k, d in changes) + 26
