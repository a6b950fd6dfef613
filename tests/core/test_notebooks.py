"""Every example, opened as a notebook, runs in a real Jupyter kernel and shows its figures.

Each ``examples/*.py`` (found by glob, so a new example joins by existing) is converted with
jupytext and executed with nbclient in an ipykernel, the way a student opens it. The test fails
when a cell raises, when the whole run takes over 60 s, or when an example that draws (it calls
``dp.show`` or a ``plot_*`` function) puts no ``image/png`` in any cell's output: the failure
this guards against is a notebook that writes its pictures to files instead of showing them.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
LIMIT_S = 60.0
DRAWS = re.compile(r"\bdp\.show\(|\bplot_\w+\(|\bshow\(")
KERNEL = "dpref-python3"


@pytest.fixture(scope="module", autouse=True)
def kernel_of_this_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A kernelspec that runs this interpreter, found first, whatever else is installed."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(root))
        yield


def figures_shown(notebook: nbformat.NotebookNode) -> int:
    """The number of PNG images in the notebook's outputs."""
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def run_as_notebook(path: Path, workdir: Path) -> tuple[nbformat.NotebookNode, float]:
    """Execute ``path`` as a notebook in a fresh kernel; return it and the seconds taken."""
    notebook = jupytext.read(path)
    client = NotebookClient(
        notebook,
        timeout=LIMIT_S,  # per cell; the whole run is checked below
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(workdir)}},
    )
    start = time.perf_counter()
    client.execute(env={**os.environ, "DPREF_PLOTS": str(workdir / "plots")})
    return notebook, time.perf_counter() - start


def test_examples_are_found() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_as_a_notebook_and_shows_its_figures(path: Path, tmp_path: Path) -> None:
    try:
        notebook, seconds = run_as_notebook(path, tmp_path)
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell failed as a notebook:\n{exc}")
    assert seconds < LIMIT_S, f"{path.name} took {seconds:.1f} s as a notebook (limit {LIMIT_S})"
    source = path.read_text(encoding="utf-8")
    shown = figures_shown(notebook)
    if DRAWS.search(source):
        assert shown >= 1, f"{path.name} draws figures but shows none inline (no image/png)"
    assert "matplotlib.use(" not in source, f"{path.name} picks a backend itself"
    assert not (tmp_path / "plots").exists(), f"{path.name} wrote PNG files instead of showing"
    print(f"{path.name}: {seconds:.1f} s as a notebook, {shown} figures shown")


def test_a_figure_left_last_in_a_cell_shows_inline(tmp_path: Path) -> None:
    """new_figure's pyplot-free figures display as PNG in a kernel, via dp.show or bare."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from designpatterns_ref.figures import new_figure\n"
            "fig, ax = new_figure()\nax.plot([0, 1], [1, 0])\nfig"
        ),
        nbformat.v4.new_code_cell("import designpatterns_ref as dp\ndp.show(fig, 'line')"),
    ]
    NotebookClient(notebook, timeout=LIMIT_S, kernel_name=KERNEL).execute(
        env={**os.environ, "DPREF_PLOTS": str(tmp_path / "plots")}
    )
    assert [figures_shown(nbformat.v4.new_notebook(cells=[c])) for c in notebook.cells] == [1, 1]
    assert not (tmp_path / "plots").exists()
