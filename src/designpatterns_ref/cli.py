"""The command-line interface: ``dpref`` or ``python -m designpatterns_ref``.

Commands:

- ``list``: every case study with its status and family;
- ``show SLUG``: one case study: the problem, the decision, the modules, the docs page, the sources;
- ``tour [FAMILY ...] [--plots DIR]``: a guided run of every implemented family, in words a
  student follows; with ``--plots`` it also saves each family's figures as PNG files in DIR
  (never needs a display). A family whose optional packages are not installed is skipped with
  one line naming the extra to install (the identity tour needs ``cryptography``:
  ``pip install 'designpatterns-ref[identity]'``); the tour exits 0 when every family named on
  the command line ran (with none named: when at least one family ran), else 1;
- ``bench FAMILY [--quick]``: the family's comparison workload, printed as tables; a family
  whose optional packages are not installed prints one line naming the extra and exits 1.

Families add their own commands (``dpref news2``, ``dpref serve news2``) through a ``_cli``
module; a family whose optional packages are missing leaves its commands out, and
``dpref --help`` names the extra that brings them. Bad arguments exit with status 2 and say what
is valid.

>>> main(["show", "rate-limiter"])  # doctest: +ELLIPSIS
Design a Rate Limiter
...
0
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from designpatterns_ref import FAMILIES, __version__
from designpatterns_ref.benchkit import Progress, Table, interpreter
from designpatterns_ref.catalog import UnknownCaseStudy, case_study, catalog

__all__ = ["build_parser", "family_module", "main"]

EXIT_USAGE = 2
EXIT_SKIPPED = 1

#: The optional packages a family may import, each with the extra of pyproject.toml that
#: installs it: a base install (``pip install designpatterns-ref``) has none of them.
EXTRA_FOR: dict[str, str] = {
    "redis": "redis",
    "fastapi": "api",
    "uvicorn": "api",
    "matplotlib": "plot",
    "cryptography": "identity",
    "av": "video",
    "websockets": "messaging",
    "h3": "geo",
}


class MissingExtra(Exception):
    """A family module could not be imported because an optional package is not installed."""

    def __init__(self, family: str, package: str) -> None:
        self.family, self.package, self.extra = family, package, EXTRA_FOR[package]
        super().__init__(
            f"{family} needs {package}: pip install 'designpatterns-ref[{self.extra}]'"
        )


def _missing_extra(family: str, exc: ImportError) -> MissingExtra | None:
    """The :class:`MissingExtra` behind ``exc`` when it is an optional package not installed,
    else None (any other import failure is a defect to report, not a missing extra)."""
    top = (exc.name or "").split(".")[0]
    if isinstance(exc, ModuleNotFoundError) and top in EXTRA_FOR:
        return MissingExtra(family, top)
    return None


def _missing_extra_behind(family: str, exc: BaseException) -> MissingExtra | None:
    """:func:`_missing_extra` of ``exc`` or of any exception it was raised from (a family that
    imports an optional package late raises its own error from the ImportError, naming it)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ImportError) and (missing := _missing_extra(family, seen)):
            return missing
        seen = seen.__cause__ or seen.__context__
    return None


def _provides(family: str, name: str) -> bool:
    """Whether ``designpatterns_ref.<family>.<name>`` exists, found without importing it:
    importing every family to learn which have a ``_cli``, ``_tour`` or ``_bench`` would put
    all of them (and their lookup tables) on the start-up path of every command."""
    package = importlib.util.find_spec(f"designpatterns_ref.{family}")
    if package is None or not package.submodule_search_locations:
        return False
    return any(Path(d, f"{name}.py").is_file() for d in package.submodule_search_locations)


def family_module(family: str, name: str) -> ModuleType | None:
    """Import ``designpatterns_ref.<family>.<name>`` if the family provides it, else None."""
    if not _provides(family, name):
        return None
    return importlib.import_module(f"designpatterns_ref.{family}.{name}")


