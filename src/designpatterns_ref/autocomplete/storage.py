"""The completer file format: a versioned header, typed sections, a checksum; read in place.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

Every completer saves itself with ``save(path)`` and comes back with the classmethod
``load(path)``. A file is one header, a table of sections and the sections themselves, each a
flat array of one machine type (``B`` bytes, ``I`` 32-bit, ``Q``/``q`` 64-bit), aligned to 8
bytes, and a CRC-32 of everything before it in the last 4 bytes:

====================  ==========================================================================
header (24 bytes)     magic ``DPREFAC\\0``, format version, kind, flags (casefold, byte order),
                      one structure parameter (``TopKTrie``'s cache size), number of sections
section table         per section: a 4-byte name, its type code, its offset and its length
sections              the arrays, each at an offset divisible by 8
CRC-32 (4 bytes)      of the header, the table and the sections
====================  ==========================================================================

Two kinds share the layout. The mutable completers write their terms (one UTF-8 text, sorted)
and weights and are rebuilt in bulk on load (their nodes are Python objects, so there is no
faster way to bring them back). :class:`~designpatterns_ref.autocomplete.frozen.FrozenCompleter`
writes its arrays themselves, and :func:`read` can map the file (``mmap``, read-only) and hand
out typed ``memoryview`` objects over the mapped pages: nothing is copied, loading costs the
checksum, and every process that maps the same file shares one copy of it in the page cache.
A mapped file must then stay as it is: replace it by renaming a new file over it (``write``
does, :mod:`._replace`), never by copying over it or writing into it (see :class:`Watch`).

Trade-off: the checksum reads the whole file once on load (milliseconds for megabytes) so a
truncated or damaged file is refused with
:class:`~designpatterns_ref.autocomplete.base.StorageError` before any query can trip over
it. The header and the section table are checked first, and a file whose size is not the
size they declare is refused before the rest of it is read: a large file that is no completer
file costs a few bytes of reading, not its size in memory. The arrays are in the machine's
byte order, and a file written on a machine of the other
order is refused rather than byte-swapped.

Complexity: ``write`` and ``read`` O(file size).

```pycon
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "words.dpac")
>>> from array import array
>>> write(path, "items", {"wts": array("q", [3, 1])}, flags=0, param=0)
>>> stored = read(path, mapped=False)
>>> stored.kind, list(stored.sections["wts"])
('items', [3, 1])

```
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
import sys
import zlib
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from designpatterns_ref.autocomplete._replace import (
    _create_scratch,
    _keep_owner_and_mode,
    _sync_folder,
    _target,
)
from designpatterns_ref.autocomplete.base import AutocompleteTypeError, StorageError
from designpatterns_ref.errors import shown

__all__ = [
    "FLAG_CASEFOLD",
    "KINDS",
    "MAGIC",
    "VERSION",
    "VERSIONS",
    "Stored",
    "Watch",
    "check_path",
    "read",
    "write",
]

MAGIC = b"DPREFAC\x00"
#: The format version this code writes and reads for the files of terms and weights.
VERSION = 1
#: The kinds of file: terms and weights to rebuild from, or FrozenCompleter's arrays.
KINDS = {"items": 1, "frozen": 2}
#: The format version of each kind; a file of another version is refused. FrozenCompleter's
#: version 2 holds compressed blocks of terms (version 1 held them whole).
VERSIONS = {"items": VERSION, "frozen": 2}
FLAG_CASEFOLD = 1
_FLAG_BIG_ENDIAN = 2
_HEADER = struct.Struct("<8sHHIII")
_SECTION = struct.Struct("<4s1s3xQQ")
_CRC = struct.Struct("<I")
_TYPES = {"B": 1, "I": 4, "Q": 8, "q": 8}


def check_path(where: str, path: object) -> str:
    """``path`` as a ``str`` (a ``str`` or an ``os.PathLike`` of one), or a clear error."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise AutocompleteTypeError(
            f"{where}: path={shown(path, 80)} must be a str or os.PathLike, not "
            f"{type(path).__name__}"
        )
    if not path:
        raise StorageError(f"{where}: path='' names no file")
    return path


