"""Find a package's modules on disk the way Python's path finder would, importing nothing.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

:func:`discover` walks the package directories as the path finder does: a directory with
``__init__.py`` is a package; one without, holding Python files, is a namespace package; a
package shadows a module of the same name, and a module shadows a namespace directory; over
several search roots, or the portions of a namespace package, the first package or module of a
name wins and the namespace directories of that name combine when there is none. Extension
modules and bytecode without source count as modules (:func:`is_sourceless`): imported, but
their imports unknown. A directory that cannot be listed, or a symbolic link that loops, is a
:class:`~designpatterns_ref.boundaries.base.Problem`, not an error; each directory is listed
once, by its device and inode, however many links reach it.

Complexity: O(entries) over the directories of the package.
"""

from __future__ import annotations

import os
import re
from importlib import machinery
from pathlib import Path

from designpatterns_ref.boundaries.base import BoundariesError, Problem, check_path
from designpatterns_ref.errors import shown

__all__ = ["SUFFIXES", "discover", "is_sourceless"]

#: The file suffixes of a module, in the order Python's path finder tries them for one name:
#: extension modules, then source, then bytecode without source (``__init__`` with any of
#: them makes a package).
SUFFIXES = (
    *machinery.EXTENSION_SUFFIXES,
    *machinery.SOURCE_SUFFIXES,
    *machinery.BYTECODE_SUFFIXES,
)


def is_sourceless(path: str) -> bool:
    """Whether the module file ``path`` has no Python source to read (an extension module or
    bytecode): it is imported, but its imports are unknown."""
    return path.endswith(SUFFIXES) and not path.endswith(tuple(machinery.SOURCE_SUFFIXES))


def _stems(name: str) -> list[tuple[str, int]]:
    """``(stem, rank)`` for each way ``name`` is a module file (rank: the place of its suffix
    in :data:`SUFFIXES`; ``x.abi3.so`` is ``x`` by ``.abi3.so`` and ``x.abi3`` by ``.so``)."""
    return [(name[: -len(s)], i) for i, s in enumerate(SUFFIXES) if name.endswith(s) and name != s]


def _init_of(folder: str) -> str | None:
    """The ``__init__`` file that makes ``folder`` a package, by Python's order; else None."""
    for suffix in SUFFIXES:
        if os.path.isfile(init := os.path.join(folder, "__init__" + suffix)):
            return init
    return None


_NAME = re.compile(r"[^\W\d][\w-]*(\.[\w-]+)*")


def _scan(directory: str, seen: dict[str, int] | None) -> list[os.DirEntry[str]]:
    """The entries of ``directory``; records its modification time in ``seen``."""
    if seen is not None:
        seen[directory] = os.stat(directory).st_mtime_ns
    with os.scandir(directory) as it:
        return list(it)


def _identity(directory: str) -> tuple[int, int] | None:
    """The ``(st_dev, st_ino)`` of ``directory`` (None when it cannot be read): two paths to
    one directory (through a symbolic link) have the same identity."""
    try:
        st = os.stat(directory)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _is(entry: os.DirEntry[str], kind: str, problems: list[Problem] | None) -> bool:
    """Whether ``entry`` is a file (``kind`` "file") or a directory, following links; False,
    with a problem, when that cannot be told (a symbolic link to itself, or a loop of them)."""
    try:
        return entry.is_file() if kind == "file" else entry.is_dir()
    except OSError as exc:
        if problems is not None:
            problems.append(Problem(entry.path, 0, f"cannot be read: {exc.strerror}"))
        return False


def _has_python(
    directory: str, seen: dict[str, int] | None, visited: set[tuple[int, int]] | None = None
) -> bool:
    """Whether ``directory`` or a folder below it holds a module file; each directory is
    looked at once (``visited``), so a symbolic link back up the tree ends the walk."""
    visited = set() if visited is None else visited
    identity = _identity(directory)
    if identity is None or identity in visited:
        return False
    visited.add(identity)
    try:
        entries = _scan(directory, seen)
    except OSError:
        return False
    if any(e.name.endswith(SUFFIXES) for e in entries):
        return True
    return any(
        _is(e, "dir", None) and _has_python(e.path, seen, visited)
        for e in entries
        if _folder(e.name)
    )


