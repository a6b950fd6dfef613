"""Find a package's modules on disk and read each file's import statements with ``ast``.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

Nothing is imported: :func:`discover` walks the package directories the way Python's path
finder would (a directory with ``__init__.py`` is a package; one without, holding Python files,
is a namespace package; a package shadows a module of the same name, and a module shadows a
namespace directory; over several search roots, or the portions of a namespace package, the
first package or module of a name wins and the namespace directories of that name combine
when there is none), and :func:`extract` parses one file and returns its imports as raw
records, before any name is resolved, so they can be cached by file content.

Parse only what you must: the source is cut after the last top-level statement that can hold
an import (everything after the last occurrence of the bytes ``import``), and only that prefix
is parsed; a cut that lands inside a string or brackets makes the prefix fail to parse, and
then the whole file is parsed, so the records are always those of a full parse (one
difference: a syntax error after the last import goes unnoticed; this is not a compiler).
The shortcuts read the raw bytes, so a file whose coding cookie names a codec that spells
ASCII otherwise (``# coding: utf-7``, where ``+AGk-mport`` is ``import``) is parsed and
walked whole; a str is the decoded source, parsed as such (a cookie in it is ignored, as
``compile`` ignores it). Only statements are visited, never expressions: an ``import`` is
always a statement, so the walk skips the bulk of the tree. Expressions are walked only in
files whose text mentions ``import_module`` or ``__import__``, to find dynamic imports with a
constant name.

A raw record is ``(form, level, module, names, line, kind)``: ``form`` is ``"i"`` (``import
a.b``), ``"f"`` (``from .a import b, c``) or ``"d"`` (dynamic; ``names`` then holds the
``package=`` argument: a constant, ``"\\0package"`` for ``__package__``, ``"\\0name"`` for
``__name__``, or nothing).

Complexity: O(n) in the size of the file to parse; O(s) in its statements to walk.

>>> extract(b"import os\\nif TYPE_CHECKING:\\n    from . import base\\n")
[('i', 0, 'os', (), 1, 'module'), ('f', 1, '', ('base',), 3, 'type_checking')]
"""

from __future__ import annotations

import ast
import functools
import io
import itertools
import os
import re
import tokenize
from bisect import bisect_left, bisect_right
from importlib import machinery
from pathlib import Path

from designpatterns_ref.boundaries.base import BoundariesError, Problem, check_path
from designpatterns_ref.errors import shown

__all__ = ["SUFFIXES", "Raw", "Unparsable", "discover", "extract", "is_sourceless"]

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


Raw = tuple[str, int, str, tuple[str, ...], int, str]

_NAME = re.compile(r"[^\W\d][\w-]*(\.[\w-]+)*")
_DYNAMIC = re.compile(rb"import_module|__import__")
_NEWLINE = re.compile(rb"\r\n|\r|\n")
_TOP_LINE = re.compile(rb"^[^\s#)\]}]", re.MULTILINE)
_RANK = {"module": 0, "conditional": 1, "function": 2, "type_checking": 3}


def _stricter(kind: str, context: str) -> str:
    return context if _RANK[context] > _RANK[kind] else kind


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_TRIES = (ast.Try, ast.TryStar)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_COMPOUND = frozenset(
    {ast.If, ast.ClassDef, ast.With, ast.AsyncWith, ast.Match, *_FUNCTIONS, *_TRIES, *_LOOPS}
)


def _walk_statements(body: list[ast.stmt], out: list[Raw]) -> None:
    stack: list[tuple[list[ast.stmt], str]] = [(body, "module")]
    while stack:
        statements, kind = stack.pop()
        for node in statements:
            t = type(node)
            if t is ast.Import:
                assert isinstance(node, ast.Import)
                out.extend(("i", 0, a.name, (), node.lineno, kind) for a in node.names)
            elif t is ast.ImportFrom:
                assert isinstance(node, ast.ImportFrom)
                names = tuple(a.name for a in node.names)
                out.append(("f", node.level, node.module or "", names, node.lineno, kind))
            elif t in _COMPOUND:
                _push(node, kind, stack)


