"""Every import form, resolved on synthetic packages written to a temporary folder."""

from __future__ import annotations

import importlib.machinery
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.boundaries import BoundariesError, FileCache, build_graph, discover, extract
from designpatterns_ref.boundaries.scan import Unparsable
from designpatterns_ref.cli import main
from tests.boundaries.helpers import edges, graph_of, write_tree

BASE = {"pkg/__init__.py": "", "pkg/a.py": "", "pkg/b.py": "X = 1\n", "pkg/sub/__init__.py": "",
        "pkg/sub/c.py": "", "pkg/sub/deep/__init__.py": "", "pkg/sub/deep/d.py": ""}  # fmt: skip


def test_absolute_import_forms(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE, "pkg/a.py": (
        "import pkg.b\nimport pkg.sub.c as c\nfrom pkg import b\nfrom pkg.sub import deep\n"
        "from pkg.b import X\nimport os, json\nfrom collections import deque\n"
    )})  # fmt: skip
    assert edges(g) == {("pkg.a", "pkg.b"), ("pkg.a", "pkg.sub.c"), ("pkg.a", "pkg.sub.deep")}
    attr = [i for i in g.imports if i.name == "X"]
    assert len(attr) == 1 and attr[0].imported == "pkg.b" and attr[0].target == "pkg.b.X"


def test_from_package_import_name_is_module_or_attribute(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE, "pkg/__init__.py": "VALUE = 1\n",
                            "pkg/a.py": "from pkg import b, VALUE\n"})  # fmt: skip
    got = sorted((i.imported, i.name) for i in g.imports)
    assert got == [("pkg", "VALUE"), ("pkg.b", None)]


def test_relative_imports_from_module_and_package(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE,
        "pkg/sub/c.py": "from . import deep\nfrom .. import b\nfrom ..b import X\n"
                        "from .deep import d\n",
        "pkg/sub/__init__.py": "from .c import *\nfrom . import c\n",
        "pkg/sub/deep/d.py": "from ...a import nothing\nfrom ... import sub\n"})  # fmt: skip
    assert edges(g) == {
        ("pkg.sub.c", "pkg.sub.deep"), ("pkg.sub.c", "pkg.b"), ("pkg.sub.c", "pkg.sub.deep.d"),
        ("pkg.sub", "pkg.sub.c"), ("pkg.sub.deep.d", "pkg.a"), ("pkg.sub.deep.d", "pkg.sub"),
    }  # fmt: skip


def test_relative_import_beyond_the_top_is_a_problem_not_an_edge(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE, "pkg/a.py": "from .. import elsewhere\nfrom ...x import y\n",
                            "pkg/__init__.py": "from .. import up\n"})  # fmt: skip
    assert edges(g) == set()
    assert sum("past the top" in p.message for p in g.problems) == 3


def test_star_import_is_an_edge_to_the_module(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE, "pkg/a.py": "from pkg.b import *\nfrom pkg.sub import *\n"})
    assert edges(g) == {("pkg.a", "pkg.b"), ("pkg.a", "pkg.sub")}
    assert all(i.name is None for i in g.imports)


def test_kinds_function_type_checking_conditional(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\nimport typing\n"
        "if TYPE_CHECKING:\n    from pkg import b\nelse:\n    import pkg.sub\n"
        "if typing.TYPE_CHECKING:\n    import pkg.sub.deep\n"
        "try:\n    import pkg.sub.c\nexcept ImportError:\n    pass\n"
        "def f():\n    import pkg.sub.deep.d\n    class K:\n        if TYPE_CHECKING:\n"
        "            import pkg.b\n"
        "class C:\n    import pkg.sub.c\n"
        "with open('x') as fh:\n    from pkg.sub import c\n"
        "match 1:\n    case 1:\n        import pkg.sub.deep.d\n"
        "for _ in ():\n    import pkg.b\nelse:\n    import pkg.b\n"
        "while False:\n    import pkg.b\n"
    )
    g = graph_of(tmp_path, {**BASE, "pkg/a.py": source})
    got = [(i.line, i.imported, i.kind) for i in g.imports]
    assert got == [
        (4, "pkg.b", "type_checking"), (6, "pkg.sub", "conditional"),
        (8, "pkg.sub.deep", "type_checking"), (10, "pkg.sub.c", "conditional"),
        (14, "pkg.sub.deep.d", "function"), (17, "pkg.b", "type_checking"),
        (19, "pkg.sub.c", "module"), (21, "pkg.sub.c", "conditional"),
        (24, "pkg.sub.deep.d", "conditional"), (26, "pkg.b", "conditional"),
        (28, "pkg.b", "conditional"), (30, "pkg.b", "conditional"),
    ]  # fmt: skip