#: What a name is in a search path: ``("package", __init__.py)``, ``("module", file.py)`` or
#: ``("namespace", [portion, ...])`` (the file may be an extension module or bytecode: any of
#: :data:`SUFFIXES`).
Found = tuple[str, str | list[str]]


def _listing(
    directory: str, seen: dict[str, int] | None, problems: list[Problem]
) -> tuple[dict[str, str], dict[str, str]]:
    """``({stem: file.py}, {name: folder})`` of ``directory`` (empty when it cannot be listed)."""
    try:
        entries = sorted(_scan(directory, seen), key=lambda e: e.name)
    except OSError as exc:
        problems.append(Problem(directory, 0, f"cannot list the directory: {exc.strerror}"))
        return {}, {}
    named = []
    for e in entries:
        if _is_text(e.name):
            named.append(e)
        elif e.name.endswith(SUFFIXES) or "." not in e.name:  # a module or a package, by look
            why = "a name that is not UTF-8 text, which no import statement can spell"
            problems.append(Problem(directory, 0, f"{e.name!a} is skipped: {why}"))
    ranked: dict[str, tuple[int, str]] = {}
    for e in named:
        for stem, rank in _stems(e.name):
            if rank < ranked.get(stem, (len(SUFFIXES), ""))[0] and _is(e, "file", problems):
                ranked[stem] = (rank, e.path)
    files = {stem: path for stem, (_, path) in ranked.items()}
    dirs = {e.name: e.path for e in named if _folder(e.name) and _is(e, "dir", problems)}
    return files, dirs


def _folder(name: str) -> bool:
    """Whether a folder named ``name`` may be a package: a name without a dot, but not
    ``__pycache__`` (Python's cache of compiled source, whose files are never imported)."""
    return "." not in name and name != "__pycache__"


