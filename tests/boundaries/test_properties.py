"""Property tests: the graph found equals the graph generated; checks equal brute force."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections import deque
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.boundaries import (
    Config,
    Import,
    ImportGraph,
    build_graph,
    find_violations,
    shortest_cycle,
)
from designpatterns_ref.boundaries.rules import _cycles_within, _groups, bind
from designpatterns_ref.boundaries.run import _may_still_occur


@st.composite
def trees(draw: st.DrawFn) -> tuple[list[str], set[str]]:
    """A random package tree under ``gen``: (modules in creation order, packages)."""
    modules, packages = ["gen"], {"gen"}
    for i in range(draw(st.integers(1, 12))):
        parent = draw(st.sampled_from(sorted(packages)))
        name = f"{parent}.m{i}"
        modules.append(name)
        if draw(st.booleans()):
            packages.add(name)
    return modules, packages


def _package_of(module: str, packages: set[str]) -> str:
    return module if module in packages else module.rpartition(".")[0]


def _relative(importer: str, target: str, packages: set[str]) -> tuple[int, str] | None:
    """``from <dots><rest> import`` spelling of ``target`` from ``importer``, if one exists."""
    base = _package_of(importer, packages).split(".")
    parts = target.split(".")
    for level in range(1, len(base) + 1):
        anchor = base[: len(base) - level + 1]
        if parts[: len(anchor)] == anchor:
            return level, ".".join(parts[len(anchor) :])
    return None


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[str], set[str], dict[str, list[str]], set]:  # type: ignore[type-arg]
    modules, packages = draw(trees())
    source: dict[str, list[str]] = {m: [] for m in modules}
    expected: set[tuple[str, str, str]] = set()
    for importer in modules:
        for _ in range(draw(st.integers(0, 4))):
            target = draw(st.sampled_from(modules))
            form = draw(st.sampled_from(["import", "from-module", "from-attr", "relative",
                                         "star", "dynamic"]))  # fmt: skip
            context = draw(st.sampled_from(["module", "function", "type_checking"]))
            kind = context
            if form == "import":
                stmt = f"import {target}"
            elif form == "from-module" and "." in target:
                parent, _, leaf = target.rpartition(".")
                stmt = f"from {parent} import {leaf}"
            elif form == "relative" and (rel := _relative(importer, target, packages)):
                level, rest = rel
                if rest and "." in rest:
                    head, _, leaf = rest.rpartition(".")
                    stmt = f"from {'.' * level}{head} import {leaf}"
                elif rest:
                    stmt = f"from {'.' * level} import {rest}"
                else:
                    stmt = f"from {'.' * level} import some_attribute"
            elif form == "star":
                stmt = f"from {target} import *"
            elif form == "dynamic":
                stmt, kind = f"importlib.import_module({target!r})", "dynamic"
            else:
                stmt = f"from {target} import some_attribute"
            if context == "function":
                stmt = "def f():\n    " + stmt
            elif context == "type_checking":
                stmt = "if TYPE_CHECKING:\n    " + stmt
            source[importer].append(stmt)
            if target != importer:
                expected.add((importer, target, kind))
    return modules, packages, source, expected


def _write(
    root: Path, modules: list[str], packages: set[str], source: dict[str, list[str]]
) -> None:
    for m in modules:
        parts = m.split(".")
        path = root.joinpath(*parts, "__init__.py") if m in packages else root.joinpath(
            *parts[:-1], parts[-1] + ".py")  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        header = "import importlib\nfrom typing import TYPE_CHECKING\n"
        path.write_text(header + "\n".join(source[m]) + "\n", encoding="utf-8")


@settings(max_examples=60, deadline=None)
@given(programs())
def test_graph_found_equals_graph_generated(program) -> None:  # type: ignore[no-untyped-def]
    modules, packages, source, expected = program
    root = Path(tempfile.mkdtemp(prefix="dpref-prop-"))
    try:
        _write(root, modules, packages, source)
        graph = build_graph(["gen"], [root], jobs=1)
        assert set(graph.modules) == set(modules)
        assert graph.packages == packages
        got = {(i.importer, i.imported, i.kind) for i in graph.imports}
        assert got == expected
        assert graph.problems == []
    finally:
        shutil.rmtree(root)


edges_st = st.sets(st.tuples(st.sampled_from("abcdef"), st.sampled_from("abcdef")), max_size=14)


def _brute_shortest_cycle_length(edges: set[tuple[str, str]], nodes: set[str]) -> int | None:
    best = None
    for n in range(2, len(nodes) + 1):
        for perm in itertools.permutations(sorted(nodes), n):
            ring = [*perm, perm[0]]
            if all((a, b) in edges for a, b in itertools.pairwise(ring)):
                return n
    return best


@settings(max_examples=100, deadline=None)
@given(edges_st)
def test_shortest_cycle_equals_brute_force(edges: set[tuple[str, str]]) -> None:
    edges = {(a, b) for a, b in edges if a != b}
    adjacency: dict[str, set[str]] = {}
    for a, b in edges:
        adjacency.setdefault(a, set()).add(b)
    nodes = set("abcdef")
    cycle = shortest_cycle(adjacency, nodes)
    brute = _brute_shortest_cycle_length(edges, nodes)
    if brute is None:
        assert cycle is None
    else:
        assert cycle is not None and len(cycle) - 1 == brute
        assert cycle[0] == cycle[-1] and cycle[0] == min(cycle[:-1])
        assert all((a, b) in edges for a, b in itertools.pairwise(cycle))


def _graph(edges: set[tuple[str, str]]) -> ImportGraph:
    mods = {f"p.{n}": f"{n}.py" for n in "abcdef"}
    g = ImportGraph({"p": "p/__init__.py", **mods}, {"p"})
    for a, b in sorted(edges):
        if a != b:
            g.add(Import(f"p.{a}", f"p.{b}", 1, "module", f"{a}.py"))
    return g


def _reach(edges: set[tuple[str, str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        for a, b in edges:
            if a == node and b not in seen:
                seen.add(b)
                todo.append(b)
    return seen - {start} if (start, start) not in edges else seen


@settings(max_examples=100, deadline=None)
@given(edges_st, st.permutations("abc"))
def test_layers_verdict_equals_transitive_closure(
    edges: set[tuple[str, str]], order: list[str]
) -> None:
    cfg = Config.from_dict({"packages": ["p"], "cache": "", "cycles": False,
                            "layers": [{"layers": [f"p.{x}" for x in order]}]})  # fmt: skip
    found = find_violations(_graph(edges), cfg)
    broken = any(
        order[hi] in _reach(edges, order[lo])
        for hi in range(3) for lo in range(hi + 1, 3)
    )  # fmt: skip
    assert bool(found) == broken
    for v in found:
        assert all((a[2:], b[2:]) in edges for a, b in itertools.pairwise(v.chain))


@settings(max_examples=100, deadline=None)
@given(edges_st)
def test_independence_verdict_equals_transitive_closure(edges: set[tuple[str, str]]) -> None:
    cfg = Config.from_dict({"packages": ["p"], "cache": "", "cycles": False,
                            "independence": [{"modules": ["p.a", "p.b", "p.c"]}]})  # fmt: skip
    found = find_violations(_graph(edges), cfg)
    broken = any(y in _reach(edges, x) for x in "abc" for y in "abc" if x != y)
    assert bool(found) == broken


def _reference_path(
    edges: dict[str, set[str]], start: str, goal: str, within: set[str]
) -> list[str]:
    """The per-edge search ``_cycles_within`` replaces: a forward breadth-first search from
    ``start`` with sorted neighbours, one per edge."""
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for nxt in sorted(edges.get(node, ())):
            if nxt in within and nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    path: list[str] = []
    step: str | None = goal
    while step is not None:
        path.append(step)
        step = parent[step]
    return path[::-1]


@settings(max_examples=300, deadline=None)
@given(st.sets(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from("abcdefgh")), max_size=30))
def test_the_cycle_through_each_edge_is_the_per_edge_search(edges: set[tuple[str, str]]) -> None:
    adjacency: dict[str, set[str]] = {}
    for a, b in edges:
        if a != b:
            adjacency.setdefault(a, set()).add(b)
            adjacency.setdefault(b, set())
    for group in _groups(adjacency):
        expected = {
            (a, b): (a, *_reference_path(adjacency, b, a, group))
            for a in group
            for b in adjacency[a] & group
        }
        assert _cycles_within(adjacency, group) == expected


MODULES = ["p", "p.u", "p.a", "p.a.m", "p.b", "p.b.m", "p.c", "p.c.m"]  # p, p.u: no owner
UNREAD_CONFIG = {
    "packages": ["p"], "cache": "", "components": {"p.a": {"depends_on": ["*"]},
                                                   "p.b": {}, "p.c": {"depends_on": []}},
    "layers": [{"name": "stack", "layers": ["p.a", "p.b"]}],
    "independence": [{"name": "peers", "modules": ["p.b", "p.c"]}],
}  # fmt: skip


def _graph_of(edges: set[tuple[str, str]], unread: str) -> ImportGraph:
    files = {m: m.replace(".", "/") + ("/__init__.py" if m.count(".") < 2 else ".py")
             for m in MODULES}  # fmt: skip
    g = ImportGraph(files, {"p", "p.u", "p.a", "p.b", "p.c"})
    for a, b in sorted(edges):
        g.add(Import(a, b, 1, "module", files[a]))
    g.unread = {unread}
    return g


@settings(max_examples=60, deadline=None)
@given(
    st.sets(st.tuples(st.sampled_from(MODULES), st.sampled_from(MODULES)), max_size=8),
    st.sampled_from(MODULES),
)
def test_an_entry_called_fixed_occurs_for_no_content_of_the_unread_file(
    edges: set[tuple[str, str]], unread: str
) -> None:
    """Oracle: every content of the file that does not parse (any set of imports it may hold).
    An entry that some content would produce, and that does not occur now, must be kept."""
    edges = {(a, b) for a, b in edges if a != b and a != unread}
    cfg = Config.from_dict(UNREAD_CONFIG)
    now = _graph_of(edges, unread)
    seen = {v.key for v in find_violations(now, cfg)}
    unknown = _may_still_occur(now, cfg)
    others = [m for m in MODULES if m != unread]
    for n in range(len(others) + 1):
        for extra in itertools.combinations(others, n):
            full = _graph_of(edges | {(unread, b) for b in extra}, unread)
            for key in {v.key for v in find_violations(full, cfg)} - seen:
                assert unknown(key), (key, extra)


OWNED = ["p.a", "p.a.m", "p.b", "p.b.m", "p.c"]
UNOWNED = ["p", "p.u", "p.v"]


@settings(max_examples=300, deadline=None)
@given(
    st.sets(st.tuples(st.sampled_from(OWNED + UNOWNED), st.sampled_from(OWNED + UNOWNED)),
            max_size=14),
    st.sets(st.sampled_from(OWNED + UNOWNED), max_size=3),
)  # fmt: skip
def test_modules_no_component_owns_pass_their_imports_on(
    edges: set[tuple[str, str]], late: set[str]
) -> None:
    """Oracle: module ``m`` of component ``a`` reaches component ``b`` when a path of imports
    leads from ``m`` to a module of ``b`` through modules no component owns only (none, for
    a direct import). The component edges, the dependency violations and the cycles are
    those of that relation (imports of a kind not included never count)."""
    owner = {m: m.split(".")[1] for m in OWNED}
    files = {m: m.replace(".", "/") + ".py" for m in OWNED + UNOWNED}
    g = ImportGraph(files, {"p", "p.a", "p.b"})
    for a, b in sorted(edges):
        if a != b:
            g.add(Import(a, b, 1, "function" if a in late else "module", files[a]))
    counted = {(a, b) for a, b in edges if a != b and a not in late}
    cfg = Config.from_dict({"packages": ["p"], "cache": "", "include": ["module"],
                            "components": {"p.a": {"depends_on": []}, "p.b": {"depends_on": []},
                                           "p.c": {"depends_on": ["p.a"]}}})  # fmt: skip
    reached: set[tuple[str, str]] = set()  # (importer, module of another component)
    for m in OWNED:
        todo, seen = [m], {m}
        while todo:
            node = todo.pop()
            for a, b in counted:
                if a == node and b not in seen:
                    seen.add(b)
                    if b in owner:
                        reached.add((m, b))
                    else:
                        todo.append(b)
    expected = {(owner[m], owner[t]) for m, t in reached if owner[m] != owner[t]}
    component_edges = bind(cfg, g).component_edges(g, cfg.include)
    assert {(a, b) for a, bs in component_edges.items() for b in bs} == {
        (f"p.{a}", f"p.{b}") for a, b in expected
    }
    found = find_violations(g, cfg)
    allowed = {("c", "a")}
    assert {(v.importer, v.imported) for v in found if v.rule == "dependency"} == {
        (m, t) for m, t in reached if owner[m] != owner[t] and (owner[m], owner[t]) not in allowed
    }
    cycles = {(v.importer[2:], v.imported[2:]) for v in found if v.rule == "cycle"}
    assert cycles == {(a, b) for a, b in expected if a in _reach(expected, b)}
