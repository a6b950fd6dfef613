"""Read every file's imports, in parallel when there are many, and cache them by content.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

Parsing is the whole cost of a cold run, so :func:`read_all` spreads the files over worker
processes (``jobs``) once there are enough of them to repay the start-up. :class:`FileCache`
keeps each file's raw import records under a digest of its bytes (xxh3-128): a file whose
content is unchanged is never parsed again, whatever its name or time stamp. To avoid reading
every byte of an unchanged tree, an entry also remembers the file's stamp ``(mtime_ns, size,
inode, ctime_ns)``; when it matches the file is taken as unchanged without being read, as git's
index does. The inode and the change time are what make the shortcut safe: two files of the same
size and time swapped by renames (usual after ``tar x``, ``cp -p`` or ``rsync -t``, which set
every time to the same value) keep their ``(mtime_ns, size)`` but not their inode, and a rename
or an ``utime`` sets the change time, which no program can set back. An entry stamped in the
clock tick the cache file was written in is *racy* (the file may have changed again within the
same tick) and is hashed rather than trusted, as git does (a stamp later than that, from a clock
ahead of this one, is not: an edit would set an earlier time); when it is found unchanged
the cache file is written again, newer than the stamp, so the next run trusts it.
``verify_content=True`` turns the shortcut off and hashes every file.

Two more things are kept so that a re-run over an unchanged tree does almost nothing: the
modules discovery found, valid while no directory it looked at has a new modification time
(an entry added, removed or renamed changes it), and the resolved imports, valid while no file
and no module changed. The cache is one ``marshal`` file (fast to load, written atomically)
behind the xxh3-128 digest of its bytes, checked before they are decoded; a cache from another
Python version, another format, another release of the library or a damaged file is ignored
and rebuilt, never trusted. A cache file that cannot be written (a file or a folder in its way,
no permission) raises :class:`~.base.BoundariesError` naming it, with nothing half-written;
``cache = ""`` in the configuration runs without one.

Complexity: a cached run is O(files + directories) ``stat`` calls and one load of the cache;
a cold run parses everything, divided over ``jobs`` processes.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "m.py").write_text("import os\\n")
>>> cache = FileCache(d / "cache.bin")
>>> (record,) = cache.read({"m": str(d / "m.py")})["m"]
>>> record
('i', 0, 'os', (), 1, 'module')
>>> (cache.parsed, cache.hits)
(1, 0)
"""

from __future__ import annotations

import marshal
import os
import sys
from pathlib import Path
from typing import Any

import xxhash

from designpatterns_ref.boundaries.base import (
    BoundariesError,
    Problem,
    check_flag,
    check_jobs,
    check_path,
    write_file,
)
from designpatterns_ref.boundaries.scan import Raw, Unparsable, extract
from designpatterns_ref.boundaries.verdict import racy
from designpatterns_ref.errors import shown

__all__ = ["FileCache", "Stamp", "is_racy", "read_all", "read_file", "stamp_of"]

#: The digest in front of the cache file's marshal bytes (xxh3-128, 16 bytes).
_DIGEST = 16

FORMAT = 5  # 5: dynamic imports in decorators, absolute names whatever the package
_PARALLEL_FROM = 200

#: What a file's stamp holds: ``(mtime_ns, size, inode, ctime_ns)``.
Stamp = tuple[int, int, int, int]


def stamp_of(st: os.stat_result) -> Stamp:
    """The stamp of a file that the cache trusts in place of its bytes."""
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def is_racy(stamp: Stamp, written: int | None) -> bool:
    """Whether ``stamp`` was taken too late to vouch for the file: within one timestamp tick
    at or before ``written``, the time the stamps were stored (None: never stored), the file
    may have changed again within the same tick without changing its stamp (see
    :func:`~.verdict.racy`; a stamp from the future is not racy)."""
    return written is None or racy(stamp[0], written) or racy(stamp[3], written)


def _format() -> tuple[object, ...]:
    """What a stored file must have been written by: this layout, this Python (marshal's
    format) and this release of the library (the checker's rules: an upgrade may change the
    output for the same tree)."""
    return (FORMAT, sys.version_info[:2], sys.modules["designpatterns_ref"].__version__)


#: What reading one file gives: ``(digest, raw records, error, line of the error)``.
Read = tuple[str, list[Raw], str | None, int]