@dataclass
class Stored:
    """What :func:`read` found: the kind, flags, parameter and the typed sections.

    ``buffer`` is what the sections point into (``bytes`` or an ``mmap``): keep it alive as
    long as the sections. ``watch`` is the mapped file's :class:`Watch` (``None`` when read).
    """

    kind: str
    flags: int
    param: int
    sections: dict[str, memoryview]
    buffer: Any
    offsets: dict[str, int]
    watch: Watch | None = None


def write(path: str, kind: str, sections: Mapping[str, Any], *, flags: int, param: int) -> None:
    """Write ``sections`` (name -> ``array`` or ``bytes``) to ``path`` as one file.

    The file is written next to ``path`` under a temporary name, synced to disk, renamed over
    it, and the folder synced, so a crash half way, of the process or of the machine, leaves
    the old file (or none) or the new one, never a half-written one. A file replaced keeps
    its mode (and, as far as the process may set them, its owner and group: see
    ``_keep_owner_and_mode``); a ``path`` that is
    a symlink stays one, and the file it points to is replaced (unless the link is another
    user's in a sticky world-writable folder: then the link is, as Linux's
    ``fs.protected_symlinks`` would have it; see ``_target``). A save that fails
    removes its scratch file; one killed half way leaves it (``.dpac-`` and 16 hex digits, in
    the same folder), which nothing reads and which may be deleted when no save is running.
    """
    if sys.byteorder == "big":
        flags |= _FLAG_BIG_ENDIAN
    table_end = _HEADER.size + _SECTION.size * len(sections)
    at = -(-table_end // 8) * 8
    entries = []
    for name, data in sections.items():
        view = memoryview(data)
        code = data.typecode if isinstance(data, array) else view.format
        if code not in _TYPES or len(name) > 4:
            raise ValueError(f"write: section {shown(name)} of type {shown(code)} cannot be stored")
        raw = view.cast("B")
        entries.append((name, code, at, raw))
        at = -(-(at + raw.nbytes) // 8) * 8
    chunks: list[bytes | memoryview] = [
        _HEADER.pack(MAGIC, VERSIONS[kind], KINDS[kind], flags, param, len(sections))
    ]
    chunks += [_SECTION.pack(n.encode(), c.encode(), o, r.nbytes) for n, c, o, r in entries]
    written = table_end
    for _, _, offset, raw in entries:
        chunks += [bytes(offset - written), raw]
        written = offset + raw.nbytes
    crc = 0
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
    chunks.append(_CRC.pack(crc))
    try:
        target = _target(path)  # through a symlink: the link stays, its file is new
        folder = os.path.dirname(target)
        fd, scratch = _create_scratch(folder)
        try:
            with os.fdopen(fd, "wb") as out:
                _keep_owner_and_mode(out.fileno(), target)
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())  # on disk before a name points at it
            os.replace(scratch, target)
        except BaseException:
            os.unlink(scratch)
            raise
    except (OSError, ValueError) as exc:
        raise StorageError(f"save: cannot write path={shown(path, 200)}: {exc}") from exc
    _sync_folder(folder)


def read(path: str, *, mapped: bool) -> Stored:
    """Open ``path``, check its header, bounds and checksum, and view its sections in place.

    With ``mapped``, the file is mapped read-only (``mmap``), watched by a :class:`Watch`;
    otherwise it is read into one ``bytes`` object, but only once its header and section
    table are read and checked and the size they declare is the file's size: a file that is
    no completer file, however large, is refused after reading its first bytes.
    Either way the sections are ``memoryview`` objects over that buffer. Anything but a
    regular file (a FIFO, a device, a folder) is refused without reading from it: it is opened
    without blocking and checked first.
    """
    opened: os.stat_result | None = None  # the mapped file as it was opened
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise StorageError(
                    f"load: path={shown(path, 200)} is not a regular file "
                    f"({_KIND_NAMES.get(stat.S_IFMT(info.st_mode), 'special file')})"
                )
            size = info.st_size
            if mapped:
                if size == 0:
                    raise StorageError(
                        f"load: path={shown(path, 200)} is empty, not a completer file"
                    )
                # the map holds its own descriptor: none is kept open here
                buffer: Any = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
                opened = info
            else:
                with open(fd, "rb", closefd=False) as file:
                    head = file.read(_HEADER.size)
                    count = _check_header(path, head, size)
                    table = file.read(_SECTION.size * count)
                    _check_size(path, table, count, size)
                    file.seek(0)
                    buffer = file.read()
        finally:
            os.close(fd)
    except (OSError, ValueError) as exc:
        if isinstance(exc, StorageError):
            raise
        raise StorageError(f"load: cannot read path={shown(path, 200)}: {exc}") from exc
    stored = _parse(path, buffer)
    if opened is not None:
        stored.watch = Watch(path, opened, buffer)
    return stored


_KIND_NAMES = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class Watch:
    """The file a mapped completer reads in place: its path, and its identity (device and
    inode), size and modification time when it was loaded.

    A mapped file must not change while it is mapped: the pages of the map *are* the file, so
    a file written over in place (``cp new.dpac live.dpac``, or any writer opening it for
    writing) changes the answers under a running query, and a file truncated under the map
    kills the process with ``SIGBUS`` on the next read past its new end. Replace a live file
    by renaming a new one over it, as ``save`` does: the old file stays whole, and mapped,
    until the last map of it goes.

    :meth:`check` runs once before each query: one ``stat`` of the path (3 to 6
    microseconds). A path that names another file (renamed over, as ``save`` does) or none
    (deleted) means the mapped file is no longer reachable by its name, so nothing can write
    to it any more that did not already have it open: the watch stops, and the map goes on
    answering from the old file. The same file with another size or modification time
    changed in place: :class:`~designpatterns_ref.autocomplete.base.StorageError` naming the
    path. A file whose modification time alone moved (``touch``) has its mapped bytes checked
    once against the checksum read on load, and is adopted when they match. No descriptor is
    kept open (the map holds its own), so closing every descriptor, as a daemon does when it
    detaches, does not disturb it.

    It narrows the danger, it does not remove it: a file truncated between the check and the
    read still ends the process, a same-size write whose modification time the file system
    does not move (a write in the same clock tick as the load, or a time set back on purpose)
    is not seen, and neither is a write to the old file through a descriptor opened before it
    was renamed over.
    """

    __slots__ = ("_body", "_crc", "_id", "_stamp", "path")

    def __init__(self, path: str, info: os.stat_result, buffer: Any) -> None:
        # an absolute path: a later chdir must not point the watch at another file
        self.path = os.path.abspath(path)
        self._id: tuple[int, int] | None = (info.st_dev, info.st_ino)
        self._stamp = _stamp(info)
        view = memoryview(buffer)
        self._body = view[: view.nbytes - _CRC.size]
        self._crc: int = _CRC.unpack_from(view, view.nbytes - _CRC.size)[0]

    def check(self) -> None:
        """Raise ``StorageError`` when the mapped file changed in place since it was loaded."""
        if self._id is None:
            return
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self._id = None  # deleted: the map still holds the file, and nothing names it
            return
        except OSError as exc:
            raise StorageError(
                f"FrozenCompleter mapped from {self.path!r:.200}: cannot check the file is "
                f"unchanged ({exc})"
            ) from exc
        if (info.st_dev, info.st_ino) != self._id:
            self._id = None  # renamed over: the map reads the old file, which stays whole
            return
        stamp = _stamp(info)
        if stamp == self._stamp:
            return
        if stamp[0] == self._stamp[0] and self.intact():  # touched: same bytes, new time
            self._stamp = stamp
            return
        raise StorageError(
            f"FrozenCompleter mapped from {self.path!r:.200}: the file changed in place "
            "while it was mapped (written over or truncated), so its answers cannot be "
            "trusted; load it again, and replace a live file by renaming a new one over "
            "it (as save does), never by copying over it"
        )

    def intact(self) -> bool:
        """Whether the mapped bytes still have the checksum they had on load (reads them all:
        about a millisecond a megabyte)."""
        return zlib.crc32(self._body) == self._crc


def _stamp(info: os.stat_result) -> tuple[int, int]:
    """What a write to a file changes: its size and modification time (not its change time,
    which chmod moves too)."""
    return info.st_size, info.st_mtime_ns


def _bad(path: str, what: str) -> StorageError:
    return StorageError(f"load: path={shown(path, 200)} is not a readable completer file: {what}")


def _check_header(path: str, head: Any, total: int) -> int:
    """Check the header at the start of ``head`` against a file of ``total`` bytes: the magic,
    a known kind, its version, this machine's byte order, and a section table that fits.
    Returns the number of sections."""
    if total < _HEADER.size + _CRC.size or len(head) < _HEADER.size:
        raise _bad(
            path, f"{total} bytes is shorter than the {_HEADER.size}-byte header (truncated?)"
        )
    magic, version, kind_code, flags, _, count = _HEADER.unpack_from(head, 0)
    if magic != MAGIC:
        raise _bad(path, f"it does not start with {shown(MAGIC)}")
    kinds = {code: name for name, code in KINDS.items()}
    if kind_code not in kinds:
        raise _bad(path, f"unknown kind {kind_code}")
    expected = VERSIONS[kinds[kind_code]]
    if version != expected:
        advice = (
            # the header is checked before the checksum (a large foreign file costs a few
            # bytes), so a damaged version field looks the same
            "it was written by a newer version of the library, or damaged: read it with "
            "that version"
            if version > expected
            else "this version cannot read it: rebuild it from its items"
        )
        raise _bad(
            path,
            f"format version {version}; this library reads version {expected} of "
            f"{shown(kinds[kind_code])} files ({advice})",
        )
    if bool(flags & _FLAG_BIG_ENDIAN) != (sys.byteorder == "big"):
        raise _bad(path, "it was written on a machine of the other byte order")
    if _HEADER.size + _SECTION.size * count > total - _CRC.size:
        raise _bad(path, f"its table of {count} sections runs past the end (truncated?)")
    return int(count)


def _check_size(path: str, table: Any, count: int, total: int) -> None:
    """Refuse a file whose ``total`` size is not the size its section ``table`` declares: the
    end of its last section (or of the table), then the checksum."""
    if len(table) < _SECTION.size * count:
        raise _bad(path, f"its table of {count} sections runs past the end (truncated?)")
    end = _HEADER.size + _SECTION.size * count
    for i in range(count):
        _, _, offset, nbytes = _SECTION.unpack_from(table, i * _SECTION.size)
        end = max(end, offset + nbytes)
    if end + _CRC.size != total:
        raise _bad(
            path,
            f"its header and section table declare {end + _CRC.size} bytes, the file has "
            f"{total} (truncated, or data after its end?)",
        )


def _parse(path: str, buffer: Any) -> Stored:
    def bad(what: str) -> StorageError:
        return _bad(path, what)

    view = memoryview(buffer)
    total = view.nbytes
    count = _check_header(path, view, total)
    _, _, kind_code, flags, param, _ = _HEADER.unpack_from(view, 0)
    kind = {code: name for name, code in KINDS.items()}[kind_code]
    body = total - _CRC.size
    sections: dict[str, memoryview] = {}
    offsets: dict[str, int] = {}
    for i in range(count):
        raw_name, raw_code, offset, nbytes = _SECTION.unpack_from(
            view, _HEADER.size + i * _SECTION.size
        )
        name = raw_name.rstrip(b"\0").decode("ascii", "replace")
        code = raw_code.decode("ascii", "replace")
        if code not in _TYPES or nbytes % _TYPES[code] or offset % 8:
            raise bad(
                f"section {shown(name)} has type {shown(code)} and {nbytes} bytes at {offset}"
            )
        if offset + nbytes > body:
            raise bad(f"section {shown(name)} runs past the end of the file (truncated?)")
        sections[name] = view[offset : offset + nbytes].cast(code)
        offsets[name] = offset
    _check_size(path, view[_HEADER.size : _HEADER.size + _SECTION.size * count], count, total)
    (stored_crc,) = _CRC.unpack_from(view, body)
    if zlib.crc32(view[:body]) != stored_crc:
        raise bad("its checksum does not match its contents (damaged or truncated)")
    return Stored(kind, flags, param, sections, buffer, offsets)


def require(path: str, stored: Stored, kind: str, names: tuple[str, ...]) -> None:
    """Refuse a file of another kind, or one that lacks a section ``names`` lists."""
    if stored.kind != kind:
        raise StorageError(
            f"load: path={shown(path, 200)} holds a {shown(stored.kind)} file, this class reads "
            f"{shown(kind)}"
        )
    missing = [name for name in names if name not in stored.sections]
    if missing:
        raise StorageError(f"load: path={shown(path, 200)} lacks the sections {missing}")
