"""Module boundaries: components, public APIs and allowed dependencies checked on import graphs.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

Shopify kept one deployable Rails monolith but cut it into components, each with a public API
and a list of components it may use, checked statically in CI (packwerk). This family does the
same for Python: :func:`build_graph` reads a package's imports from source with ``ast`` (no code
is imported), :class:`Config` declares components, layers and independence contracts (in
``pyproject.toml`` under ``[tool.dpref.boundaries]`` or in Python), :func:`check` reports every
violation with its file, line, rule and fix, a recorded-violations file lets a codebase adopt
the rules gradually, and a content-keyed cache makes a re-run over an unchanged tree near
instant. ``dpref boundaries check PATH`` runs it from the command line.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); (d / "shop").mkdir()
>>> for name, text in {"__init__": "", "orders": "from shop.payments import _ledger\\n",
...                    "payments": "_ledger = []\\n"}.items():
...     _ = (d / "shop" / f"{name}.py").write_text(text)
>>> cfg = Config.from_dict({"packages": ["shop"], "cache": "", "components": {
...     "shop.*": {"public": [], "depends_on": ["shop.payments"]}}}, base=d)
>>> print(*[v.rule for v in check(cfg).violations])
privacy
"""

from __future__ import annotations

import importlib

from designpatterns_ref.errors import shown

# The names load on first use, so that `python -m designpatterns_ref.boundaries` can replay a
# verdict without importing the checker (see verdict.py); typing is not imported either.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from designpatterns_ref.boundaries.base import (
        KINDS,
        RULES,
        BoundariesError,
        ConfigError,
        Import,
        Problem,
        Report,
        Violation,
    )
    from designpatterns_ref.boundaries.cache import FileCache
    from designpatterns_ref.boundaries.config import (
        Component,
        Config,
        Independence,
        Layers,
        load_config,
    )
    from designpatterns_ref.boundaries.discovery import discover
    from designpatterns_ref.boundaries.graph import ImportGraph, build_graph
    from designpatterns_ref.boundaries.report import FORMATS, render
    from designpatterns_ref.boundaries.rules import bind, find_violations, shortest_cycle
    from designpatterns_ref.boundaries.run import build, check, record, shrink_todo
    from designpatterns_ref.boundaries.scan import extract
    from designpatterns_ref.boundaries.todo import read_todo, split, write_todo

#: Where each public name lives (its module in this package).
_WHERE = {
    "BoundariesError": "base",
    "Component": "config",
    "Config": "config",
    "ConfigError": "base",
    "FORMATS": "report",
    "FileCache": "cache",
    "Import": "base",
    "ImportGraph": "graph",
    "Independence": "config",
    "KINDS": "base",
    "Layers": "config",
    "Problem": "base",
    "RULES": "base",
    "Report": "base",
    "Violation": "base",
    "bind": "rules",
    "build": "run",
    "build_graph": "graph",
    "check": "run",
    "discover": "discovery",
    "extract": "scan",
    "find_violations": "rules",
    "load_config": "config",
    "read_todo": "todo",
    "record": "run",
    "render": "report",
    "shortest_cycle": "rules",
    "shrink_todo": "run",
    "split": "todo",
    "write_todo": "todo",
}

__all__ = [
    "FORMATS",
    "KINDS",
    "RULES",
    "BoundariesError",
    "Component",
    "Config",
    "ConfigError",
    "FileCache",
    "Import",
    "ImportGraph",
    "Independence",
    "Layers",
    "Problem",
    "Report",
    "Violation",
    "bind",
    "build",
    "build_graph",
    "check",
    "discover",
    "extract",
    "find_violations",
    "load_config",
    "read_todo",
    "record",
    "render",
    "shortest_cycle",
    "shrink_todo",
    "split",
    "write_todo",
]


def __getattr__(name: str) -> object:
    """Import the module defining ``name`` the first time it is used."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {shown(__name__)} has no attribute {shown(name)}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
