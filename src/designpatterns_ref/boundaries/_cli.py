"""Command-line commands of the boundaries family: ``dpref boundaries check|record|shrink PATH``.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

``PATH`` is a project folder (or its ``pyproject.toml``) with a ``[tool.dpref.boundaries]``
table. ``check`` prints every new violation (``--format human``, ``json`` or ``github`` for
annotations on a pull request) and exits 0 when there is none, 1 when there are, 2 when the
configuration or the arguments are wrong. ``record`` writes every current violation to the todo
file (adopting the rules on an existing codebase); ``shrink`` drops the ones that were fixed.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="dpref")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["boundaries", "check", "/nonexistent"])
>>> args.func(args)
2
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from designpatterns_ref.boundaries import verdict
from designpatterns_ref.boundaries.base import BoundariesError
from designpatterns_ref.boundaries.config import DEFAULT_CACHE, Config, load_config
from designpatterns_ref.boundaries.report import FORMATS, render
from designpatterns_ref.boundaries.run import check_inputs, record, shrink_todo
from designpatterns_ref.errors import shown

__all__ = [
    "EXIT_CONFIG", "EXIT_VIOLATIONS", "add_actions", "cmd_check", "cmd_record", "cmd_shrink",
    "register",
]  # fmt: skip

EXIT_VIOLATIONS = 1
EXIT_CONFIG = 2


def _config(args: argparse.Namespace) -> Config | None:
    try:
        return load_config(args.path)
    except BoundariesError as exc:
        print(f"dpref boundaries: {exc}", file=sys.stderr)
        return None


def cmd_check(args: argparse.Namespace) -> int:
    """Check the project at ``args.path``; the exit status says whether CI passes.

    A cached check also saves its verdict (:mod:`~designpatterns_ref.boundaries.verdict`), so
    the next run over an unchanged tree replays it without loading the checker.
    """
    words = ["check", os.fspath(args.path), "--format", args.format]
    words += ["--no-todo"] if args.no_todo else []
    key = verdict.key_of(words)
    config_bytes = verdict.read_bytes(key[0]) if key is not None else None
    config = _config(args)
    if config is None:
        return EXIT_CONFIG
    try:
        report, inputs = check_inputs(
            config,
            use_cache=not args.no_cache,
            use_todo=not args.no_todo,
            verify_content=args.verify_content,
            jobs=args.jobs,
        )
    except BoundariesError as exc:
        print(f"dpref boundaries: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    text = render(report, args.format, base=config.base)
    output = f"{text}\n" if text else ""
    sys.stdout.write(output)
    status = 0 if report.ok else EXIT_VIOLATIONS
    if inputs is not None and config.cache == DEFAULT_CACHE and config_bytes is not None:
        todo = None if args.no_todo else config.base / config.todo
        verdict.save(words, *inputs, todo, output, status, config_bytes=config_bytes)
    return status


def cmd_record(args: argparse.Namespace) -> int:
    """Record every current violation in the todo file."""
    config = _config(args)
    if config is None:
        return EXIT_CONFIG
    try:
        count, report = record(config, use_cache=not args.no_cache)
    except BoundariesError as exc:
        print(f"dpref boundaries: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for problem in report.problems:  # the warnings a check would print
        print(
            f"{_shown_path(problem.path, config.base)}:{problem.line}: warning: {problem.message}"
        )
    print(f"recorded {count} violation(s) in {config.base / config.todo}")
    kept = count - len({v.key for v in report.violations})
    if kept:
        print(
            f"kept {kept} recorded violation(s) that the file(s) which could not be read or "
            "parsed may still produce"
        )
    return 0


def cmd_shrink(args: argparse.Namespace) -> int:
    """Drop the fixed violations from the todo file."""
    config = _config(args)
    if config is None:
        return EXIT_CONFIG
    try:
        kept, removed = shrink_todo(config, use_cache=not args.no_cache)
    except BoundariesError as exc:
        print(f"dpref boundaries: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"{config.base / config.todo}: removed {removed} fixed, kept {kept}")
    return 0


def _shown_path(path: str, base: Path) -> str:
    """``path`` relative to the project folder, as the check's report names files."""
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive
        return path


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{value} must be within 1..64")
    return value


def register(subparsers: Any) -> None:
    """Add ``boundaries check|record|shrink`` to the ``dpref`` command line."""
    top = subparsers.add_parser(
        "boundaries", help="check module boundaries (components, layers, independence)"
    )
    add_actions(top)


def add_actions(parser: argparse.ArgumentParser) -> None:
    """Add the actions ``check|record|shrink PATH`` to ``parser`` (``dpref boundaries``, or
    ``python -m designpatterns_ref.boundaries`` on its own)."""
    sub = parser.add_subparsers(dest="boundaries_command", metavar="ACTION", required=True)
    path_help = "a project folder or its pyproject.toml, with [tool.dpref.boundaries]"

    p = sub.add_parser("check", help="report new violations; exit 1 if any, 2 on bad config")
    p.add_argument("path", type=Path, help=path_help)
    p.add_argument("--format", choices=FORMATS, default="human", help="default: human")
    p.add_argument("--no-cache", action="store_true", help="parse every file again")
    p.add_argument("--no-todo", action="store_true", help="ignore the recorded violations")
    p.add_argument(
        "--verify-content", action="store_true", help="hash every file, not only changed ones"
    )
    p.add_argument("--jobs", type=_jobs, default=None, help="parsing processes (default: CPUs)")
    p.set_defaults(func=cmd_check)

    for name, func, text in (
        ("record", cmd_record, "record every current violation in the todo file"),
        ("shrink", cmd_shrink, "drop fixed violations from the todo file (never adds)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("path", type=Path, help=path_help)
        p.add_argument("--no-cache", action="store_true", help="parse every file again")
        p.set_defaults(func=func)
