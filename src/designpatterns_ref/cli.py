"""The command-line interface: ``dpref`` or ``python -m designpatterns_ref``.

Commands:

- ``list``: every case study with its status and family;
- ``show SLUG``: one case study: the problem, the decision, the modules, the docs page, the sources;
- ``tour [FAMILY ...] [--plots DIR]``: a guided run of every implemented family, in words a
  student follows; with ``--plots`` it also saves each family's figures as PNG files in DIR
  (never needs a display);
- ``bench FAMILY [--quick]``: the family's comparison workload, printed as tables.

Families add their own commands (``dpref news2``, ``dpref serve news2``) through a ``_cli``
module. Bad arguments exit with status 2 and say what is valid.

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
        if importlib.util.find_spec("matplotlib") is None:
            print(
                "dpref tour: --plots needs matplotlib: pip install 'designpatterns-ref[plot]'",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if Path(args.plots).exists() and not Path(args.plots).is_dir():
            print(f"dpref tour: --plots {args.plots!r} is a file; give a folder", file=sys.stderr)
            return EXIT_USAGE
    studies = catalog()
    built = sum(c.status == "implemented" for c in studies)
    print(f"designpatterns_ref {__version__}: {len(studies)} system-design case studies,")
    print(f"{built} of them built. A tour of {len(chosen)} families, each in a few seconds,")
    print("on simulated time (a ManualClock) and fixed seeds, so every run prints the same.\n")
    for family in chosen:
        module = family_module(family, "_tour")
        assert module is not None
        header = f"== {family} " + "=" * max(0, 60 - len(family))
        print(header)
        start = time.perf_counter()
        module.tour(print)
        if args.plots is not None:
            _save_plots(family, Path(args.plots))
        print(f"({family}: {time.perf_counter() - start:.1f} s)\n")
    print("Next: `dpref list` for every case study, `dpref bench FAMILY --quick` to compare,")
    print("`dpref tour --plots DIR` to save the figures (in a notebook: `dp.show(fig)`).")
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
    print("\n\n".join(t.markdown() if args.markdown else t.render() for t in tables))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with the library's exit status for usage errors (2) and a clearer message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
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

    p = sub.add_parser("tour", help="a guided run of every implemented family")
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

    for family in FAMILIES:
        module = family_module(family, "_cli")
        if module is not None:
            module.register(sub)
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
