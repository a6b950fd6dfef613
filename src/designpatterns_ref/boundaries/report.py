"""A check's report for people (file:line, the rule, the fix), for JSON and for GitHub Actions.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

:func:`render_human` prints one block per new violation (where, what, how to fix), then the
recorded and stale counts and a one-line verdict; :func:`render_json` gives every field for
tools; :func:`render_github` prints workflow commands (``::error file=...,line=...::``) that
GitHub shows as annotations on the pull request's diff. Paths are shown relative to ``base``.

Complexity: O(violations).

>>> r = Report(modules=3, imports=2, statements=2)
>>> render_github(r)
''
>>> render_human(r).splitlines()[-1]
'boundaries: OK, 3 modules, 2 imports; no new violation'
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from designpatterns_ref.boundaries.base import BoundariesError, Report, Violation
from designpatterns_ref.errors import shown

__all__ = ["FORMATS", "render", "render_github", "render_human", "render_json"]


def _rel(path: str, base: Path | None) -> str:
    if base is None:
        return path
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return path


#: The output formats :func:`render` knows.
FORMATS = ("human", "json", "github")


def render_human(report: Report, base: Path | None = None) -> str:
    """The report as text for a terminal."""
    lines: list[str] = []
    for v in report.violations:
        lines.append(f"{_rel(v.path, base)}:{v.line}: {v.rule}: {v.message}")
        lines.append(f"    fix: {v.fix}")
    for p in report.problems:
        lines.append(f"{_rel(p.path, base)}:{p.line}: warning: {p.message}")
    if report.recorded:
        lines.append(f"{len(report.recorded)} recorded violation(s) tolerated (the todo file)")
    if report.stale:
        lines.append(
            f"{len(report.stale)} recorded violation(s) are fixed: run `dpref boundaries shrink` "
            "to drop them from the todo file"
        )
    size = f"{report.modules} modules, {report.imports} imports"
    if report.ok:
        lines.append(f"boundaries: OK, {size}; no new violation")
    else:
        lines.append(f"boundaries: FAILED, {size}; {len(report.violations)} new violation(s)")
    return "\n".join(lines)


def _as_dict(v: Violation, base: Path | None) -> dict[str, object]:
    return {
        "rule": v.rule,
        "importer": v.importer,
        "imported": v.imported,
        "path": _rel(v.path, base),
        "line": v.line,
        "message": v.message,
        "fix": v.fix,
        "contract": v.contract,
        "chain": list(v.chain),
        "key": list(v.key),
    }


def render_json(report: Report, base: Path | None = None) -> str:
    """The report as a JSON document (``ok``, the graph's size, every violation and problem)."""
    document = {
        "ok": report.ok,
        "modules": report.modules,
        "imports": report.imports,
        "statements": report.statements,
        "files_parsed": report.parsed,
        "files_cached": report.cached,
        "violations": [_as_dict(v, base) for v in report.violations],
        "recorded": [_as_dict(v, base) for v in report.recorded],
        "stale": [list(k) for k in report.stale],
        "problems": [
            {"path": _rel(p.path, base), "line": p.line, "message": p.message}
            for p in report.problems
        ],
    }
    return json.dumps(document, indent=2)


def _escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(report: Report, base: Path | None = None) -> str:
    """One GitHub Actions ``::error`` line per new violation, ``::warning`` per problem."""
    lines = []
    for v in report.violations:
        file = _escape(_rel(v.path, base), property_value=True)
        title = _escape(f"boundaries: {v.rule}", property_value=True)
        lines.append(f"::error file={file},line={v.line},title={title}::"
                     + _escape(f"{v.message}. Fix: {v.fix}"))  # fmt: skip
    for p in report.problems:
        file = _escape(_rel(p.path, base), property_value=True)
        lines.append(f"::warning file={file},line={max(p.line, 1)}::{_escape(p.message)}")
    return "\n".join(lines)


def render(report: Report, fmt: str, base: Path | None = None) -> str:
    """The report in ``fmt``: ``human``, ``json`` or ``github``."""
    renderers = {"human": render_human, "json": render_json, "github": render_github}
    if not isinstance(report, Report):
        raise BoundariesError(f"report={shown(report, 60)}: must be a Report")
    if base is not None and not isinstance(base, Path):
        raise BoundariesError(f"base={shown(base, 60)}: must be a Path or None")
    if not isinstance(fmt, str) or fmt not in renderers:
        raise BoundariesError(f"fmt={shown(fmt)}: choose one of {', '.join(renderers)}")
    return renderers[fmt](report, base)
