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

from designpatterns_ref.boundaries.base import BoundariesError, Report, Violation, check_flag
from designpatterns_ref.boundaries.cache import FileCache
from designpatterns_ref.boundaries.config import Config
from designpatterns_ref.boundaries.graph import ImportGraph, build_graph
from designpatterns_ref.boundaries.rules import find_violations
from designpatterns_ref.boundaries.todo import read_todo, shrink, split, write_todo
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
        report.violations, report.recorded, report.stale = split(violations, recorded, graph.unread)
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
    count = write_todo(config.base / config.todo, report.violations, graph.unread)
    return count, report


def shrink_todo(config: Config, *, use_cache: bool = True) -> tuple[int, int]:
    """Drop fixed violations from the todo file; returns (kept, removed).

    An entry that a file which could not be read or parsed may produce is kept: that file's
    imports are unknown, so the violation is not known to be fixed.
    """
    check_flag(use_cache, "use_cache")
    graph, _ = _build(config, use_cache=use_cache, verify_content=False, jobs=None)
    return shrink(config.base / config.todo, find_violations(graph, config), graph.unread)
