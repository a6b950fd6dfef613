"""Every example runs as a notebook, once, in its family's tests; a bare figure shows inline.

Each ``examples/*.py`` (found by glob, so a new example joins by existing) must be run by
``tests.notebooks.run_example`` in some family's tests: converted with jupytext and executed with
nbclient in an ipykernel, the way a student opens it, with that family's assertions on what it
prints and the notebook contract (no failing cell, under 60 s, figures shown inline rather than
written to files, no backend picked) checked by the run itself. One run per example: the same
example run a second time as a script tested the same story at the same cost.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from tests.notebooks import EXAMPLES, execute, figures_shown

ROOT = Path(__file__).resolve().parents[2]
FOUND = sorted(EXAMPLES.glob("*.py"))


def run_by_family_tests() -> set[str]:
    """Examples named in a ``run_example`` call (or in a list beside one) in the family tests."""
    names: set[str] = set()
    for test in (ROOT / "tests").glob("*/test_*.py"):
        text = test.read_text(encoding="utf-8")
        if "run_example(" not in text:
            continue
        literals = {
            node.value
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        names |= {path.stem for path in FOUND if path.stem in literals}
    return names


def test_examples_are_found() -> None:
    assert len(FOUND) >= 8


@pytest.mark.parametrize("path", FOUND, ids=[p.stem for p in FOUND])
def test_every_example_runs_as_a_notebook_in_its_family_tests(path: Path) -> None:
    assert path.stem in run_by_family_tests(), (
        f"{path.name}: no family test runs it with tests.notebooks.run_example({path.stem!r})"
    )


@pytest.mark.parametrize("path", FOUND, ids=[p.stem for p in FOUND])
def test_example_is_plain_python_that_runs_as_a_script(path: Path) -> None:
    """What a notebook run cannot show: no IPython-only syntax (magics, top-level await) or
    names (display, get_ipython) that would fail under ``python examples/<name>.py``."""
    source = path.read_text(encoding="utf-8")
    compile(source, str(path), "exec")  # a magic or a top-level await is a SyntaxError here
    assert not re.search(r"^\s*[%!]", source, re.M), f"{path.name} has a magic or shell line"
    assert not re.search(r"\b(display|get_ipython)\(", source), f"{path.name} needs IPython"


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
    execute(notebook, tmp_path)
    assert [figures_shown([c]) for c in notebook.cells] == [1, 1]
    assert not (tmp_path / "plots").exists()