def test_dynamic_imports_with_a_constant_name(tmp_path: Path) -> None:
    source = (
        "import importlib\nfrom importlib import import_module\n"
        "importlib.import_module('pkg.b')\nimport_module('.c', 'pkg.sub')\n"
        "__import__('pkg.sub.deep')\nimport_module('.b', __package__)\n"
        "name = 'pkg.sub'\nimportlib.import_module(name)\n__import__('pkg.b', level=1)\n"
        "import_module(f'pkg.{name}')\n"
    )
    g = graph_of(tmp_path, {**BASE, "pkg/a.py": source})
    got = [(i.line, i.imported, i.kind) for i in g.imports]
    assert got == [(3, "pkg.b", "dynamic"), (4, "pkg.sub.c", "dynamic"),
                   (5, "pkg.sub.deep", "dynamic"), (6, "pkg.b", "dynamic")]  # fmt: skip


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_every_line_ending_python_reads_gives_the_same_records(newline: str) -> None:
    """Python ends a line at \\r\\n, \\r or \\n; the dynamic imports must be found, on the
    same lines, whichever a file uses."""
    lines = ["import importlib", "x = 1", "importlib.import_module('pkg.b')",
             "def f():", "    __import__('pkg.sub')", ""]  # fmt: skip
    assert extract(newline.join(lines).encode()) == [
        ("i", 0, "importlib", (), 1, "module"),
        ("d", 0, "pkg.b", (), 3, "dynamic"),
        ("d", 0, "pkg.sub", (), 5, "dynamic"),
    ]


def test_dynamic_imports_with_keywords_and_an_explicit_absolute_level(tmp_path: Path) -> None:
    """``name=`` and ``package=`` given by keyword, and ``__import__`` with ``level=0`` (by
    position or keyword) name their module as surely as the plain forms; a level above 0, or
    arguments unpacked from a variable, are not followed."""
    source = (
        "import importlib\n"
        "importlib.import_module(package='pkg', name='.b')\n"
        "__import__('pkg.sub.c', None, None, [], 0)\n"
        "__import__(name='pkg.sub.deep', level=0)\n"
        "__import__('pkg.b', globals(), None, [], 1)\n"
        "__import__('pkg.b', *rest)\n"
        "__import__('pkg.b', **options)\n"
    )
    g = graph_of(tmp_path, {**BASE, "pkg/a.py": source})
    got = sorted((i.line, i.imported) for i in g.imports if i.kind == "dynamic")
    assert got == [(2, "pkg.b"), (3, "pkg.sub.c"), (4, "pkg.sub.deep")]


def test_an_absolute_dynamic_import_is_followed_whatever_its_package_argument(
    tmp_path: Path,
) -> None:
    """Python ignores ``package`` for an absolute name, so the module imported is known
    whatever the argument is; a relative name with an unknown anchor is not followed."""
    source = (
        "import importlib\n"
        "importlib.import_module('pkg.b', None)\n"
        "importlib.import_module('pkg.sub.c', package=__spec__.parent)\n"
        "importlib.import_module('pkg.sub', anchor)\n"
        "importlib.import_module('.b', anchor)\n"
        "importlib.import_module(name='pkg.sub.deep', package=f())\n"
    )
    g = graph_of(tmp_path, {**BASE, "pkg/a.py": source})
    got = sorted((i.line, i.imported) for i in g.imports if i.kind == "dynamic")
    assert got == [(2, "pkg.b"), (3, "pkg.sub.c"), (4, "pkg.sub"), (6, "pkg.sub.deep")]


def test_dynamic_imports_in_decorators_are_found(tmp_path: Path) -> None:
    source = (
        "import importlib\n"
        "@importlib.import_module('pkg.b').hook\ndef f(): pass\n"
        "@__import__('pkg.sub').wrap\nclass C: pass\n"
    )
    g = graph_of(tmp_path, {**BASE, "pkg/a.py": source})
    assert sorted((i.line, i.imported) for i in g.imports) == [(2, "pkg.b"), (4, "pkg.sub")]


