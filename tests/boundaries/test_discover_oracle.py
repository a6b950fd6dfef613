"""Discovery against Python's own import system, on packages spread over several search roots.

Each example writes a package ``pkg`` over two or three roots; under it, in each root, a name
is nothing, a module ``x.py``, a package ``x/__init__.py``, a namespace directory ``x/``, or a
module beside a directory of its name, to two levels. The oracle imports every name that
appears anywhere, in a fresh interpreter whose ``sys.path`` is the roots, and records what
Python found (a file, or the first portion of a namespace package): :func:`discover` must find
exactly those modules, at the same places.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.boundaries import discover

KINDS = ("none", "module", "package", "namespace", "module+namespace", "module+package")
NAMES = ("a", "b")

_ORACLE = """
import importlib, json, sys
sys.path[:0] = json.loads(sys.argv[1])
found = {}
for name in json.loads(sys.argv[2]):
    try:
        module = importlib.import_module(name)
    except ImportError:
        continue
    found[name] = module.__file__ or list(module.__path__)[0]
print(json.dumps(found))
"""


@st.composite
def trees(draw: st.DrawFn) -> tuple[int, dict[str, str]]:
    """``(roots, {relative path: text})``: ``pkg`` in every root as a namespace, or regular."""
    count = draw(st.integers(2, 3))
    files: dict[str, str] = {}

    def fill(rel: str, depth: int) -> None:
        for name in NAMES:
            kind = draw(st.sampled_from(KINDS if depth < 2 else KINDS[:2]))
            if "module" in kind:
                files[f"{rel}/{name}.py"] = ""
            if "package" in kind:
                files[f"{rel}/{name}/__init__.py"] = ""
            if "package" in kind or "namespace" in kind:
                files[f"{rel}/{name}/z.py"] = ""  # Python code in it, whatever fill adds
                fill(f"{rel}/{name}", depth + 1)

    for r in range(count):
        if draw(st.booleans()) and r == 0:
            files[f"r{r}/pkg/__init__.py"] = ""
        files[f"r{r}/pkg/z.py"] = ""
        fill(f"r{r}/pkg", 1)
    return count, files


@settings(max_examples=40, deadline=None)
@given(trees())
def test_discover_finds_what_python_imports(tree: tuple[int, dict[str, str]]) -> None:
    count, files = tree
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        for rel, text in files.items():
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            (base / rel).write_text(text)
        roots = [str(base / f"r{r}") for r in range(count)]
        names = {"pkg"}
        for rel in files:
            parts = rel.split("/")[1:]
            for i in range(2, len(parts) + 1):
                names.add(".".join(parts[:i]).removesuffix(".py").removesuffix(".__init__"))
        run = subprocess.run(
            [sys.executable, "-S", "-c", _ORACLE, json.dumps(roots), json.dumps(sorted(names))],
            capture_output=True, text=True, check=True, cwd=folder,
        )  # fmt: skip
        python = json.loads(run.stdout)
        modules, _, _ = discover("pkg", [Path(r) for r in roots])
        assert modules == python
