"""The import graph of one or more packages, built from source without importing it.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

:func:`build_graph` discovers the modules
(:func:`~designpatterns_ref.boundaries.discovery.discover`), reads each file's raw imports
(:func:`~designpatterns_ref.boundaries.scan.extract`, or the cache when the file's content is
unchanged) and resolves them against the set of modules found:

- ``import a.b.c`` is an import of ``a.b.c``;
- ``from .x import y`` is resolved against the importer's package; ``y`` is a module when
  ``x.y`` is one, else an attribute of ``x``; a relative import past the top package is a
  :class:`~designpatterns_ref.boundaries.base.Problem`, not an edge;
- ``from x import *`` imports ``x``;
- ``importlib.import_module("a.b")`` and ``__import__("a.b")`` are imports of kind ``dynamic``.

Imports of modules outside the scanned packages are left out, as are a module's imports of
itself. An edge of the graph is a pair (importer, imported) with every statement behind it.

Complexity: O(total source) to parse on a cold run; O(files) stats plus O(imports) to rebuild
the graph on a cached one (when no file and no module changed, the resolved imports themselves
come from the cache). :meth:`ImportGraph.shortest_chain` is a breadth-first search,
O(modules + edges).

>>> g = ImportGraph({"a": "a/__init__.py", "a.b": "a/b.py"}, {"a"})
>>> g.add(Import("a.b", "a", 1, "module", "a/b.py"))
>>> g.shortest_chain({"a.b"}, {"a"})
('a.b', 'a')
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from pathlib import Path

import xxhash

from designpatterns_ref.boundaries.base import (
    KINDS,
    BoundariesError,
    Import,
    Problem,
    check_jobs,
    check_path,
)
from designpatterns_ref.boundaries.cache import FileCache, read_all
from designpatterns_ref.boundaries.discovery import discover, is_sourceless
from designpatterns_ref.boundaries.scan import Raw
from designpatterns_ref.errors import shown

__all__ = ["ImportGraph", "build_graph"]


def _refuse(name: str, value: object, allowed: str) -> BoundariesError:
    return BoundariesError(f"{name}={shown(value, 60)}: {allowed}")


def _names(value: object, name: str) -> set[str]:
    """A set of dotted names (a set or frozenset of str), or BoundariesError naming ``name``."""
    if not isinstance(value, set | frozenset) or not all(isinstance(v, str) for v in value):
        raise _refuse(name, value, "must be a set of dotted module names (str)")
    return set(value)


def _kinds(value: object, name: str) -> set[str] | None:
    """None (every kind) or a collection of :data:`KINDS`, or BoundariesError naming ``name``."""
    if value is None:
        return None
    if not isinstance(value, set | frozenset | list | tuple) or not all(
        isinstance(v, str) and v in KINDS for v in value
    ):
        raise _refuse(name, value, f"must be None or a set of import kinds ({', '.join(KINDS)})")
    return set(value)


class ImportGraph:
    """Modules, the imports between them, and chains through them."""

    def __init__(self, modules: dict[str, str], packages: set[str]) -> None:
        if not isinstance(modules, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in modules.items()
        ):
            raise _refuse("modules", modules, "must map dotted module names (str) to paths (str)")
        self.modules = modules
        self.packages = set(_names(packages, "packages"))
        self.imports: list[Import] = []
        self.edges: dict[str, dict[str, list[Import]]] = {}
        self.problems: list[Problem] = []
        #: Modules whose file could not be read or parsed, or that have no Python source (an
        #: extension module, bytecode): their imports are unknown.
        self.unread: set[str] = set()
        self.parsed = 0
        self.cached = 0

    def add(self, imp: Import) -> None:
        """Record one resolved import (its edge is created on first use).

        Raises :class:`BoundariesError`, changing nothing, unless ``imp`` is an
        :class:`Import` between two different modules of the graph, of one of :data:`KINDS`.
        """
        self._record(self._check_import(imp))

    def _check_import(self, imp: object) -> Import:
        if not isinstance(imp, Import):
            raise _refuse("imp", imp, "must be an Import")
        for field in ("importer", "imported"):
            name = getattr(imp, field)
            if not isinstance(name, str) or name not in self.modules:
                raise _refuse("imp", imp, f"{field} must be a module of the graph")
        if imp.importer == imp.imported:
            raise _refuse("imp", imp, "a module's import of itself is not an edge")
        if isinstance(imp.line, bool) or not isinstance(imp.line, int) or imp.line < 1:
            raise _refuse("imp", imp, "line must be a whole number from 1")
        if imp.kind not in KINDS:
            raise _refuse("imp", imp, f"kind must be one of {', '.join(KINDS)}")
        if not isinstance(imp.path, str) or not (imp.name is None or isinstance(imp.name, str)):
            raise _refuse("imp", imp, "path must be a str and name a str or None")
        return imp

    def _record(self, imp: Import) -> None:
        """:meth:`add` without the checks, for imports the graph resolved itself."""
        self.imports.append(imp)
        self.edges.setdefault(imp.importer, {}).setdefault(imp.imported, []).append(imp)

    @property
    def edge_count(self) -> int:
        """The number of distinct (importer, imported) pairs."""
        return sum(len(targets) for targets in self.edges.values())

    def _modules(self, value: object, name: str) -> set[str]:
        names = _names(value, name)
        unknown = sorted(names - self.modules.keys())
        if unknown:
            raise _refuse(name, value, f"names modules not in the graph: {shown(unknown[:3], 60)}")
        return names

    def edge_set(self, kinds: Iterable[str] | None = None) -> set[tuple[str, str]]:
        """The (importer, imported) pairs, counting only statements of ``kinds`` when given."""
        allowed = _kinds(kinds, "kinds")
        return {
            (a, b)
            for a, targets in self.edges.items()
            for b, imps in targets.items()
            if allowed is None or any(i.kind in allowed for i in imps)
        }

    def within(self, prefix: str) -> set[str]:
        """``prefix`` and every module below it."""
        if not isinstance(prefix, str) or not prefix:
            raise _refuse("prefix", prefix, "must be a dotted module name (non-empty str)")
        dotted = prefix + "."
        return {m for m in self.modules if m == prefix or m.startswith(dotted)}

    def shortest_chain(
        self,
        sources: set[str],
        targets: set[str],
        *,
        avoid: set[str] | None = None,
        kinds: set[str] | None = None,
    ) -> tuple[str, ...] | None:
        """The shortest import chain from any of ``sources`` to any of ``targets``, or None.

        The chain does not pass through ``avoid`` (sources themselves are allowed only at its
        start); only statements of ``kinds`` count when given. ``sources`` and ``targets`` are
        sets of modules of the graph.
        """
        sources = self._modules(sources, "sources")
        targets = self._modules(targets, "targets")
        avoid = set() if avoid is None else _names(avoid, "avoid")
        kinds = _kinds(kinds, "kinds")
        blocked = avoid | sources
        parent: dict[str, str | None] = {s: None for s in sources}
        queue = deque(sorted(sources))
        while queue:
            node = queue.popleft()
            for nxt in sorted(self.edges.get(node, {})):
                if nxt in parent:
                    continue
                imps = self.edges[node][nxt]
                if kinds is not None and not any(i.kind in kinds for i in imps):
                    continue
                parent[nxt] = node
                if nxt in targets:
                    chain = [nxt]
                    step: str | None = node
                    while step is not None:
                        chain.append(step)
                        step = parent[step]
                    return tuple(reversed(chain))
                if nxt not in blocked:
                    queue.append(nxt)
        return None

    def first_import(self, importer: str, imported: str, kinds: set[str] | None = None) -> Import:
        """The earliest statement behind the edge (importer, imported), preferring ``kinds``.

        Raises :class:`BoundariesError` when there is no such edge.
        """
        for name, value in (("importer", importer), ("imported", imported)):
            if not isinstance(value, str):
                raise _refuse(name, value, "must be a dotted module name (str)")
        allowed = _kinds(kinds, "kinds")
        imps = self.edges.get(importer, {}).get(imported)
        if not imps:
            raise BoundariesError(
                f"importer={shown(importer, 60)}, imported={shown(imported, 60)}: no import "
                "between them"
            )
        chosen = [i for i in imps if allowed is None or i.kind in allowed] or imps
        return min(chosen, key=lambda i: i.line)


def _existing(name: str, modules: dict[str, str]) -> str | None:
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _base_package(importer: str, is_package: bool, level: int) -> str | None:
    parts = importer.split(".")
    if not is_package:
        parts.pop()
    drop = level - 1
    if drop > len(parts) - 1 or not parts:
        return None
    return ".".join(parts[: len(parts) - drop])


def _resolve(importer: str, path: str, raw: Iterable[Raw], graph: ImportGraph) -> None:
    """Resolve ``importer``'s raw records against ``graph.modules`` and add them to ``graph``.

    Private: the records are trusted as :func:`~.scan.extract` made them (the cache holds
    them sealed); an import built by hand goes through :meth:`ImportGraph.add`, which checks it.
    """
    modules = graph.modules
    is_package = importer in graph.packages

    def add(target: str, line: int, kind: str, name: str | None = None) -> None:
        found = _existing(target, modules)
        if found is None:
            return
        if found != target:  # `from X import y` needs the module X as much as `import X`
            graph.problems.append(Problem(path, line, f"{target} is not a module; using {found}"))
        if found != importer:
            imp = Import(importer, found, line, kind, path, name if found == target else None)
            graph._record(imp)

    for form, level, module, names, line, kind in raw:
        if form == "i":
            add(module, line, kind)
            continue
        if form == "d":
            base: str | None = ""
            if module.startswith("."):
                level = len(module) - len(module.lstrip("."))
                anchor = names[0] if names else ""
                if anchor == "\0package":
                    anchor = importer if is_package else importer.rpartition(".")[0]
                elif anchor == "\0name":
                    anchor = importer
                if not anchor:
                    continue
                base = _base_package(anchor, True, level)
                module = module[level:]
                if base is None:
                    graph.problems.append(Problem(path, line, "relative import past the top"))
                    continue
                module = f"{base}.{module}" if module else base
            add(module, line, kind)
            continue
        if level:
            base = _base_package(importer, is_package, level)
            if base is None:
                graph.problems.append(
                    Problem(path, line, f"relative import ({'.' * level}{module}) past the top")
                )
                continue
            module = f"{base}.{module}" if module else base
        for name in names:
            if name == "*":
                add(module, line, kind)
            elif f"{module}.{name}" in modules:
                add(f"{module}.{name}", line, kind)
            else:
                add(module, line, kind, name)


def _discover_all(
    names: list[str], roots: list[Path], cache: FileCache | None
) -> tuple[dict[str, str], set[str], list[Problem]]:
    """Discover every package; through the cache when no directory looked at has changed."""
    for name in names:  # before the cache key, which is the names' repr
        if not isinstance(name, str):
            raise BoundariesError(f"package={shown(name, 60)}: must be a dotted module name")
    key = repr((names, [str(r) for r in roots]))
    if cache is not None and (stored := cache.discovery(key)) is not None:
        found_modules, found_packages, found_problems = stored
        return dict(found_modules), set(found_packages), [Problem(*p) for p in found_problems]
    seen: dict[str, int] | None = {} if cache is not None else None
    modules: dict[str, str] = {}
    pkgs: set[str] = set()
    problems: list[Problem] = []
    for name in names:
        found, found_packages, found_problems = discover(name, roots, seen)
        modules.update(found)
        pkgs |= found_packages
        problems += found_problems
    if cache is not None and seen is not None:
        flat = [(p.path, p.line, p.message) for p in problems]
        cache.store_discovery(key, seen, (modules, sorted(pkgs), flat))
    return modules, pkgs, problems


def build_graph(
    packages: Iterable[str],
    roots: Iterable[str | Path],
    *,
    cache: FileCache | None = None,
    jobs: int | None = None,
) -> ImportGraph:
    """The import graph of ``packages`` (dotted names) found under the search ``roots``.

    With a ``cache``, only files whose content changed are parsed; ``jobs`` worker processes
    parse when many files must be (default: one per CPU, at most 8; ``1`` parses in-process).
    Raises :class:`BoundariesError` when a package is not found.
    """
    if isinstance(packages, str) or not isinstance(packages, list | tuple | set | frozenset):
        raise BoundariesError(f"packages={shown(packages, 60)}: must be a list of package names")
    if isinstance(roots, str) or not isinstance(roots, list | tuple):
        raise BoundariesError(f"roots={shown(roots, 60)}: must be a list of folders")
    names = sorted(packages) if isinstance(packages, set | frozenset) else list(packages)
    root_paths = [Path(check_path(r, "roots[]")) for r in roots]
    jobs = check_jobs(jobs)
    if cache is not None and not isinstance(cache, FileCache):
        raise BoundariesError(f"cache={shown(cache, 60)}: must be a FileCache or None")
    if not names:
        raise BoundariesError("packages=[]: name at least one package to check")
    modules, pkgs, problems = _discover_all(names, root_paths, cache)
    graph = ImportGraph(modules, pkgs)
    graph.problems.extend(problems)
    files = {m: p for m, p in modules.items() if p.endswith(".py")}
    sourceless = {m for m, p in modules.items() if is_sourceless(p)}
    by_path = {p: m for m, p in files.items()}
    if cache is None:
        unreadable: list[Problem] = []
        raw_by_module = read_all(files, unreadable, jobs)
        graph.problems += unreadable
        graph.parsed = len(files)
    else:
        raw_by_module = cache.read(files)
        unreadable = cache.problems
        graph.problems += unreadable
        graph.parsed, graph.cached = cache.parsed, cache.hits
    graph.unread = {by_path[p.path] for p in unreadable if p.path in by_path} | sourceless
    if cache is not None:
        # The resolved imports stand while the files, the modules and what discovery warned
        # about are unchanged (a snapshot reused on modules alone hid discovery's new warnings).
        found = [(p.path, p.line, p.message) for p in problems]
        key = xxhash.xxh3_128_hexdigest(
            repr((sorted(modules.items()), sorted(pkgs), found)).encode()
        )
        stored = cache.snapshot(key)
        if stored is not None:  # nothing changed: the resolved imports are still right
            imports: list[tuple[str, str, int, str, str, str | None]] = stored[0]
            for importer, imported, line, kind, path, name in imports:
                graph._record(Import(importer, imported, line, kind, path, name))
            # Only resolving's problems are stored: a file that does not parse is in no entry,
            # so an edit that moves its error keeps the snapshot; its problem is this read's.
            graph.problems += [Problem(p, n, m) for p, n, m in stored[1]]
            cache.flush()
            return graph
    before = len(graph.problems)
    for module in sorted(raw_by_module):
        _resolve(module, files[module], raw_by_module[module], graph)
    if cache is not None:
        imports = [(i.importer, i.imported, i.line, i.kind, i.path, i.name) for i in graph.imports]
        resolved = [(p.path, p.line, p.message) for p in graph.problems[before:]]
        cache.store_snapshot(key, (imports, resolved))
    return graph