def read_file(path: str) -> Read:
    """``(digest of the content, raw records, error, line)`` of one file, reading it once; on
    an error the records are empty (and the digest too when the file cannot be read), and
    ``line`` is where the parser stopped (0 when it cannot tell, or for no error)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return "", [], f"cannot read: {exc.strerror}", 0
    digest = xxhash.xxh3_128_hexdigest(data)
    try:
        return digest, extract(data, path), None, 0
    except Unparsable as exc:
        return digest, [], exc.reason, exc.line
    except BoundariesError as exc:
        return digest, [], str(exc).removeprefix(f"{path}: "), 0


def _read_chunk(paths: list[str]) -> list[Read]:
    return [read_file(p) for p in paths]


def _default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _parse_many(paths: list[str], jobs: int | None) -> list[Read]:
    """Read, hash and parse ``paths``, over ``jobs`` worker processes when there are many."""
    workers = _default_jobs() if jobs is None else jobs
    if workers <= 1 or len(paths) < _PARALLEL_FROM or sys.platform == "win32":
        return [read_file(p) for p in paths]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = max(16, len(paths) // (workers * 4))
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return [r for chunk in pool.map(_read_chunk, chunks) for r in chunk]


def read_all(
    files: dict[str, str], problems: list[Problem], jobs: int | None = None
) -> dict[str, list[Raw]]:
    """Parse every file of ``{module: path}``; unreadable files become ``problems``."""
    modules = sorted(files)
    results = _parse_many([files[m] for m in modules], jobs)
    out: dict[str, list[Raw]] = {}
    for module, (_, raw, error, line) in zip(modules, results, strict=True):
        if error:
            problems.append(Problem(files[module], line, error))
        out[module] = raw
    return out


def _check_key(key: object) -> None:
    if not isinstance(key, str):
        raise BoundariesError(f"key={shown(key, 60)}: must be a str")


def _check_plain(value: Any) -> None:
    """``value`` must be data ``marshal`` stores (the cache file's format), checked up front so
    that a bad value is refused before anything is kept."""
    try:
        marshal.dumps(value)
    except ValueError:
        raise _not_plain(value) from None


def _not_plain(value: object) -> BoundariesError:
    return BoundariesError(
        f"value={value!r:.60}: must be plain data (tuples, lists, dicts, str, int)"
    )


def _check_files(files: object) -> dict[str, str]:
    """``{module: path}`` with every path as a str, or BoundariesError naming the bad item."""
    if not isinstance(files, dict):
        raise BoundariesError(f"files={shown(files, 60)}: must be a dict of module to path")
    checked: dict[str, str] = {}
    for module, path in files.items():
        if not isinstance(module, str) or not module:
            raise BoundariesError(f"files: module {shown(module, 60)} must be a non-empty str")
        checked[module] = check_path(path, f"files[{module!r:.40}]")
    return checked


class FileCache:
    """Raw import records cached by file content, stored in one file at ``path``."""

    def __init__(
        self, path: str | os.PathLike[str], *, verify_content: bool = False, jobs: int | None = None
    ) -> None:
        self.path = Path(check_path(path, "path"))
        self.verify_content = check_flag(verify_content, "verify_content")
        self.jobs = check_jobs(jobs)
        self.parsed = 0
        self.hits = 0
        self.problems: list[Problem] = []
        self.unchanged = False
        self._dirty = False
        self._snapshot: tuple[str, Any] | None = None
        self._discovery: tuple[str, dict[str, int], Any] | None = None
        self._read_paths: list[str] | None = None
        self._written: int | None = None
        self._entries: dict[str, tuple[Stamp, str, list[Raw]]] = self._load()

    def _load(self) -> dict[str, Any]:
        try:
            with open(self.path, "rb") as fh:
                sealed = fh.read()
                self._written = os.fstat(fh.fileno()).st_mtime_ns
            data = sealed[_DIGEST:]
            if len(sealed) < _DIGEST or xxhash.xxh3_128_digest(data) != sealed[:_DIGEST]:
                return {}  # damaged (or foreign): one changed byte could change the graph
            stored = marshal.loads(data)
        except (OSError, EOFError, ValueError, TypeError, MemoryError):
            return {}
        if not isinstance(stored, dict) or stored.get("format") != _format():
            return {}
        entries = stored.get("entries")
        discovery = stored.get("discovery")
        if isinstance(discovery, tuple) and len(discovery) == 3:
            self._discovery = discovery
        snapshot = stored.get("snapshot")
        if isinstance(snapshot, tuple) and len(snapshot) == 2 and isinstance(snapshot[0], str):
            self._snapshot = snapshot
        return entries if isinstance(entries, dict) else {}

    def discovery(self, key: str) -> Any:
        """The modules found for ``key`` when no directory looked at has changed, else None."""
        if self._discovery is None or self._discovery[0] != key:
            return None
        for directory, mtime in self._discovery[1].items():
            if self._written is None or racy(mtime, self._written):
                return None  # racy: an entry added in the same tick kept the folder's time
            try:
                if os.stat(directory).st_mtime_ns != mtime:
                    return None
            except OSError:
                if mtime != -1:
                    return None
        return self._discovery[2]

    def store_discovery(self, key: str, seen: dict[str, int], value: Any) -> None:
        """Keep what discovery found, valid while the directories in ``seen`` keep their times.

        ``seen`` maps each folder to its ``mtime_ns`` (-1 for one that did not exist); ``value``
        must be plain data the cache file can hold (tuples, lists, dicts, str, int).
        """
        _check_key(key)
        if not isinstance(seen, dict) or not all(
            isinstance(d, str) and type(t) is int for d, t in seen.items()
        ):
            raise BoundariesError(
                f"seen={shown(seen, 60)}: must be a dict of folder (str) to mtime_ns"
            )
        _check_plain(value)
        self._discovery = (key, dict(seen), value)
        self._dirty = True

    def snapshot(self, key: str) -> Any:
        """The resolved graph stored under ``key`` when no file changed since, else None.

        ``key`` digests the set of modules: a resolved import stays valid while every file and
        the set of modules are unchanged.
        """
        if self.unchanged and self._snapshot is not None and self._snapshot[0] == key:
            return self._snapshot[1]
        return None

    def store_snapshot(self, key: str, value: Any) -> None:
        """Keep ``value`` (plain tuples) as the resolved graph for ``key``; a value the cache
        file cannot hold is refused and the snapshot kept before stays."""
        _check_key(key)
        _check_plain(value)
        if self._dirty or self._snapshot is None or self._snapshot[0] != key or not self.unchanged:
            previous, self._snapshot = self._snapshot, (key, value)
            try:
                self._store()
            except BoundariesError:  # the file cannot be written; nothing was
                self._snapshot = previous
                raise

    def read(self, files: dict[str, str]) -> dict[str, list[Raw]]:
        """The raw records of every file of ``{module: path}``, parsing only changed ones.

        A path is a str or a Path; a file that cannot be read or parsed is a problem
        (:attr:`problems`), not an error.
        """
        files = _check_files(files)
        self.parsed = self.hits = 0
        self.problems = []
        out: dict[str, list[Raw]] = {}
        entries: dict[str, tuple[Stamp, str, list[Raw]]] = {}
        by_digest = {e[1]: e[2] for e in self._entries.values()}
        todo: list[tuple[str, str, os.stat_result | None]] = []
        for module, path in files.items():
            try:
                st: os.stat_result | None = os.stat(path)
            except OSError:
                st = None
            old = self._entries.get(path)
            if (
                st is not None
                and old is not None
                and not self.verify_content
                and old[0] == stamp_of(st)
                and not is_racy(old[0], self._written)
            ):
                out[module] = old[2]
                entries[path] = old
                self.hits += 1
                continue
            todo.append((module, path, st))
        changed: list[tuple[str, str, os.stat_result | None]] = []
        for module, path, st in todo:
            if not by_digest:  # nothing to match against (a cold cache): read each file once
                changed.append((module, path, st))
                continue
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                self.problems.append(Problem(path, 0, f"cannot read: {exc.strerror}"))
                out[module] = []
                continue
            digest = xxhash.xxh3_128_hexdigest(data)
            raw = by_digest.get(digest)
            if raw is not None and st is not None:
                out[module] = raw
                entries[path] = (stamp_of(st), digest, raw)
                self.hits += 1
            else:
                changed.append((module, path, st))
        results = _parse_many([c[1] for c in changed], self.jobs)
        for (module, path, st), (digest, raw, error, line) in zip(changed, results, strict=True):
            self.parsed += 1
            out[module] = raw
            if error:
                self.problems.append(Problem(path, line, error))
            elif st is not None:
                entries[path] = (stamp_of(st), digest, raw)
        self._read_paths = list(files.values())
        self.unchanged = entries == self._entries
        if not self.unchanged:
            self._entries = entries
            self._snapshot = None
            self._store()
        elif not self.verify_content and any(
            is_racy(e[0], self._written) for e in entries.values()
        ):
            # Racy entries were hashed and found unchanged: written again now, the cache file
            # is newer than their stamps (once the clock has moved on) and trusts them next time.
            self._dirty = True
        return out

    def inputs(self) -> tuple[dict[str, int], dict[str, Stamp]] | None:
        """What the last build read: ``({folder: mtime_ns}, {file: stamp})``.

        None when it cannot be told whole (no discovery or read yet, or a file that could not
        be read or parsed): a result that depends on such a file must not be replayed.
        """
        if self._discovery is None or self._read_paths is None or self.problems:
            return None
        files: dict[str, Stamp] = {}
        for path in self._read_paths:
            entry = self._entries.get(path)
            if entry is None:
                return None
            files[path] = entry[0]
        return dict(self._discovery[1]), files

    def flush(self) -> None:
        """Write the cache file if something was learnt since it was last written."""
        if self._dirty:
            self._store()

    def _store(self) -> None:
        """Write the cache file whole (BoundariesError naming it, nothing written, if it cannot
        be: a file or a folder in its way, no permission, a full disk)."""
        payload = {
            "format": _format(),
            "entries": self._entries,
            "snapshot": self._snapshot,
            "discovery": self._discovery,
        }
        data = marshal.dumps(payload)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BoundariesError(
                f"cache={shown(str(self.path), 80)}: cannot be written: {exc.strerror}"
            ) from None
        write_file(self.path, xxhash.xxh3_128_digest(data) + data, "cache")
        self._dirty = False
        try:
            self._written = os.stat(self.path).st_mtime_ns
        except OSError:
            self._written = None
