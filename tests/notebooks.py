"""Run an example the way a student opens it: as a notebook, in a fresh Jupyter kernel.

Each ``examples/<name>.py`` runs once in the suite, through :func:`run_example`, called by its
family's ``test_examples.py``, which asserts on the story it prints. The run itself asserts what
every example owes as a notebook: no cell fails, the whole run takes under :data:`LIMIT_S`, an
example that draws shows its figures inline (``image/png``) and writes no PNG file, and it never
picks a matplotlib backend. It also records the name of each figure handed to ``dp.show``, as
the file a script run saves for it (``<slug>.png``; that script path of ``show`` is tested in
``tests/core/test_figures.py``), so a family test still checks which figures its example makes.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
LIMIT_S = 60.0
DRAWS = re.compile(r"\bdp\.show\(|\bplot_\w+\(|\bshow\(")
KERNEL = "dpref-python3"

#: Run first in the kernel: ``dp.show`` keeps doing what it does, and notes each figure's file.
_RECORD = """\
import designpatterns_ref as _dp_record, designpatterns_ref.figures as _dp_figures
_dp_shown, _dp_show = [], _dp_figures.show
def _dp_recording_show(fig, name="figure", **kw):
    _dp_shown.append(_dp_figures._slug(name) + ".png")
    return _dp_show(fig, name, **kw)
_dp_figures.show = _dp_record.show = _dp_recording_show
"""
_MARK = "dpref-figures:"
_REPORT = f"print({_MARK!r} + __import__('json').dumps(_dp_shown))"


@dataclass(frozen=True)
class NotebookRun:
    """What one example printed and showed when run as a notebook."""

    text: str  #: everything its cells printed to stdout, in order
    files: list[str]  #: sorted, the PNG files a script run would save (one per ``dp.show``)
    shown: int  #: the ``image/png`` outputs in its cells
    seconds: float


@cache
def kernel_path() -> str:
    """A folder with a kernelspec that runs this interpreter (``JUPYTER_PATH`` finds it first,
    whatever else is installed)."""
    root = Path(tempfile.mkdtemp(prefix="dpref-jupyter-"))
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    return str(root)


def execute(notebook: nbformat.NotebookNode, workdir: Path) -> None:
    """Execute ``notebook`` in a fresh kernel of this interpreter (``DPREF_PLOTS`` in workdir)."""
    # The kernel talks over Unix sockets in workdir: over TCP, a free port chosen for it could
    # be taken by another process on a busy machine before it bound it ("Kernel died before
    # replying to kernel_info", ZMQError: Address already in use).
    ipc = Config({"KernelManager": {"transport": "ipc", "ip": str(workdir / "kernel")}})
    client = NotebookClient(
        notebook,
        timeout=LIMIT_S,  # per cell; run_example checks the whole run
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(workdir)}},
        config=ipc,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", kernel_path())
        client.execute(env={**os.environ, "DPREF_PLOTS": str(workdir / "plots")})


def figures_shown(cells: list[nbformat.NotebookNode]) -> int:
    """The number of PNG images in the outputs of ``cells``."""
    return sum(
        "image/png" in output.get("data", {})
        for cell in cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def _stdout(cells: list[nbformat.NotebookNode]) -> str:
    return "".join(
        output.get("text", "")
        for cell in cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )


def run_example(name: str, workdir: Path) -> NotebookRun:
    """Run ``examples/<name>.py`` as a notebook in ``workdir`` and check the notebook contract."""
    path = EXAMPLES / f"{name}.py"
    source = path.read_text(encoding="utf-8")
    assert "matplotlib.use(" not in source, f"{path.name} picks a backend itself"
    notebook = jupytext.read(path)
    cells = list(notebook.cells)
    notebook.cells = [
        nbformat.v4.new_code_cell(_RECORD),
        *cells,
        nbformat.v4.new_code_cell(_REPORT),
    ]
    start = time.perf_counter()
    try:
        execute(notebook, workdir)
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell failed as a notebook:\n{exc}")
    seconds = time.perf_counter() - start
    assert seconds < LIMIT_S, f"{path.name} took {seconds:.1f} s as a notebook (limit {LIMIT_S})"
    cells = notebook.cells[1:-1]
    shown = figures_shown(cells)
    if DRAWS.search(source):
        assert shown >= 1, f"{path.name} draws figures but shows none inline (no image/png)"
    assert not (workdir / "plots").exists(), f"{path.name} wrote PNG files instead of showing"
    report = _stdout(notebook.cells[-1:])
    assert report.startswith(_MARK), report
    files = sorted(json.loads(report[len(_MARK) :]))
    print(f"{path.name}: {seconds:.1f} s as a notebook, {shown} figures shown")
    return NotebookRun(text=_stdout(cells), files=files, shown=shown, seconds=seconds)
