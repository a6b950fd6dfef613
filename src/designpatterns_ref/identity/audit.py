"""An append-only, tamper-evident audit log: every entry hashes the one before it.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

Each entry holds its sequence number, a time, the event (a JSON object) and ``prev``, the hash of
the entry before it (64 zeros for the first); its own ``hash`` is SHA-256 over ``prev`` and the
canonical JSON of the rest. Editing any entry changes its hash, which no longer matches the next
entry's ``prev``; inserting or deleting one breaks the sequence numbers and the chain. Only
truncating the *end* leaves a valid shorter chain, so the log's **head** (the entry count and
last hash) is what gets anchored elsewhere: printed on a daily report, sent to another system,
or signed. :func:`verify_chain` with the anchored head detects truncation too.

The log lives in memory, and in a JSON-lines file when given a ``path`` (one entry a line,
flushed on every append); ``dpref audit verify FILE`` checks such a file. A file whose last line
has no newline was cut short mid-write (a crash, a power cut): reopening it raises
:class:`IdentityError` saying how many bytes hold the intact entries, and it is for the operator
to keep the torn tail aside and truncate the file to that size: the log never drops or repairs
evidence by itself. When the last line is a whole entry that chains onto the rest and only its
newline is missing, the error says so, and the operator appends the newline instead (nothing
is dropped). A write that fails (a full disk) raises :class:`IdentityError` and leaves
the file as it was, as far as the operating system lets it. A log holds its own head:
:meth:`AuditLog.verify` checks the file against it (so a cut tail shows), and
:meth:`AuditLog.append` refuses to write to a file whose size is not the one its last write
left (its tail cut, or a second writer), rather than chain a new entry onto the wrong one.

Complexity: O(1) per append (one hash); O(n) to verify.

>>> log = AuditLog(clock=lambda: 5.0)
>>> _ = log.append({"gate": "north", "outcome": "ok"})
>>> _ = log.append({"gate": "north", "outcome": "revoked"})
>>> verify_chain(log.entries).ok
True
>>> first = log.entries[0]
>>> first["event"].update(outcome="revoked")
>>> verify_chain(log.entries).problem
'entry 0: hash does not match its contents'
"""  # noqa: E501

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.identity.base import IdentityError, IdentityTypeError, read_clock

__all__ = ["GENESIS", "AuditCheck", "AuditLog", "entry_hash", "read_log", "verify_chain"]

GENESIS = "0" * 64
_CANON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def entry_hash(prev: str, seq: int, at: float, event: object) -> str:
    """SHA-256 (hex) of ``prev`` and the canonical JSON of ``[seq, at, event]``."""
    body = _CANON.encode([seq, at, event])
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """The result of checking a chain: ``ok``, how many entries, the head, or the first problem."""

    ok: bool
    count: int
    head: str
    problem: str = ""
    bad_entry: int | None = None

    def __bool__(self) -> bool:
        return self.ok


def verify_chain(
    entries: Sequence[object],
    *,
    expected_count: int | None = None,
    expected_head: str | None = None,
) -> AuditCheck:
    """Check every link of the chain, and the anchored head when given; report the first break."""
    if not isinstance(entries, Sequence) or isinstance(entries, str | bytes):
        raise IdentityTypeError(f"entries={shown(entries, 80)} must be a sequence of entries")
    if expected_count is not None and (
        isinstance(expected_count, bool) or not isinstance(expected_count, int)
    ):
        raise IdentityTypeError(
            f"expected_count={shown(expected_count, 80)} must be an int or None"
        )
    if expected_head is not None and not isinstance(expected_head, str):
        raise IdentityTypeError(f"expected_head={shown(expected_head, 80)} must be a str or None")
    prev = GENESIS
    for i, entry in enumerate(entries):

        def bad(problem: str, i: int = i, prev: str = prev) -> AuditCheck:
            return AuditCheck(False, len(entries), prev, f"entry {i}: {problem}", i)

        if not isinstance(entry, dict) or set(entry) != {"seq", "at", "event", "prev", "hash"}:
            return bad("is not an object with seq, at, event, prev and hash")
        if entry["seq"] != i or isinstance(entry["seq"], bool):
            return bad(f"sequence number {entry['seq']!r:.20} where {i} belongs")
        if entry["prev"] != prev:
            return bad("prev does not match the hash of the entry before it")
        try:
            digest = entry_hash(prev, i, entry["at"], entry["event"])
        except (TypeError, ValueError):
            return bad("holds a value that is not JSON")
        if entry["hash"] != digest:
            return bad("hash does not match its contents")
        prev = digest
    if expected_count is not None and expected_count != len(entries):
        return AuditCheck(
            False,
            len(entries),
            prev,
            f"the log holds {len(entries)} entries; the anchored head says {shown(expected_count)}",
        )
    if expected_head is not None and expected_head != prev:
        return AuditCheck(False, len(entries), prev, "the last hash is not the anchored head")
    return AuditCheck(True, len(entries), prev)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError) as bad:
        raise IdentityError(f"path={shown(str(path), 80)} cannot be used: {bad}") from None


def read_log(path: str | os.PathLike[str]) -> list[object]:
    """The entries of a JSON-lines audit file (a line that is not JSON becomes a string).

    Raises :class:`IdentityError` when the file cannot be read.
    """
    if not isinstance(path, str | os.PathLike):
        raise IdentityTypeError(f"path={shown(path, 80)} must be a str or a PathLike")
    entries: list[object] = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    entries.append(line)
    except (OSError, ValueError) as bad:  # ValueError: a NUL in the path, or not UTF-8
        raise IdentityError(f"audit log {shown(str(path), 80)} cannot be read: {bad}") from None
    return entries