def _is_text(name: str) -> bool:
    """Whether a file name is text (a name that is not UTF-8 comes as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _entries_of(folder: str, name: str) -> tuple[dict[str, str], dict[str, str]]:
    """The listing of ``folder`` reduced to ``name``: a search root is not listed whole."""
    base = os.path.join(folder, name)
    file = next((base + s for s in SUFFIXES if os.path.isfile(base + s)), None)
    dirs = {name: base} if _folder(name) and os.path.isdir(base) else {}
    return ({name: file} if file else {}), dirs


def _find(
    full: str,
    listings: list[tuple[dict[str, str], dict[str, str]]],
    stem: str,
    problems: list[Problem],
    seen: dict[str, int] | None,
) -> Found | None:
    """What ``stem`` is in a search path (one listing per folder, in order), by Python's rule:
    in each folder a package beats a module, which beats a namespace directory; across folders
    the first package or module wins, and namespace directories before it give way; when none
    is found, every namespace directory holding Python code is a portion of one package."""
    portions: list[str] = []
    for files, dirs in listings:
        sub, file = dirs.get(stem), files.get(stem)
        found: Found | None = None
        init = _init_of(sub) if sub is not None else None
        if init is not None:
            if file is not None:
                problems.append(Problem(file, 0, f"shadowed by the package {full} (a directory)"))
            found = ("package", init)
        elif file is not None:
            if sub is not None and _has_python(sub, seen):
                shadow = full + os.path.basename(file)[len(stem) :]  # pkg.x.py, pkg.x.pyc...
                problems.append(Problem(sub, 0, f"namespace directory shadowed by {shadow}"))
            found = ("module", file)
        elif sub is not None:
            portions.append(sub)
        if found is not None:
            for portion in portions:
                if _has_python(portion, seen):
                    problems.append(Problem(portion, 0, f"namespace directory shadowed by "
                                            f"{found[1]}"))  # fmt: skip
            return found
    portions = [p for p in portions if _has_python(p, seen)]
    return ("namespace", portions) if portions else None


def _add(
    name: str,
    found: Found,
    modules: dict[str, str],
    packages: set[str],
    problems: list[Problem],
    seen: dict[str, int] | None,
    visited: set[tuple[int, int]],
) -> None:
    """Record ``name`` as ``found`` and, for a package, everything below it.

    A package directory is listed once (``visited`` holds the ``(st_dev, st_ino)`` of each
    one listed): a symbolic link back to a directory already listed (``pkg/self -> .``) is a
    problem, not a copy of the tree below it under a new name, forty levels deep.
    """
    kind, where = found
    if kind != "module":
        folders = [os.path.dirname(where)] if isinstance(where, str) else where
        identities = [_identity(d) for d in folders]
        if any(i is not None and i in visited for i in identities):
            why = f"skipped: {name} is a directory already listed (a symbolic link back to it)"
            problems.append(Problem(folders[0], 0, why))
            return
        visited.update(i for i in identities if i is not None)
    if isinstance(where, str):
        modules[name] = where
        if is_sourceless(where):
            why = "no Python source (an extension module or bytecode): its imports are unknown"
            problems.append(Problem(where, 0, why))
    else:
        modules[name] = where[0]
    if kind == "module":
        return
    packages.add(name)
    path = [os.path.dirname(where)] if isinstance(where, str) else where
    listings = [_listing(d, seen, problems) for d in path]
    stems = {s for files, dirs in listings for s in (*files, *dirs)}
    for stem in sorted(stems - {"__init__"}):
        if "." in stem:
            continue
        child = _find(f"{name}.{stem}", listings, stem, problems, seen)
        if child is not None:
            _add(f"{name}.{stem}", child, modules, packages, problems, seen, visited)


def discover(
    package: str, roots: list[Path], seen: dict[str, int] | None = None
) -> tuple[dict[str, str], set[str], list[Problem]]:
    """Every module of ``package`` found under the search ``roots``, as Python would see it.

    Returns ``(modules, packages, problems)``: ``modules`` maps each dotted name to its file
    (``__init__.py`` for a package, the directory for a namespace package), ``packages`` holds
    the names that are packages. Raises :class:`~.base.BoundariesError` when no root holds it.
    ``seen``, when given, receives the modification time of every directory looked at: the
    result stands while none of them changes (an entry added, removed or renamed).
    """
    if not isinstance(package, str) or not _NAME.fullmatch(package):
        raise BoundariesError(f"package={shown(package, 60)}: must be a dotted module name")
    if isinstance(roots, str) or not isinstance(roots, list | tuple):
        raise BoundariesError(f"roots={shown(roots, 60)}: must be a list of folders")
    checked = [check_path(r, "roots[]") for r in roots]
    if seen is not None and not isinstance(seen, dict):
        raise BoundariesError(
            f"seen={shown(seen, 60)}: must be a dict (folder to mtime_ns) or None"
        )
    modules: dict[str, str] = {}
    packages: set[str] = set()
    problems: list[Problem] = []
    path = checked
    parts = package.split(".")
    found: Found | None = None
    for depth, part in enumerate(parts):
        if seen is not None:  # a name added to a folder of the path changes what wins
            for folder in path:
                try:
                    seen[folder] = os.stat(folder).st_mtime_ns
                except OSError:
                    seen[folder] = -1
        listings = [_entries_of(folder, part) for folder in path]
        found = _find(".".join(parts[: depth + 1]), listings, part, problems, seen)
        if found is None or (found[0] == "module" and depth < len(parts) - 1):
            raise BoundariesError(
                f"packages: package {shown(package)} not found under {[str(r) for r in roots]}"
            )
        where = found[1]
        path = [os.path.dirname(where)] if isinstance(where, str) else where
    assert found is not None
    _add(package, found, modules, packages, problems, seen, set())
    return modules, packages, problems