def test_dynamic_relative_to_dunder_name_in_a_package(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE, "pkg/sub/__init__.py": "import importlib\n"
                            "importlib.import_module('.c', __name__)\n"})  # fmt: skip
    assert edges(g) == {("pkg.sub", "pkg.sub.c")}


def test_namespace_packages_top_level_and_nested(tmp_path: Path) -> None:
    files = {"one/ns/a.py": "from ns.inner import b\nfrom . import c\n",
             "two/ns/c.py": "import ns.a\n", "one/ns/inner/b.py": "from .. import a\n",
             "one/ns/empty/": ""}  # fmt: skip
    from tests.boundaries.helpers import write_tree

    write_tree(tmp_path, files)
    g = build_graph(["ns"], [tmp_path / "one", tmp_path / "two"], jobs=1)
    assert set(g.modules) == {"ns", "ns.a", "ns.c", "ns.inner", "ns.inner.b"}
    assert edges(g) == {("ns.a", "ns.inner.b"), ("ns.a", "ns.c"), ("ns.c", "ns.a"),
                        ("ns.inner.b", "ns.a")}  # fmt: skip


def test_package_shadows_module_of_the_same_name(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE, "pkg/sub.py": "import pkg.a\n",
                            "pkg/a.py": "from pkg import sub\n"})  # fmt: skip
    assert g.modules["pkg.sub"].endswith("__init__.py")
    assert edges(g) == {("pkg.a", "pkg.sub")}  # the shadowed sub.py's import is never read
    assert any("shadowed by the package pkg.sub" in p.message for p in g.problems)


def test_module_shadows_namespace_directory(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE, "pkg/x.py": "", "pkg/x/y.py": "import pkg.a\n"})
    assert "pkg.x.y" not in g.modules and g.modules["pkg.x"].endswith("x.py")
    assert any("namespace directory shadowed" in p.message for p in g.problems)


def test_non_identifier_module_names_are_modules(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE, "pkg/migrations/__init__.py": "",
                            "pkg/migrations/0001_initial.py": "from pkg import b\n"})  # fmt: skip
    assert ("pkg.migrations.0001_initial", "pkg.b") in edges(g)


def test_self_import_and_external_imports_are_left_out(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE, "pkg/a.py": "import pkg.a\nfrom . import a\nimport numpy\n"})
    assert edges(g) == set()


def test_file_that_does_not_parse_is_a_problem(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE, "pkg/a.py": "def (:\nimport pkg.b\n",
                            "pkg/b.py": "import pkg.a\n",
                          "pkg/__pycache__/b.cpython-312.pyc": ""})  # fmt: skip
    assert edges(g) == {("pkg.b", "pkg.a")}
    assert [(p.line, p.message) for p in g.problems] == [(1, "does not parse: invalid syntax")]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_nested_deeper_than_the_parser_goes_is_a_problem(tmp_path: Path, jobs: int) -> None:
    """A generated expression of thousands of terms makes Python's parser recurse too deep: the
    file does not parse (a problem), it does not stop the check."""
    deep = "x = " + " + ".join(['"ab"'] * 3000) + "\nimport pkg.b\n"
    with pytest.raises(BoundariesError, match="does not parse"):
        extract(deep, "deep.py")
    files = {**BASE, "pkg/b.py": "import pkg.a\n"}
    files |= {f"pkg/d{i}.py": deep for i in range(250 if jobs > 1 else 1)}  # parsed in workers
    write_tree(tmp_path, files)
    g = build_graph(["pkg"], [tmp_path], jobs=jobs)
    assert edges(g) == {("pkg.b", "pkg.a")}
    assert {p.message for p in g.problems} == {"does not parse: nested too deeply to parse"}


def test_importing_a_missing_submodule_falls_back_with_a_problem(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE, "pkg/a.py": "import pkg.sub.nothing\n"})
    assert edges(g) == {("pkg.a", "pkg.sub")}
    assert any("is not a module" in p.message for p in g.problems)