def _check_whole_lines(path: Path) -> None:
    """Raise if the file's last line has no newline: a write cut short."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            tail = min(size, 1 << 20)
            f.seek(size - tail)
            chunk = f.read(tail)
    except OSError as bad:
        raise IdentityError(f"audit log {path} cannot be read: {bad}") from None
    cut = chunk.rfind(b"\n")
    if cut < 0 and tail < size:
        raise IdentityError(f"audit log {path} ends in a line over 1 MB long with no newline")
    whole = size - tail + cut + 1
    try:
        last = json.loads(chunk[cut + 1 :])
    except ValueError:
        last = None
    if isinstance(last, dict) and verify_chain(read_log(path)).ok:
        raise IdentityError(
            f"audit log {path} ends in a whole entry (seq {shown(last.get('seq'), 20)}) that"
            " lacks only its final newline (a write cut one byte short): nothing is lost. Keep"
            " a copy of the file, append one newline to it, check it with 'dpref audit"
            " verify', then reopen it"
        )
    raise IdentityError(
        f"audit log {path} ends in a torn line: its last {size - whole} bytes have no newline"
        f" (a write cut short). The first {whole} bytes hold the whole entries; keep a copy of"
        f" the file, truncate it to {whole} bytes, check it with 'dpref audit verify', then"
        " reopen it"
    )


class _Changed(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as bad:
        raise IdentityError(f"audit log {path} cannot be read: {bad}") from None


class AuditLog:
    """A hash-chained log of events, in memory and optionally appended to a file (one writer)."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        if clock is not None and not callable(clock):
            raise IdentityTypeError(f"clock={shown(clock, 80)} must be callable or None")
        if path is not None and not isinstance(path, str | os.PathLike):
            raise IdentityTypeError(f"path={shown(path, 80)} must be a str, a PathLike or None")
        self.clock: Callable[[], float] = clock if clock is not None else time.time
        self.entries: list[dict[str, Any]] = []
        self.path = None if path is None else Path(path)
        # The file's size after this log's last write (or when it was read): a file of another
        # size was changed behind its back (its tail cut, another writer), and is not written.
        self._size = 0
        if self.path is not None and _exists(self.path):
            _check_whole_lines(self.path)
            loaded = read_log(self.path)
            check = verify_chain(loaded)
            if not check.ok:
                raise IdentityError(f"audit log {self.path} is broken: {check.problem}")
            self.entries = [e for e in loaded if isinstance(e, dict)]
            self._size = _size_of(self.path)
        elif self.path is not None and not _exists(self.path.parent):
            raise IdentityError(
                f"path={shown(str(path), 80)}: its directory {shown(str(self.path.parent), 80)}"
                " does not exist"
            )

    @property
    def head(self) -> tuple[int, str]:
        """``(count, last hash)``: what to anchor elsewhere so truncation is detected too."""
        return len(self.entries), self.entries[-1]["hash"] if self.entries else GENESIS

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Add one event (a JSON-able dict) at the end; return the new entry."""
        if not isinstance(event, dict):
            raise IdentityTypeError(f"event={shown(event, 80)} must be a dict")
        at = read_clock(self.clock, "AuditLog.append")  # recorded as it came: int or float
        seq, prev = self.head
        try:  # a detached copy: the caller changing its dict later cannot rewrite history
            event = json.loads(_CANON.encode(event))
            digest = entry_hash(prev, seq, at, event)
        except (TypeError, ValueError) as bad:
            raise IdentityError(f"event={shown(event, 80)} is not JSON: {bad}") from None
        entry = {"seq": seq, "at": at, "event": event, "prev": prev, "hash": digest}
        if self.path is not None:
            self._write(_CANON.encode(entry) + "\n")
        self.entries.append(entry)
        return entry

    def _write(self, line: str) -> None:
        """Append ``line`` with unbuffered writes; if the system takes only part of it and then
        refuses the rest (a full disk, a file-size limit), cut the part back off.

        Unbuffered, because a buffered file flushes again before it truncates: the flush fails
        as the write did, and the torn part would stay, to be glued to the next entry.
        """
        assert self.path is not None
        data = memoryview(line.encode("utf-8"))
        try:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
            fd = os.open(self.path, flags, 0o666)  # O_BINARY: no "\r\n" on Windows
            try:
                size = os.lseek(fd, 0, os.SEEK_END)
                if size != self._size:
                    raise _Changed(size)
                try:
                    while data:
                        data = data[os.write(fd, data) :]
                except OSError:
                    os.ftruncate(fd, size)  # no torn line left behind, if the system allows
                    raise
            finally:
                os.close(fd)
        except _Changed as changed:
            raise IdentityError(
                f"audit log {self.path} is {changed.size} bytes, not the {self._size} this log"
                f" wrote: it was changed behind the log's back (its tail cut, or another"
                f" writer), so nothing is appended; this log holds the head {self.head}, check"
                " the file against it with 'dpref audit verify'"
            ) from None
        except OSError as bad:
            raise IdentityError(f"audit log {self.path} cannot be written: {bad}") from None
        self._size = size + len(line.encode("utf-8"))

    def verify(self) -> AuditCheck:
        """Check the chain held in memory (or re-read from the file when there is one; a file
        not made yet, before the first append, holds no entry), against the head this log
        holds: a file whose tail was cut is a valid shorter chain, and only the head catches
        it."""
        path = self.path
        if path is None or (not self.entries and not _exists(path)):
            return verify_chain(self.entries)
        count, last = self.head
        return verify_chain(read_log(path), expected_count=count, expected_head=last)