def _push(node: ast.stmt, kind: str, stack: list[tuple[list[ast.stmt], str]]) -> None:
    """Queue the bodies of a compound statement with the kind their imports have."""
    if isinstance(node, _FUNCTIONS):
        stack.append((node.body, _stricter(kind, "function")))
    elif isinstance(node, ast.ClassDef):
        stack.append((node.body, kind))
    elif isinstance(node, ast.If):
        test = "type_checking" if _is_type_checking(node.test) else "conditional"
        stack.append((node.body, _stricter(kind, test)))
        stack.append((node.orelse, _stricter(kind, "conditional")))
    elif isinstance(node, _TRIES):
        inner = _stricter(kind, "conditional")
        stack.append((node.body, inner))
        stack.extend((h.body, inner) for h in node.handlers)
        stack.append((node.orelse, inner))
        stack.append((node.finalbody, inner))
    elif isinstance(node, ast.With | ast.AsyncWith):
        stack.append((node.body, _stricter(kind, "conditional")))
    elif isinstance(node, _LOOPS):
        stack.append((node.body, _stricter(kind, "conditional")))
        stack.append((node.orelse, _stricter(kind, "conditional")))
    elif isinstance(node, ast.Match):
        stack.extend((case.body, _stricter(kind, "conditional")) for case in node.cases)


def _package_argument(node: ast.expr) -> tuple[str, ...] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, ast.Name) and node.id in ("__package__", "__name__"):
        return ("\0package" if node.id == "__package__" else "\0name",)
    return None


def _dynamic_lines(text: bytes) -> list[int]:
    """The line numbers (1-based, sorted) on which ``import_module`` or ``__import__`` occur,
    counted as Python counts them: a line ends at ``\\r\\n``, ``\\r`` or ``\\n``."""
    starts = [m.end() for m in _NEWLINE.finditer(text)]
    return sorted({bisect_right(starts, m.start()) + 1 for m in _DYNAMIC.finditer(text)})


def _touches(node: ast.AST, lines: list[int]) -> bool:
    """Whether ``node`` spans one of ``lines``. A function or class starts at its first
    decorator, not at its ``def`` or ``class`` line (``@import_module("x").hook``)."""
    start = getattr(node, "lineno", None)
    if start is None:
        return True
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        start = min(start, *(d.lineno for d in decorators))
    end = getattr(node, "end_lineno", None) or start
    i = bisect_left(lines, start)
    return i < len(lines) and lines[i] <= end


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    """The argument of ``call`` at ``position`` or named ``keyword`` (None when not given)."""
    if len(call.args) > position and not any(
        isinstance(a, ast.Starred) for a in call.args[: position + 1]
    ):
        return call.args[position]
    return next((kw.value for kw in call.keywords if kw.arg == keyword), None)


