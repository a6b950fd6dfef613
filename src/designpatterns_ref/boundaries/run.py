"""Run a configured check end to end: build the graph (cached), check it, apply the todo file.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

:func:`check` is what ``dpref boundaries check`` and CI call: it builds the graph of the
configured packages (through the content-keyed cache unless ``use_cache=False``), finds every
violation, and splits them against the recorded-violations file into new (failing), recorded
(tolerated) and stale (fixed, to be shrunk). :func:`record` writes the todo file from the current
violations (the first step of adopting the rules); :func:`shrink_todo` drops the fixed ones.

Complexity: that of the graph build (a cold parse or a cached stat of every file) plus the
checks in :mod:`~designpatterns_ref.boundaries.check`.

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

from designpatterns_ref.boundaries.base import BoundariesError, Report, Violation, check_flag
from designpatterns_ref.boundaries.cache import FileCache
from designpatterns_ref.boundaries.check import find_violations
from designpatterns_ref.boundaries.config import Config
from designpatterns_ref.boundaries.graph import ImportGraph, build_graph
from designpatterns_ref.boundaries.todo import read_todo, shrink, split, write_todo

__all__ = ["build", "check", "record", "shrink_todo"]


def build(
    config: Config, *, use_cache: bool = True, verify_content: bool = False, jobs: int | None = None
) -> ImportGraph:
    """The import graph of ``config.packages`` under ``config.roots`` (relative to its base)."""
    if not isinstance(config, Config):
        raise BoundariesError(f"config={config!r:.60}: must be a Config (Config.from_dict)")
    check_flag(use_cache, "use_cache")
    check_flag(verify_content, "verify_content")
    roots = [config.base / r for r in config.roots]
    cache = None
    if use_cache and config.cache:
        cache = FileCache(config.base / config.cache, verify_content=verify_content, jobs=jobs)
    return build_graph(config.packages, roots, cache=cache, jobs=jobs)


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
    check_flag(use_todo, "use_todo")
    graph = build(config, use_cache=use_cache, verify_content=verify_content, jobs=jobs)
    violations = find_violations(graph, config)
    report = _report(graph, violations)
    if use_todo:
        recorded = read_todo(config.base / config.todo)
        report.violations, report.recorded, report.stale = split(violations, recorded)
    return report


def record(config: Config, *, use_cache: bool = True) -> tuple[int, Report]:
    """Write every current violation to the todo file; returns (entries, the full report)."""
    report = check(config, use_cache=use_cache, use_todo=False)
    count = write_todo(config.base / config.todo, report.violations)
    return count, report


def shrink_todo(config: Config, *, use_cache: bool = True) -> tuple[int, int]:
    """Drop fixed violations from the todo file; returns (kept, removed)."""
    report = check(config, use_cache=use_cache, use_todo=False)
    return shrink(config.base / config.todo, report.violations)
