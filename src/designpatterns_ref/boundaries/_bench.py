"""``dpref bench boundaries``: the checker on Django's source, cold and cached, beside lint-imports.

Both tools run the same layers and independence contracts (:data:`.contracts.DJANGO`, exported
to an ``.importlinter`` file by :func:`.contracts.importlinter_ini`) from the command line, as CI
would: ``dpref boundaries check`` against ``lint-imports``, each cold (no cache) and cached (a
second run over the unchanged tree), medians of several runs in the same process of measuring.
In-process figures split our time into the graph build and the checks, beside grimp's compiled
graph build and a bare ``ast.parse`` of every file. Needs the ``bench`` extra (Django,
import-linter); without Django there is nothing to measure and the table says so.
"""

from __future__ import annotations

import ast
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from designpatterns_ref.benchkit import Table, installed
from designpatterns_ref.boundaries.cache import FileCache
from designpatterns_ref.boundaries.config import Config
from designpatterns_ref.boundaries.contracts import DJANGO, django_root, importlinter_ini
from designpatterns_ref.boundaries.graph import build_graph
from designpatterns_ref.boundaries.rules import find_violations

__all__ = ["bench_cli", "bench_inprocess", "bench_steps", "contract_folder", "median_seconds"]


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median wall-clock seconds of ``repeat`` calls of ``fn``."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def contract_folder() -> Path:
    """A temporary project folder holding the Django contracts for both tools."""
    root = django_root()
    folder = Path(tempfile.mkdtemp(prefix="dpref-bench-boundaries-"))
    config = Config.from_dict({**_contracts_only(), "roots": [str(root)]}, base=root)
    (folder / ".importlinter").write_text(importlinter_ini(config), encoding="utf-8")
    layers = "\n".join(
        f"[[tool.dpref.boundaries.layers]]\nname = {c.name!r}\nlayers = "
        + repr([list(layer) for layer in c.layers])
        for c in config.layers
    )
    independence = "\n".join(
        f"[[tool.dpref.boundaries.independence]]\nname = {c.name!r}\nmodules = {list(c.modules)!r}"
        for c in config.independence
    )
    (folder / "pyproject.toml").write_text(
        "[tool.dpref.boundaries]\npackages = ['django']\n"
        f"roots = [{str(root)!r}]\ninclude = ['module', 'conditional', 'function', "
        "'type_checking']\ncache = '.dpref_cache/boundaries.bin'\n" + layers + "\n" + independence,
        encoding="utf-8",
    )
    return folder


def _contracts_only() -> dict[str, object]:
    return {"packages": DJANGO["packages"], "layers": DJANGO["layers"],
            "independence": DJANGO["independence"], "cache": ""}  # fmt: skip


def _run(command: list[str], folder: Path) -> None:
    subprocess.run(command, cwd=folder, capture_output=True, check=False, timeout=600)


