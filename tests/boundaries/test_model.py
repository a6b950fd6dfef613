"""The checker against a brute-force model, on packages generated on disk.

Each example writes a package ``app`` whose children ``app.c0`` .. ``app.c3`` are components
(a module, or a package with submodules, one of them a package again), with random import
statements between any two modules: ``import x``, ``from p import leaf`` of a submodule,
``from x import name`` of an attribute, relative forms with one to three dots; each at module
level, inside a function, under ``if TYPE_CHECKING:`` or ``elif TYPE_CHECKING:``, in the
``else`` of a ``TYPE_CHECKING`` test, or in a ``try``. The generator knows every statement it
wrote, so the graph expected is written down, not computed: each import with its importer,
module, attribute, kind and line must be found, and nothing else.

The rules are then recomputed by brute force from that list and the documented meaning of the
configuration (sometimes a component inside another, which owns the modules below it; random
public APIs, allowed dependencies, counted kinds, a layers contract, an
independence contract; a module no component holds, like ``app`` itself, passes on what it
reaches through such modules, and what it imports must be public): every dependency and
privacy violation; for layers and independence,
the set of modules that reach a forbidden module by a chain whose inner modules belong to no
entry, each with the length of its shortest such chain (found by breadth-first search over
the counted imports); for cycles, one violation per component edge inside a strongly connected
group of components (mutual reachability), whose cycle goes through that edge and is as short
as any cycle through it (all orderings tried).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from designpatterns_ref.boundaries import KINDS, Config, build_graph, find_violations

COMPONENTS = [f"app.c{i}" for i in range(4)]
CONTEXTS = ["module", "function", "type_checking", "elif_type_checking", "else", "conditional"]


@dataclass
class Program:
    modules: list[str]
    packages: set[str]
    files: dict[str, str]  # module -> source
    imports: list[tuple[str, str, str | None, str, int]]  # importer, imported, name, kind, line


def _package_of(module: str, packages: set[str]) -> str:
    return module if module in packages else module.rpartition(".")[0]


def _relative(importer: str, target: str, packages: set[str]) -> tuple[int, str] | None:
    """The shortest relative spelling ``(dots, rest)`` of ``target`` from ``importer``."""
    base = _package_of(importer, packages).split(".")
    parts = target.split(".")
    for level in range(1, len(base) + 1):
        anchor = base[: len(base) - level + 1]
        if parts[: len(anchor)] == anchor:
            return level, ".".join(parts[len(anchor) :])
    return None


@st.composite
def programs(draw: st.DrawFn) -> Program:
    modules, packages = ["app"], {"app"}
    for c in COMPONENTS:
        modules.append(c)
        subs = draw(st.lists(st.sampled_from(["api", "core", "util"]), unique=True, max_size=3))
        if subs:
            packages.add(c)
        for s in sorted(subs):
            modules.append(f"{c}.{s}")
            if s == "core" and draw(st.booleans()):
                packages.add(f"{c}.core")
                modules.append(f"{c}.core.deep")
    files: dict[str, str] = {}
    imports: list[tuple[str, str, str | None, str, int]] = []
    for importer in modules:
        lines = ["from typing import TYPE_CHECKING"]
        for _ in range(draw(st.integers(0, 4))):
            target = draw(st.sampled_from(modules))
            form = draw(st.sampled_from(["import", "from-leaf", "from-attr", "relative"]))
            context = draw(st.sampled_from(CONTEXTS))
            name: str | None = None
            if form == "from-leaf" and "." in target:
                parent, _, leaf = target.rpartition(".")
                stmt = f"from {parent} import {leaf}"
            elif form == "relative" and (rel := _relative(importer, target, packages)):
                level, rest = rel
                dots = "." * level
                if rest and "." in rest:
                    head, _, leaf = rest.rpartition(".")
                    stmt = f"from {dots}{head} import {leaf}"
                elif rest:
                    stmt = f"from {dots} import {rest}"
                else:
                    stmt, name = f"from {dots} import thing", "thing"
            elif form in ("from-attr", "relative", "from-leaf"):
                stmt, name = f"from {target} import thing", "thing"
            else:
                stmt = f"import {target}"
            kind = {"elif_type_checking": "type_checking", "else": "conditional"}.get(
                context, context
            )
            if context == "module":
                block = [stmt]
            elif context == "function":
                block = ["def f():", "    " + stmt]
            elif context == "type_checking":
                block = ["if TYPE_CHECKING:", "    " + stmt]
            elif context == "elif_type_checking":
                block = ["if __debug__ is None:", "    pass", "elif TYPE_CHECKING:", "    " + stmt]
            elif context == "else":  # the other branch of a TYPE_CHECKING test runs
                block = ["if TYPE_CHECKING:", "    pass", "else:", "    " + stmt]
            else:
                block = ["try:", "    " + stmt, "except ImportError:", "    pass"]
            lines.extend(block)
            line = len(lines) - (2 if context == "conditional" else 0)
            if target != importer:
                imports.append((importer, target, name, kind, line))
        files[importer] = "\n".join(lines) + "\n"
    return Program(modules, packages, files, imports)


def _write(root: Path, program: Program) -> None:
    for m in program.modules:
        parts = m.split(".")
        if m in program.packages:
            path = root.joinpath(*parts, "__init__.py")
        else:
            path = root.joinpath(*parts[:-1], parts[-1] + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(program.files[m], encoding="utf-8")


PUBLIC = st.sampled_from([None, ["."], ["api"], [".", "api"], ["core.deep"]])


@st.composite
def configs(draw: st.DrawFn, modules: list[str]) -> dict[str, object]:
    """Four components, and maybe a fifth inside one of them (its ``core`` package)."""
    inner = [f"{c}.core" for c in COMPONENTS if f"{c}.core.deep" in modules]
    names = COMPONENTS + draw(
        st.lists(st.sampled_from(inner), max_size=1) if inner else st.just([])
    )
    components: dict[str, dict[str, object]] = {}
    for c in names:
        table: dict[str, object] = {}
        public = draw(PUBLIC)
        if public is not None:
            table["public"] = public
        if draw(st.booleans()):
            others = [o for o in names if o != c]
            table["depends_on"] = draw(st.lists(st.sampled_from(others), unique=True))
        components[c] = table
    order = draw(st.permutations(COMPONENTS))
    include = draw(st.sampled_from([list(KINDS), [k for k in KINDS if k != "type_checking"],
                                    ["module"], ["module", "conditional"]]))  # fmt: skip
    return {
        "packages": ["app"],
        "cache": "",
        "components": components,
        "include": include,
        "layers": [{"name": "stack", "layers": order[:3]}],
        "independence": [{"name": "apart", "modules": sorted(order[2:])}],
    }


def _within(module: str, modules: list[str]) -> set[str]:
    return {m for m in modules if m == module or m.startswith(module + ".")}


def _owner(module: str, components: list[str]) -> str | None:
    """The innermost component holding ``module``."""
    holding = [c for c in components if module == c or module.startswith(c + ".")]
    return max(holding, key=len, default=None)


def _shortest(
    edges: set[tuple[str, str]], source: str, targets: set[str], avoid: set[str]
) -> int | None:
    """Edges in the shortest chain from ``source`` to ``targets`` whose inner modules avoid
    ``avoid``, or None."""
    dist, queue = {source: 0}, deque([source])
    while queue:
        node = queue.popleft()
        for a, b in sorted(edges):
            if a != node or b in dist:
                continue
            if b in targets:
                return dist[node] + 1
            if b in avoid:
                continue
            dist[b] = dist[node] + 1
            queue.append(b)
    return None


def _reaches(edges: set[tuple[str, str]], a: str, b: str) -> bool:
    return a == b or _shortest(edges, a, {b}, set()) is not None


def _brute_cycle(edges: set[tuple[str, str]], group: set[str], a: str, b: str) -> int:
    """The length of the shortest cycle through the edge ``a -> b`` inside ``group``."""
    others = sorted(group - {a, b})
    for n in range(len(others) + 1):
        for perm in itertools.permutations(others, n):
            if all((x, y) in edges for x, y in itertools.pairwise([a, b, *perm, a])):
                return n + 2
    raise AssertionError("every edge of a strongly connected group lies on a cycle")


def _is_public(public: list[str] | None, component: str, imported: str, target: str) -> bool:
    """The documented meaning: ``"."`` is the package and the names it exports; ``"api"`` the
    submodule ``api`` and everything below it."""
    if public is None:
        return True
    if "." in public and imported == component:
        return True
    rest = target[len(component) + 1 :]
    return any(rest == e or rest.startswith(e + ".") for e in public if e != ".")


@settings(max_examples=60, deadline=None)
@given(program=programs(), data=st.data())
def test_graph_and_violations_equal_the_brute_force_model(
    program: Program, data: st.DataObject
) -> None:
    raw = data.draw(configs(program.modules))
    names = list(raw["components"])  # type: ignore[call-overload]
    event(f"components: {len(names)}")
    root = Path(tempfile.mkdtemp(prefix="dpref-model-"))
    try:
        _write(root, program)
        graph = build_graph(["app"], [root], jobs=1)
        config = Config.from_dict(raw)
        found = find_violations(graph, config)
    finally:
        shutil.rmtree(root)
    # the graph: every statement written, each once, and nothing else
    assert set(graph.modules) == set(program.modules)
    assert graph.packages == program.packages
    assert graph.problems == []
    got = Counter((i.importer, i.imported, i.name, i.kind, i.line) for i in graph.imports)
    assert got == Counter(program.imports)

    include = set(raw["include"])  # type: ignore[call-overload]
    counted = [i for i in program.imports if i[3] in include]
    edges = {(a, b) for a, b, *_ in counted}
    tables: dict[str, dict[str, object]] = raw["components"]  # type: ignore[assignment]
    owned = {m for m in program.modules if _owner(m, names) is not None}
    # a module no component holds passes on every owned module it reaches through such modules
    passes = {
        u: {t for t in owned if _shortest(edges, u, {t}, owned) is not None}
        for u in set(program.modules) - owned
    }
    expected: set[tuple[str, str, str, int]] = set()
    for importer, imported, name, _, line in counted:
        a, b = _owner(importer, names), _owner(imported, names)
        reached = {imported} if b is not None else passes[imported] if a is not None else set()
        for t in reached:
            deps = tables[a].get("depends_on") if a is not None else None
            if a != _owner(t, names) and deps is not None and _owner(t, names) not in deps:  # type: ignore[operator]
                expected.add(("dependency", importer, t, line))
        if b is None or a == b:
            continue
        target = imported if name is None else f"{imported}.{name}"
        if not _is_public(tables[b].get("public"), b, imported, target):  # type: ignore[arg-type]
            expected.add(("privacy", importer, target, line))
    edge_rules = {(v.rule, v.importer, v.imported, v.line) for v in found
                  if v.rule in ("dependency", "privacy")}  # fmt: skip
    assert edge_rules == expected

    def check_chains(rule: str, pairs: list[tuple[set[str], set[str]]], every: set[str]) -> None:
        brute: dict[str, int] = {}
        for sources, targets in pairs:
            for s in sources:
                n = _shortest(edges, s, targets, every)
                if n is not None:
                    brute[s] = min(brute.get(s, n), n)
        chains = [v.chain for v in found if v.rule == rule]
        assert sorted(c[0] for c in chains) == sorted(
            s for sources, targets in pairs for s in sources
            if _shortest(edges, s, targets, every) is not None
        )  # fmt: skip
        for chain in chains:
            assert all(pair in edges for pair in itertools.pairwise(chain))
            assert not set(chain[1:-1]) & every
            pair = next((p for p in pairs if chain[0] in p[0] and chain[-1] in p[1]), None)
            assert pair is not None
            assert len(chain) - 1 == _shortest(edges, chain[0], pair[1], every)
        assert {c[0] for c in chains} == set(brute)

    layers = [_within(c, program.modules) for c in raw["layers"][0]["layers"]]  # type: ignore[index]
    check_chains(
        "layers",
        [(layers[lo], layers[hi]) for hi in range(3) for lo in range(hi + 1, 3)],
        set().union(*layers),
    )
    apart = [_within(c, program.modules) for c in raw["independence"][0]["modules"]]  # type: ignore[index]
    check_chains(
        "independence",
        [(apart[a], apart[b]) for a in range(2) for b in range(2) if a != b],
        set().union(*apart),
    )

    through = {(a, t) for a, b in edges if a in owned and b not in owned for t in passes[b]}
    component_edges = {(_owner(a, names), _owner(b, names)) for a, b in edges | through}
    component_edges = {(a, b) for a, b in component_edges if a and b and a != b}
    groups = {
        frozenset(
            c for c in names if _reaches(component_edges, c, x) and _reaches(component_edges, x, c)
        )
        for x in names
    }
    groups = {g for g in groups if len(g) > 1}
    cycles = {(v.importer, v.imported): v.chain for v in found if v.rule == "cycle"}
    inside = {(a, b) for a, b in component_edges for g in groups if a in g and b in g}
    assert len(cycles) == len([v for v in found if v.rule == "cycle"])  # one per edge
    assert set(cycles) == inside
    for (a, b), cycle in cycles.items():
        (group,) = [g for g in groups if a in g]
        assert cycle[:2] == (a, b) and cycle[-1] == a
        assert len(cycle) - 1 == _brute_cycle(component_edges, set(group), a, b)  # type: ignore[arg-type]
        assert all(pair in component_edges for pair in itertools.pairwise(cycle))
    assert {v.rule for v in found} <= {"dependency", "privacy", "layers", "independence", "cycle"}