@pytest.mark.parametrize(
    "statement",
    ["import pkg.sub.nothing", "from pkg.sub.nothing import x", "from .sub.nothing import x",
     "from pkg.sub.nothing import *"],
)  # fmt: skip
def test_every_spelling_of_a_missing_module_falls_back_with_a_problem(
    tmp_path: Path, statement: str
) -> None:
    """``from X import y`` needs the module X as much as ``import X`` does: a missing one is
    warned about whichever way it is spelt, not only by ``import``."""
    g = graph_of(tmp_path, {**BASE, "pkg/a.py": statement + "\n"})
    assert edges(g) == {("pkg.a", "pkg.sub")}
    assert [p.message for p in g.problems] == ["pkg.sub.nothing is not a module; using pkg.sub"]


def test_several_packages_and_a_single_module_package(tmp_path: Path) -> None:
    g = graph_of(tmp_path, {**BASE, "solo.py": "import pkg.a\n", "pkg/a.py": "import solo\n"},
                 "pkg", "solo")  # fmt: skip
    assert {("solo", "pkg.a"), ("pkg.a", "solo")} <= edges(g)


def test_missing_package_raises_the_family_error(tmp_path: Path) -> None:
    with pytest.raises(BoundariesError, match="'nope' not found"):
        build_graph(["nope"], [tmp_path])
    with pytest.raises(BoundariesError, match="packages: package 'nope' not found"):
        discover("nope", [tmp_path])


def test_extract_skips_files_without_imports_and_keeps_line_order() -> None:
    assert extract(b"x = 1\n") == []
    assert [r[4] for r in extract("def f():\n    import a\nimport b\n")] == [2, 3]