def _measure(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Medians of (wall seconds, CPU seconds of the child processes) over ``repeat`` runs.

    On a shared machine the wall clock also counts the time spent waiting for a CPU; the
    children's user + system time does not, so both are shown.
    """
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def bench_cli(quick: bool) -> list[Table]:
    """Both command lines, cold and cached, on the same contracts (medians of several runs)."""
    if not installed("django"):
        return [Table("boundaries: Django is not installed (the bench extra)", ["note"])]
    repeat = 1 if quick else 7  # quick: shows the table's shape, one run of each
    folder = contract_folder()
    ours = [sys.executable, "-m", "designpatterns_ref", "boundaries", "check", str(folder)]
    lean = [sys.executable, "-m", "designpatterns_ref.boundaries", "check", str(folder)]
    lint = str(Path(sys.executable).with_name("lint-imports"))
    cache = folder / ".dpref_cache"
    lint_cache = folder / ".import_linter_cache"

    def cold(command: list[str], cache_dir: Path) -> Callable[[], None]:
        def run() -> None:
            shutil.rmtree(cache_dir, ignore_errors=True)
            _run(command, folder)

        return run

    def warm(command: list[str]) -> Callable[[], None]:
        _run(command, folder)
        return lambda: _run(command, folder)

    table = Table(
        f"boundaries on Django: one command-line run, median of {repeat} "
        "(wall seconds, and CPU seconds of the process)",
        ["tool", "cold wall s", "cold CPU s", "cached wall s", "cached CPU s"],
    )
    rows = [
        ("dpref boundaries check", *_measure(cold(ours, cache), repeat),
         *_measure(warm(ours), repeat)),
        ("python -m designpatterns_ref.boundaries check", *_measure(cold(lean, cache), repeat),
         *_measure(warm(lean), repeat)),
    ]  # fmt: skip
    if os.path.exists(lint):
        peer = ("lint-imports (import-linter, grimp)", *_measure(cold([lint], lint_cache), repeat),
                *_measure(warm([lint]), repeat))  # fmt: skip
        rows.append(peer)
        best = rows[1]
        table.note = (
            f"cold: {best[1] / peer[1]:.2f}x lint-imports' wall time, {best[2] / peer[2]:.2f}x "
            f"its CPU time (target <= 3x); cached: {peer[3] / best[3]:.1f}x faster in wall "
            f"time, {peer[4] / best[4]:.1f}x in CPU time (target >= 4x); each run includes "
            "starting Python"
        )
    else:
        table.note = "lint-imports is not installed (the bench extra): no peer to compare"
    for row in rows:
        table.add(*row)
    shutil.rmtree(folder, ignore_errors=True)
    return [table]


def _inprocess(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Medians of (wall seconds, CPU seconds of this process) over ``repeat`` calls."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def bench_inprocess(quick: bool) -> list[Table]:
    """Where the time goes, in one process: build (cold, cached), checks, grimp, bare parse."""
    if not installed("django"):
        return [Table("boundaries: Django is not installed (the bench extra)", ["note"])]
    repeat = 3 if quick else 7
    root = django_root()
    config = Config.from_dict({**DJANGO, "roots": [str(root)], "cache": ""}, base=root)
    folder = Path(tempfile.mkdtemp(prefix="dpref-bench-cache-"))
    graph = build_graph(["django"], [root], jobs=1)
    table = Table(
        f"boundaries on Django ({len(graph.modules)} modules, {graph.edge_count:,} imports, "
        f"{len(graph.imports):,} statements): in-process, median of {repeat}",
        ["step", "wall s", "CPU s"],
    )
    file = folder / "c.bin"
    build_graph(["django"], [root], cache=FileCache(file))

    def cached_check() -> None:
        find_violations(build_graph(["django"], [root], cache=FileCache(file)), config)

    def parse_all() -> None:
        for source in sources:
            ast.parse(source)  # each tree is dropped at once, as a checker would

    sources = [open(p, "rb").read() for p in graph.modules.values() if p.endswith(".py")]  # noqa: SIM115
    steps: list[tuple[str, Callable[[], object], int]] = [
        ("graph build, cold, 1 process", lambda: build_graph(["django"], [root], jobs=1), repeat),
        ("graph build, cached (stat per file and folder)",
         lambda: build_graph(["django"], [root], cache=FileCache(file)), repeat),
        ("graph build, cached, verify content (hash per file)",
         lambda: build_graph(["django"], [root], cache=FileCache(file, verify_content=True)),
         repeat),
        (f"check the contract set ({len(find_violations(graph, config))} violations)",
         lambda: find_violations(graph, config), repeat),
        ("cached graph build + check (a re-run)", cached_check, repeat),
        ("bare ast.parse of every file", parse_all, max(1, repeat // 2)),
    ]  # fmt: skip
    if installed("grimp"):
        import grimp

        steps.insert(1, ("grimp.build_graph (Rust, no cache)",
                         lambda: grimp.build_graph("django", cache_dir=None), repeat))  # fmt: skip
    for name, fn, times in steps:
        table.add(name, *_inprocess(fn, times))
    shutil.rmtree(folder, ignore_errors=True)
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps of ``dpref bench boundaries``."""
    return [
        ("command lines", lambda: bench_cli(quick)),
        ("in-process", lambda: bench_inprocess(quick)),
    ]