def _walk_dynamic(tree: ast.Module, lines: list[int] | None, out: list[Raw]) -> None:
    """Calls of ``import_module``/``__import__``, visiting only nodes spanning ``lines``
    (every node when None)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        children = ast.iter_child_nodes(node)
        stack.extend(c for c in children if lines is None or _touches(c, lines))
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in ("import_module", "__import__"):
            continue
        first = _argument(node, 0, "name")
        if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
            continue
        if not first.value:
            continue
        package: tuple[str, ...] | None = ()
        if name == "import_module":
            given = _argument(node, 1, "package")
            if given is not None and first.value.startswith("."):
                package = _package_argument(given)  # an absolute name ignores the package
        elif any(isinstance(a, ast.Starred) for a in node.args) or any(
            kw.arg is None for kw in node.keywords
        ):
            package = None  # arguments unpacked from a variable: the level is unknown
        else:
            level = _argument(node, 4, "level")
            if level is not None and not (
                isinstance(level, ast.Constant) and type(level.value) is int and level.value == 0
            ):
                package = None  # __import__ relative to its caller's globals: not followed
        if package is not None:
            out.append(("d", 0, first.value, package, node.lineno, "dynamic"))


def _cut(text: bytes) -> int:
    """Where the statements after the last mention of ``import`` start (len(text) if none).

    The cut is the first line after that mention starting in column 0 with code (not a comment,
    a closing bracket or a continued line). Everything before it is a sequence of whole
    top-level statements unless the cut falls inside a string or brackets, in which case the
    prefix does not parse and the caller parses the whole file instead.
    """
    last = text.rfind(b"import")
    start = text.find(b"\n", last)
    if start == -1:
        return len(text)
    match = _TOP_LINE.search(text, start + 1)
    while match is not None and _continues(text, match.start()):
        match = _TOP_LINE.search(text, match.end())
    return len(text) if match is None else match.start()


def _continues(text: bytes, start: int) -> bool:
    """Whether the text before ``start``, past its line endings, ends in a backslash (the
    line at ``start`` continues a statement). It looks back over those line endings only, so
    the candidates of one cut cost O(n) together, not a copy of the text before each."""
    i = start
    while i > 0 and text[i - 1] in b"\r\n":
        i -= 1
    return i > 0 and text[i - 1] == ord("\\")


def _parse_prefix(text: bytes, path: str, decoded: bool) -> ast.Module:
    """Parse only the statements up to the last import; the whole file if that fails.
    ``decoded``: ``text`` is the UTF-8 of a str, parsed as the str (no coding cookie applies)."""
    cut = _cut(text)
    if cut < len(text):
        try:
            return ast.parse(text[:cut].decode() if decoded else text[:cut], filename=path)
        except (SyntaxError, ValueError):
            pass
    return ast.parse(text.decode() if decoded else text, filename=path)


@functools.cache
def _spells_ascii(codec: str) -> bool:
    """Whether ``codec`` reads every ASCII byte as that character (UTF-8, latin-1, cp1252 and
    the like do; UTF-7 does not: ``+AGk-`` is an ``i``)."""
    ascii = bytes(range(128))
    try:
        return ascii.decode(codec) == ascii.decode("ascii")
    except (UnicodeDecodeError, LookupError):
        return False


def _ascii_compatible(text: bytes) -> bool:
    """Whether the bytes of ``text`` can be searched for ASCII words (``import``) and lines:
    true unless a coding cookie (PEP 263) in its first two lines names a codec that spells
    ASCII otherwise, or one that Python does not know (the parse then says so)."""
    ends = [m.end() for m in itertools.islice(_NEWLINE.finditer(text), 2)]
    if b"coding" not in (text[: ends[-1]] if len(ends) == 2 else text):
        return True
    try:
        codec, _ = tokenize.detect_encoding(io.BytesIO(text).readline)
    except SyntaxError:
        return False
    return _spells_ascii(codec)


class Unparsable(BoundariesError):
    """A source file that does not parse (a :class:`~.base.BoundariesError`), with the line
    the parser stopped at (0 when it does not tell)."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}: does not parse: {reason}" + (f" (line {line})" if line else ""))
        self.path = path
        self.line = line
        self.reason = f"does not parse: {reason}"
        self._args = (path, line, reason)

    def __reduce__(self) -> tuple[type[Unparsable], tuple[str, int, str]]:
        """Rebuilt from the three arguments (the message alone cannot rebuild it), so it
        crosses a process boundary: raised in a worker of a process pool, it reaches the
        caller as itself."""
        return (type(self), self._args)


def extract(source: bytes | str, path: str = "<source>") -> list[Raw]:
    """The raw import records of one file's source, in line order.

    Raises :class:`~.base.BoundariesError` when the source is not text, and :class:`Unparsable`
    (one) when it does not parse: a syntax error, a null byte, or nesting deeper than Python's
    parser goes (a generated expression of thousands of terms).
    """
    path = check_path(path, "path")
    out: list[Raw] = []
    decoded = isinstance(source, str)
    if isinstance(source, str):
        try:
            text = source.encode()
        except UnicodeEncodeError:
            raise BoundariesError(f"{path}: source holds a lone surrogate") from None
    elif isinstance(source, bytes):
        text = source
    else:
        raise BoundariesError(f"source={shown(source, 60)}: must be bytes or str")
    whole = not decoded and not _ascii_compatible(text)  # no shortcut reads such bytes
    if not whole and b"import" not in text:
        return out
    try:
        tree = ast.parse(text, filename=str(path)) if whole else _parse_prefix(
            text, str(path), decoded)  # fmt: skip
        _walk_statements(tree.body, out)
        if whole:
            _walk_dynamic(tree, None, out)
        elif b"import_module" in text or b"__import__" in text:
            _walk_dynamic(tree, _dynamic_lines(text), out)
    except SyntaxError as exc:
        raise Unparsable(path, exc.lineno or 0, exc.msg) from None
    except ValueError as exc:  # a null byte
        raise Unparsable(path, 0, str(exc)) from None
    except (RecursionError, MemoryError):  # nested deeper than the parser (or walker) goes
        raise Unparsable(path, 0, "nested too deeply to parse") from None
    out.sort(key=lambda r: r[4])
    return out


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