def test_parallel_parse_equals_serial(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": ""}
    for i in range(260):
        files[f"pkg/m{i}.py"] = f"from pkg import m{(i * 7) % 260}\nimport pkg.m{(i + 1) % 260}\n"
    graph_of(tmp_path, files)
    serial = build_graph(["pkg"], [tmp_path], jobs=1)
    parallel = build_graph(["pkg"], [tmp_path], jobs=2)
    assert edges(serial) == edges(parallel) and len(edges(serial)) > 260


TRICKY_TAILS = [
    "x = 1\n",
    's = """\nimport pkg.b\nnot code\n"""\n',
    "def f(\n    a,\n):\n    import pkg.sub\n",
    "if x:\n    import pkg.b\nelse:\n    import pkg.sub\n",
    "try:\n    import pkg.b\nexcept ImportError:\n    pass\nfinally:\n    y = 2\n",
    "@decorator\ndef g():\n    pass\n",
    "z = (\n1)\n",
    "w = 1 + \\\n2\n",
    "t = '''\nimport pkg.sub.c\n'''\n",
    "class K:\n    import pkg.sub.deep\n\nimportant = 1\n",
    "u = f(import_module('pkg.b'))\n",
    "@importlib.import_module('pkg.b').hook\n@other\ndef h():\n    pass\n",
    "@__import__('pkg.sub').wrap\nclass C:\n    pass\n",
    "@decorator(\n    importlib.import_module('pkg.a')\n)\nasync def k():\n    pass\n",
]


@pytest.mark.parametrize("tail", TRICKY_TAILS)
@pytest.mark.parametrize("head", ["import pkg.a\n", "from pkg import b\nimport os\n\n", ""])
def test_prefix_parse_equals_full_parse(head: str, tail: str) -> None:
    """The parse cut after the last import finds what a parse of the whole file finds."""
    import ast

    from designpatterns_ref.boundaries.scan import _walk_dynamic, _walk_statements

    source = (head + tail + tail).encode()
    tree = ast.parse(source)
    full: list = []  # type: ignore[type-arg]
    _walk_statements(tree.body, full)
    _walk_dynamic(tree, list(range(1, source.count(b"\n") + 2)), full)
    full.sort(key=lambda r: r[4])
    assert extract(source) == full


@pytest.mark.parametrize("use_cache", [True, False])
def test_a_file_name_that_is_not_utf8_is_skipped_with_a_problem(
    tmp_path: Path, use_cache: bool
) -> None:
    """No import statement can spell a name that is not UTF-8: the file is skipped with a
    warning, the same with or without the cache (which used to refuse the whole check)."""
    write_tree(tmp_path, {**BASE, "pkg/a.py": "import pkg.b\n"})
    for name in (b"caf\xe9.py", b"d\xe9j\xe0"):
        path = os.fsencode(tmp_path / "pkg") + b"/" + name
        if name.endswith(b".py"):
            Path(os.fsdecode(path)).write_text("import pkg.a\n")
        else:
            os.mkdir(path)
            Path(os.fsdecode(path + b"/m.py")).write_text("import pkg.a\n")
    cache = FileCache(tmp_path / "c.bin") if use_cache else None
    g = build_graph(["pkg"], [tmp_path], cache=cache, jobs=1)
    assert edges(g) == {("pkg.a", "pkg.b")}
    assert sorted(p.message.split()[0] for p in g.problems) == [
        "'caf\\udce9.py'",
        "'d\\udce9j\\udce0'",
    ]


def test_a_file_that_does_not_parse_is_the_same_error_across_processes() -> None:
    """Raised in a worker of a process pool, the error reaches the caller as itself (it is
    pickled there and back) rather than breaking the pool."""
    with pytest.raises(Unparsable) as info:
        extract(b"\ndef (:\nimport x\n", "m.py")
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is Unparsable and str(copy) == str(info.value)
    assert (copy.path, copy.line, copy.reason) == ("m.py", 2, info.value.reason)
    with ProcessPoolExecutor(1) as pool:
        with pytest.raises(Unparsable) as remote:
            pool.submit(extract, b"\ndef (:\nimport x\n", "m.py").result()
        assert str(remote.value) == str(info.value)
        assert pool.submit(extract, b"import x\n").result()  # the pool still works


def test_a_top_level_namespace_portion_shadowed_by_a_later_package_is_warned_about(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path, {"r0/pkg/z.py": "", "r1/pkg/__init__.py": "", "r1/pkg/a.py": ""})
    modules, _, problems = discover("pkg", [tmp_path / "r0", tmp_path / "r1"])
    assert sorted(modules) == ["pkg", "pkg.a"]
    assert [(Path(p.path).parent.name, p.message) for p in problems] == [
        ("r0", f"namespace directory shadowed by {tmp_path / 'r1/pkg/__init__.py'}")
    ]


def test_a_module_without_source_is_known_but_its_imports_are_not(tmp_path: Path) -> None:
    """An extension module (or bytecode) beats a source file of its name; it cannot be read,
    so it is a module whose imports are unknown (a warning, and in ``unread``). The compiled
    files in ``__pycache__`` are not modules."""
    ext = importlib.machinery.EXTENSION_SUFFIXES[0]
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "import os\n", f"pkg/a{ext}": "",
                          "pkg/b.py": "import pkg.a\n",
                          "pkg/__pycache__/b.cpython-312.pyc": ""})  # fmt: skip
    g = build_graph(["pkg"], [tmp_path], jobs=1)
    assert g.modules["pkg.a"] == str(tmp_path / f"pkg/a{ext}")
    assert sorted(g.modules) == ["pkg", "pkg.a", "pkg.b"]  # a bytecode cache is no package
    assert g.unread == {"pkg.a"} and edges(g) == {("pkg.b", "pkg.a")}
    assert [p.message.split(":")[0] for p in g.problems] == [
        "no Python source (an extension module or bytecode)"
    ]


@pytest.mark.parametrize(
    ("link", "to"),
    [("pkg/bad", "bad"), ("pkg/bad.py", "bad.py"), ("pkg/self", "."), ("pkg/sub/up", ".."),
     ("pkg/ns/loop", "."), ("pkg/sub/deep/again", "../../sub")],
)  # fmt: skip
@pytest.mark.parametrize("use_cache", [True, False])
def test_a_symbolic_link_loop_is_a_problem_and_every_directory_is_listed_once(
    tmp_path: Path, link: str, to: str, use_cache: bool
) -> None:
    """A link to itself (which cannot be followed) or back up its own tree (which Python would
    follow forty levels deep) neither crashes discovery nor multiplies the modules: the graph
    is that of the tree without the link, with one problem naming the link; the command line
    check reports it as a warning, not as a traceback."""
    files = {**BASE, "pkg/a.py": "import pkg.b\n", "pkg/ns/": ""}
    write_tree(tmp_path / "plain", files)
    expected = build_graph(["pkg"], [tmp_path / "plain"], jobs=1)
    root = write_tree(tmp_path / "linked", files)
    os.symlink(to, root / link)
    cache = FileCache(tmp_path / "c.bin") if use_cache else None
    g = build_graph(["pkg"], [root], cache=cache, jobs=1)
    assert g.modules.keys() == expected.modules.keys() and edges(g) == edges(expected)
    assert [Path(p.path).name for p in g.problems] in ([], [Path(link).name])
    if "ns" not in link:  # a loop below a folder without Python code is never listed
        assert [Path(p.path).name for p in g.problems] == [Path(link).name]
    (root / "pyproject.toml").write_text(
        '[tool.dpref.boundaries]\npackages = ["pkg"]\nroots = ["."]\ncache = ""\n'
        '[tool.dpref.boundaries.components."pkg.*"]\n'
    )
    assert main(["boundaries", "check", str(root), "--no-todo"]) == 0


