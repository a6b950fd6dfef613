"""Run a configured check end to end: build the graph (cached), check it, apply the todo file.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

:func:`check` is what ``dpref boundaries check`` and CI call: it builds the graph of the
configured packages (through the content-keyed cache unless ``use_cache=False``), finds every
violation, and splits them against the recorded-violations file into new (failing), recorded
(tolerated) and stale (fixed, to be shrunk). :func:`record` writes the todo file from the current
violations (the first step of adopting the rules); :func:`shrink_todo` drops the fixed ones.

Complexity: that of the graph build (a cold parse or a cached stat of every file) plus the
checks in :mod:`~designpatterns_ref.boundaries.rules`.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); (d / "shop").mkdir()
>>> _ = (d / "shop" / "__init__.py").write_text("")
>>> _ = (d / "shop" / "a.py").write_text("from shop import b\\n")
>>> _ = (d / "shop" / "b.py").write_text("")
>>> cfg = Config.from_dict({"packages": ["shop"], "cache": "",
...     "components": {"shop.*": {"depends_on": []}}}, base=d)
>>> print(*[v.message for v in check(cfg).violations])
shop.a imports shop.b: component 'shop.a' does not depend on 'shop.b'
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from itertools import pairwise

from designpatterns_ref.boundaries.base import BoundariesError, Report, Violation, check_flag
from designpatterns_ref.boundaries.cache import FileCache
from designpatterns_ref.boundaries.config import Config
from designpatterns_ref.boundaries.graph import ImportGraph, build_graph
from designpatterns_ref.boundaries.rules import bind, find_violations
from designpatterns_ref.boundaries.todo import Unknown, read_todo, shrink, split, write_todo
from designpatterns_ref.errors import shown

__all__ = ["Inputs", "build", "check", "check_inputs", "record", "shrink_todo"]

#: What a check read: ``({folder: mtime_ns}, {file: (mtime_ns, size, inode, ctime_ns)})`` (see
#: :func:`check_inputs`).
Inputs = tuple[dict[str, int], dict[str, tuple[int, int, int, int]]]


def build(
    config: Config, *, use_cache: bool = True, verify_content: bool = False, jobs: int | None = None
) -> ImportGraph:
    """The import graph of ``config.packages`` under ``config.roots`` (relative to its base)."""
    return _build(config, use_cache=use_cache, verify_content=verify_content, jobs=jobs)[0]


def _build(
    config: Config, *, use_cache: bool, verify_content: bool, jobs: int | None
) -> tuple[ImportGraph, FileCache | None]:
    if not isinstance(config, Config):
        raise BoundariesError(f"config={shown(config, 60)}: must be a Config (Config.from_dict)")
    check_flag(use_cache, "use_cache")
    check_flag(verify_content, "verify_content")
    roots = [config.base / r for r in config.roots]
    cache = None
    if use_cache and config.cache:
        cache = FileCache(config.base / config.cache, verify_content=verify_content, jobs=jobs)
        # Made before discovery looks at the folders: made after, it would change the time of
        # a folder discovery just stamped, and the next run would list it again for nothing.
        with contextlib.suppress(OSError):
            cache.path.parent.mkdir(parents=True, exist_ok=True)
    return build_graph(config.packages, roots, cache=cache, jobs=jobs), cache


def _may_still_occur(graph: ImportGraph, config: Config) -> Unknown:
    """Whether a recorded key may still occur, unseen, because of the modules whose file could
    not be read or parsed (``graph.unread``: their imports are unknown).

    A dependency or privacy entry comes from its importer's own imports: only if the importer
    is unread. A layers or independence entry comes from a chain of imports out of its
    importer: only if an unread module is reachable from the importer in the known graph, or
    sits in the importer's component. A cycle entry ``(cycle, a, b)`` needs the edge ``a ->
    b``: only if some module of ``a`` is unread, or the edge still exists and a component
    holding an unread module is reachable from ``b`` (the way back to ``a`` would pass through
    its unknown imports). So one broken file keeps only the entries it can touch.

    A module no component owns passes its imports on to the modules importing it
    (:meth:`.rules.Bound.through_unowned`): an unread one makes the imports of every module
    reaching it through unowned modules unknown as well.
    """
    unread = frozenset(graph.unread)
    if not unread:
        return lambda key: False
    bound = bind(config, graph)
    through = {a: {b for b in bs if b not in bound.owner} for a, bs in graph.edges.items()}
    unread = unread | _reaching({m for m in unread if m not in bound.owner}, through)
    holding = {bound.owner[m] for m in unread if m in bound.owner}
    edges = bound.component_edges(graph, config.include)
    reaching = _reaching(unread, {a: set(bs) for a, bs in graph.edges.items()})
    components_reaching = _reaching(holding, edges)

    def unknown(key: tuple[str, ...]) -> bool:
        rule, names = key[0], key[1:]
        if not names:
            return False
        if rule in ("dependency", "privacy"):
            return names[0] in unread
        if rule == "cycle":  # an edge, or an earlier version's whole chain
            return any(
                a in holding or (b in edges.get(a, ()) and b in components_reaching)
                for a, b in pairwise(names)
            )
        return names[0] in reaching or bound.owner.get(names[0]) in holding

    return unknown


def _reaching(goals: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
    """The nodes from which some node of ``goals`` can be reached (``goals`` included)."""
    reverse: dict[str, list[str]] = {}
    for a, targets in edges.items():
        for b in targets:
            reverse.setdefault(b, []).append(a)
    seen = set(goals)
    todo = list(seen)
    while todo:
        for prev in reverse.get(todo.pop(), ()):
            if prev not in seen:
                seen.add(prev)
                todo.append(prev)
    return seen


def _report(graph: ImportGraph, violations: list[Violation]) -> Report:
    return Report(
        modules=len(graph.modules),
        imports=graph.edge_count,
        statements=len(graph.imports),
        violations=violations,
        problems=list(graph.problems),
        parsed=graph.parsed,
        cached=graph.cached,
    )


def check(
    config: Config,
    *,
    use_cache: bool = True,
    use_todo: bool = True,
    verify_content: bool = False,
    jobs: int | None = None,
) -> Report:
    """Check ``config``; violations recorded in the todo file are reported but do not fail."""
    return check_inputs(
        config, use_cache=use_cache, use_todo=use_todo, verify_content=verify_content, jobs=jobs
    )[0]


def check_inputs(
    config: Config,
    *,
    use_cache: bool = True,
    use_todo: bool = True,
    verify_content: bool = False,
    jobs: int | None = None,
) -> tuple[Report, Inputs | None]:
    """:func:`check`, and the folders and files it read with their stamps (None without a
    cache, or when some file could not be read or parsed); the todo file is not among them."""
    check_flag(use_todo, "use_todo")
    check_flag(use_cache, "use_cache")
    check_flag(verify_content, "verify_content")
    graph, cache = _build(config, use_cache=use_cache, verify_content=verify_content, jobs=jobs)
    violations = find_violations(graph, config)
    report = _report(graph, violations)
    if use_todo:
        recorded = read_todo(config.base / config.todo)
        report.violations, report.recorded, report.stale = split(
            violations, recorded, graph.unread, unknown=_may_still_occur(graph, config)
        )
    inputs = cache.inputs() if cache is not None and not report.problems else None
    return report, inputs


def record(config: Config, *, use_cache: bool = True) -> tuple[int, Report]:
    """Write every current violation to the todo file; returns (entries, the full report).

    An entry already recorded that a file which could not be read or parsed may produce is
    kept (it is among the entries counted, beyond the report's violations): that file's
    imports are unknown, and the entry would fail the check once it parses again.
    """
    check_flag(use_cache, "use_cache")
    graph, _ = _build(config, use_cache=use_cache, verify_content=False, jobs=None)
    report = _report(graph, find_violations(graph, config))
    unknown = _may_still_occur(graph, config)
    count = write_todo(config.base / config.todo, report.violations, graph.unread, unknown=unknown)
    return count, report


def shrink_todo(config: Config, *, use_cache: bool = True) -> tuple[int, int]:
    """Drop fixed violations from the todo file; returns (kept, removed).

    An entry that a file which could not be read or parsed may produce is kept: that file's
    imports are unknown, so the violation is not known to be fixed.
    """
    check_flag(use_cache, "use_cache")
    graph, _ = _build(config, use_cache=use_cache, verify_content=False, jobs=None)
    unknown = _may_still_occur(graph, config)
    return shrink(
        config.base / config.todo, find_violations(graph, config), graph.unread, unknown=unknown
    )