def _families_with(name: str) -> list[str]:
    return [f for f in FAMILIES if _provides(f, name)]


def _wrap(text: str, indent: str = "  ") -> str:
    return textwrap.fill(text, width=92, initial_indent=indent, subsequent_indent=indent)


def cmd_list(args: argparse.Namespace) -> int:
    table = Table("Case studies (dpref show SLUG for one)", ["slug", "status", "family", "title"])
    for c in catalog():
        table.add(c.slug, c.status, c.family, c.title)
    implemented = sum(c.status == "implemented" for c in catalog())
    table.note = f"{len(catalog())} case studies, {implemented} implemented"
    print(table.render())
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    try:
        c = case_study(args.slug)
    except UnknownCaseStudy as exc:
        print(f"dpref show: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(c.title)
    print("=" * len(c.title))
    print(f"slug: {c.slug}    status: {c.status}    family: {c.family}")
    print("\nThe problem")
    print(_wrap(c.problem))
    print("\nThe decision")
    print(_wrap(c.decision))
    print("\nConcept")
    print(_wrap(c.concept))
    print("\nModules")
    if c.modules:
        for m in c.modules:
            print(f"  {m}")
    else:
        print("  (planned: not built yet)")
    print("\nDocs page")
    print(f"  {c.docs_page}")
    print("\nPrimary sources")
    if c.sources:
        for s in c.sources:
            print(f"  - {s.title}\n    {s.url}")
    else:
        print("  (none listed yet)")
    return 0


def _tour_one(family: str) -> MissingExtra | None:
    """Run one family's tour; a :class:`MissingExtra` when its optional packages are missing."""
    try:
        module = family_module(family, "_tour")
        assert module is not None
        module.tour(print)
    except ImportError as exc:
        missing = _missing_extra(family, exc)
        if missing is None:
            raise
        return missing
    return None


def _check_plots_folder(folder: str) -> str | None:
    """Why ``--plots folder`` cannot take the figures, or None when it can (made if need be):
    checked before the tour, which takes seconds, rather than failing at its first figure."""
    if not folder.strip():  # an unset shell variable: not the current folder by accident
        return f"--plots {folder!r} names no folder; give one"
    if importlib.util.find_spec("matplotlib") is None:
        return "--plots needs matplotlib: pip install 'designpatterns-ref[plot]'"
    path = Path(folder)
    if path.exists() and not path.is_dir():
        return f"--plots {folder!r} is a file; give a folder"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"--plots {folder!r} cannot be made: {exc.strerror or exc}"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"--plots {folder!r} is not writable"
    return None


def cmd_tour(args: argparse.Namespace) -> int:
    available = _families_with("_tour")
    chosen = args.families or available
    unknown = [f for f in chosen if f not in available]
    if unknown:
        print(
            f"dpref tour: no tour for {', '.join(unknown)}; choose from: {', '.join(available)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.plots is not None:
        problem = _check_plots_folder(args.plots)
        if problem is not None:
            print(f"dpref tour: {problem}", file=sys.stderr)
            return EXIT_USAGE
    studies = catalog()
    built = sum(c.status == "implemented" for c in studies)
    print(f"designpatterns_ref {__version__}: {len(studies)} system-design case studies,")
    print(f"{built} of them built. A tour of {len(chosen)} families, each in a few seconds,")
    print("on simulated time (a ManualClock) and fixed seeds, so every run prints the same.\n")
    skipped: list[MissingExtra] = []
    for family in chosen:
        header = f"== {family} " + "=" * max(0, 60 - len(family))
        print(header)
        start = time.perf_counter()
        missing = _tour_one(family)
        if missing is not None:
            print(f"(skipped: {missing})\n")
            skipped.append(missing)
            continue
        if args.plots is not None:
            _save_plots(family, Path(args.plots))
        print(f"({family}: {time.perf_counter() - start:.1f} s)\n")
    print("Next: `dpref list` for every case study, `dpref bench FAMILY --quick` to compare,")
    print("`dpref tour --plots DIR` to save the figures (in a notebook: `dp.show(fig)`).")
    if skipped:
        extras = sorted({m.extra for m in skipped})
        print(
            f"dpref tour: skipped {', '.join(m.family for m in skipped)}: "
            f"pip install 'designpatterns-ref[{','.join(extras)}]' to run "
            + ("it" if len(skipped) == 1 else "them"),
            file=sys.stderr,
        )
    if skipped and (args.families or len(skipped) == len(chosen)):
        return EXIT_SKIPPED
    return 0


def _save_plots(family: str, folder: Path) -> None:
    """Save the family's tour figures (``plot.tour_figures()``) as PNG files in ``folder``."""
    module = family_module(family, "plot")
    if module is None or not hasattr(module, "tour_figures"):
        print(f"({family} has no figures)")
        return
    from designpatterns_ref.figures import show

    for name, fig in module.tour_figures().items():
        print(f"figure: {show(fig, f'{family}-{name}', directory=folder)}")


def cmd_bench(args: argparse.Namespace) -> int:
    available = _families_with("_bench")
    if args.family not in available:
        choices = ", ".join(available) if available else "(none built yet)"
        print(
            f"dpref bench: unknown family {args.family!r}; choose from: {choices}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        module = family_module(args.family, "_bench")
        assert module is not None
        steps: list[tuple[str, Callable[[], list[Table]]]] = module.bench_steps(args.quick)
        mode = "quick" if args.quick else "full"
        print(f"dpref bench {args.family} ({mode} run, {len(steps)} steps)", flush=True)
        print(f"{interpreter()}\n", flush=True)
        bar = Progress(total=len(steps), label=f"bench {args.family}")
        tables: list[Table] = []
        for name, step in steps:
            tables.extend(step())
            bar.step(name)
    except Exception as exc:  # an optional package missing: one line naming the extra
        missing = _missing_extra_behind(args.family, exc)
        if missing is None:
            raise
        print(f"dpref bench: {missing}", file=sys.stderr)
        return EXIT_SKIPPED
    print("\n\n".join(t.markdown() if args.markdown else t.render() for t in tables))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with the library's exit status for usage errors (2) and a clearer message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        if "invalid choice" in message and self.epilog:  # perhaps a command left out
            message += f"\n{self.epilog}"
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with every family's extra commands registered."""
    parser = _Parser(
        prog="dpref",
        description="Reference implementations of system-design case studies.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("list", help="list every case study with its status")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="show one case study")
    p.add_argument("slug", help="a case-study slug, as `dpref list` shows")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "tour",
        help="a guided run of every implemented family",
        description=(
            "A guided run of every implemented family (or only those named). A family whose "
            "optional packages are not installed is skipped with a line naming the extra to "
            "install. Exit status: 0 when every family named ran (with none named: when at "
            "least one ran), 1 when one was skipped, 2 for bad arguments."
        ),
    )
    p.add_argument("families", nargs="*", metavar="FAMILY", help="only these families")
    p.add_argument(
        "--plots", metavar="DIR", help="also save each family's figures as PNG files in DIR"
    )
    p.set_defaults(func=cmd_tour)

    p = sub.add_parser("bench", help="compare a family's algorithms on one workload")
    p.add_argument("family", help=f"one of: {', '.join(FAMILIES)}")
    p.add_argument("--quick", action="store_true", help="small workloads, done in seconds")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables")
    p.set_defaults(func=cmd_bench)

    left_out: list[MissingExtra] = []
    for family in FAMILIES:
        try:
            module = family_module(family, "_cli")
        except ImportError as exc:
            missing = _missing_extra(family, exc)
            if missing is None:
                raise
            left_out.append(missing)
            continue
        if module is not None:
            module.register(sub)
    if left_out:
        parser.epilog = "Commands left out (optional packages not installed): " + "; ".join(
            str(m) for m in left_out
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except BrokenPipeError:  # the reader went away (`dpref tour | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the exit-time flush cannot fail again
        return 1