def _full_parse(code: bytes | str) -> list:  # type: ignore[type-arg]
    """The records of a parse of the whole source, every line walked for dynamic imports."""
    import ast

    from designpatterns_ref.boundaries.scan import _walk_dynamic, _walk_statements

    tree = ast.parse(code)
    full: list = []  # type: ignore[type-arg]
    _walk_statements(tree.body, full)
    _walk_dynamic(tree, list(range(1, len(code) + 2)), full)
    full.sort(key=lambda r: r[4])
    return full


@pytest.mark.parametrize("codec", ["utf-8", "latin-1", "cp1252", "utf-7", "shift_jis"])
@pytest.mark.parametrize("tail", TRICKY_TAILS)
def test_every_coding_cookie_gives_the_records_of_a_full_parse(codec: str, tail: str) -> None:
    """The source in the codec its cookie names, and the same source as a str, give what
    Python's parser finds in them. In UTF-7 ``+AGk-mport`` spells ``import``: no search of the
    raw bytes sees it, so the file is parsed whole. A str is already decoded: its cookie is
    ignored, as ``compile`` ignores it."""
    name = "名前" if codec == "shift_jis" else "café"
    source = f"# coding: {codec}\nimport {name}\n{tail}x = 1\n{tail}"
    encoded = source.encode(codec)
    if codec == "utf-7":
        encoded += b"+AGk-mport pkg.hidden\ny = 2\n"
        assert ("i", 0, "pkg.hidden", (), source.count("\n") + 1, "module") in extract(encoded)
    assert extract(encoded) == _full_parse(encoded)
    assert extract(source) == _full_parse(source)


def _reference_cut(text: bytes) -> int:
    """The cut as first written: a copy of the text before each candidate line, stripped of
    its line endings, tested for a trailing backslash."""
    import re

    last = text.rfind(b"import")
    start = text.find(b"\n", last)
    if start == -1:
        return len(text)
    top = re.compile(rb"^[^\s#)\]}]", re.MULTILINE)
    match = top.search(text, start + 1)
    while match is not None and text[: match.start()].rstrip(b"\r\n").endswith(b"\\"):
        match = top.search(text, match.end())
    return len(text) if match is None else match.start()


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([b"\\", b"\r", b"\n", b"\r\n", b"x", b" ", b"#", b")",
                                 b"import", b"y = 1"]), max_size=40))  # fmt: skip
def test_the_cut_equals_the_copying_reference(pieces: list[bytes]) -> None:
    from designpatterns_ref.boundaries.scan import _cut

    text = b"".join(pieces)
    assert _cut(text) == _reference_cut(text)


class _CountedBytes(bytes):
    """Bytes that count how many bytes are read through indexing and slicing."""

    read = 0

    def __getitem__(self, key):  # type: ignore[no-untyped-def,override]
        got = super().__getitem__(key)
        _CountedBytes.read += len(got) if isinstance(got, bytes) else 1
        return got


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_the_cut_reads_each_byte_a_bounded_number_of_times(newline: str) -> None:
    """Backslash-continued lines after the last import: the cut used to copy the text before
    each of them (quadratic); it now reads a bounded number of bytes per byte of the text."""
    from designpatterns_ref.boundaries.scan import _cut

    for lines in (1000, 4000):
        body = f"import os; x = \\{newline}" + f"'ab' \\{newline}" * lines + f"'c'{newline}"
        _CountedBytes.read = 0
        text = _CountedBytes(body.encode())
        assert _cut(text) == len(text)
        assert _CountedBytes.read <= 4 * len(text), (lines, _CountedBytes.read, len(text))
