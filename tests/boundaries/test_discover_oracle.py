"""Discovery against Python's own import system, on packages spread over several search roots.

Each example writes a package ``pkg`` over two or three roots; under it, in each root, a name
is nothing, a module ``x.py``, a package ``x/__init__.py``, a namespace directory ``x/``, or a
module beside a directory of its name, to two levels; a module may also be bytecode without
source (``x.pyc``) or an extension module (``x.cpython-3xx-....so``), beside a source or a
directory of its name, and a package's ``__init__`` may be bytecode; ``pkg`` itself may be a
package in a later root than a namespace portion of it. The oracle asks Python's path finder
for every name that appears anywhere (``importlib.util.find_spec``: packages on the way are
imported, a leaf is only found), in a fresh interpreter whose ``sys.path`` is the roots, and
records what it found (a file, or the first portion of a namespace package): :func:`discover`
must find exactly those modules, at the same places, and warn about each one without source.
"""

from __future__ import annotations

import importlib.machinery
import json
import py_compile
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.boundaries import discover

KINDS = ("none", "module", "package", "namespace", "module+namespace", "module+package",
         "bytecode+namespace", "extension+module", "bytecode+module",
         "bytecode-package")  # fmt: skip
LEAVES = ("none", "module", "bytecode", "extension", "extension+module")
NAMES = ("a", "b")
#: Stands for the bytes of an empty module compiled (written with ``py_compile``).
BYTECODE = "<bytecode>"
EXTENSION = importlib.machinery.EXTENSION_SUFFIXES[0]

_ORACLE = """
import importlib.util, json, sys
sys.path[:0] = json.loads(sys.argv[1])
found = {}
for name in json.loads(sys.argv[2]):
    try:
        spec = importlib.util.find_spec(name)
    except ImportError:
        continue
    if spec is not None:
        found[name] = spec.origin or list(spec.submodule_search_locations)[0]
print(json.dumps(found))
"""


@st.composite
def trees(draw: st.DrawFn) -> tuple[int, dict[str, str]]:
    """``(roots, {relative path: text})``: ``pkg`` in every root as a namespace, or regular."""
    count = draw(st.integers(2, 3))
    files: dict[str, str] = {}

    def fill(rel: str, depth: int) -> None:
        for name in NAMES:
            kind = draw(st.sampled_from(KINDS if depth < 2 else LEAVES))
            if "module" in kind:
                files[f"{rel}/{name}.py"] = ""
            if "bytecode" in kind and "package" not in kind:
                files[f"{rel}/{name}.pyc"] = BYTECODE
            if "extension" in kind:
                files[f"{rel}/{name}{EXTENSION}"] = "not loaded: find_spec only finds a leaf"
            if kind == "bytecode-package":
                files[f"{rel}/{name}/__init__.pyc"] = BYTECODE
            elif "package" in kind:
                files[f"{rel}/{name}/__init__.py"] = ""
            if "package" in kind or "namespace" in kind:
                files[f"{rel}/{name}/z.py"] = ""  # Python code in it, whatever fill adds
                fill(f"{rel}/{name}", depth + 1)

    regular = draw(st.sampled_from([None, *range(count)]))  # pkg/__init__.py in that root
    for r in range(count):
        if r == regular:
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
        (base / "empty.py").write_text("")
        for rel, text in files.items():
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            if text == BYTECODE:
                py_compile.compile(str(base / "empty.py"), str(base / rel), doraise=True)
            else:
                (base / rel).write_text(text)
        roots = [str(base / f"r{r}") for r in range(count)]
        names = {"pkg"}
        for rel in files:
            parts = rel.split("/")[1:]
            for i in range(2, len(parts) + 1):
                name = ".".join(parts[:i])
                for suffix in (EXTENSION, ".pyc", ".py"):
                    name = name.removesuffix(suffix)
                names.add(name.removesuffix(".__init__"))
        run = subprocess.run(
            [sys.executable, "-S", "-c", _ORACLE, json.dumps(roots), json.dumps(sorted(names))],
            capture_output=True, text=True, check=True, cwd=folder,
        )  # fmt: skip
        python = json.loads(run.stdout)
        modules, _, problems = discover("pkg", [Path(r) for r in roots])
        assert modules == python
        sourceless = {p.path for p in problems if "no Python source" in p.message}
        assert sourceless == {f for f in python.values() if f.endswith((".pyc", EXTENSION))}
