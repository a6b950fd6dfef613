"""Check an import graph against the rules: privacy, dependencies, layers, independence, cycles.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

:func:`bind` expands the configured components over the modules found (a ``pkg.*`` pattern
becomes one component per child of ``pkg``) and gives every module its owner, the innermost
component holding it. :func:`find_violations` then applies, to every import of a counted kind:

- **privacy** (packwerk): an import into another component must name something the target
  lists in ``public``;
- **dependency** (packwerk): the importer's component must list the target's in ``depends_on``;

A module that no component holds (the top ``__init__`` under a ``pkg.*`` pattern) is glue,
not a component: what it imports from a component must be public, and a component importing
it depends on whatever it reaches through such modules (:meth:`Bound.through_unowned`), so a
re-export there neither hides a dependency nor breaks a cycle;

and, over chains of imports:

- **layers** (import-linter): no module of a lower layer reaches a higher layer; one violation
  per lower module that does, with its shortest chain (a chain through another layer's module
  is left to that module's own violation);
- **independence** (import-linter): no chain between any two listed modules (same rule);
- **cycle**: the component graph has no cycle; every component edge inside a strongly
  connected group of components is a violation of its own (keyed by the two components, like
  a dependency), shown with a shortest cycle through it. Every edge of such a group lies on a
  cycle, so an edge that joins a recorded group, or makes a new cycle in it, is a new
  violation rather than one hidden behind the group's recorded cycle.

Complexity: O(imports) for privacy and dependency; O(modules + edges) per pair of layers or
independent modules (one reverse breadth-first search each); O(c * (c + e)) for a shortest
cycle through each of the e component edges of a group of c components (one reverse
breadth-first search per component, shared by the edges out of it).

>>> from designpatterns_ref.boundaries.graph import ImportGraph
>>> from designpatterns_ref.boundaries.base import Import
>>> g = ImportGraph({"s": "s", "s.a": "a.py", "s.b": "b.py"}, {"s"})
>>> g.add(Import("s.a", "s.b", 1, "module", "a.py"))
>>> g.add(Import("s.b", "s.a", 2, "module", "b.py"))
>>> cfg = Config.from_dict({"packages": ["s"], "components": {"s.*": {}}})
>>> for v in find_violations(g, cfg):
...     print(v.key, v.chain)
('cycle', 's.a', 's.b') ('s.a', 's.b', 's.a')
('cycle', 's.b', 's.a') ('s.b', 's.a', 's.b')
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from designpatterns_ref.boundaries.base import BoundariesError, ConfigError, Import, Violation
from designpatterns_ref.boundaries.config import Component, Config
from designpatterns_ref.boundaries.graph import ImportGraph
from designpatterns_ref.errors import shown

__all__ = ["Bound", "bind", "find_violations", "shortest_cycle"]


@dataclass
class Bound:
    """Components expanded over a graph: every component, and each module's owner."""

    components: dict[str, Component]
    owner: dict[str, str]

    def component_edges(self, graph: ImportGraph, kinds: frozenset[str]) -> dict[str, set[str]]:
        """Component -> the other components it imports, directly or through modules that no
        component owns (:meth:`through_unowned`)."""
        out: dict[str, set[str]] = {c: set() for c in self.components}
        for imp in graph.imports:
            a, b = self.owner.get(imp.importer), self.owner.get(imp.imported)
            if a is not None and b is not None and a != b and imp.kind in kinds:
                out[a].add(b)
        for first, last, _ in self.through_unowned(graph, kinds):
            a, b = self.owner[first.importer], self.owner[last.imported]
            if a != b:
                out[a].add(b)
        return out

    def through_unowned(
        self, graph: ImportGraph, kinds: frozenset[str]
    ) -> list[tuple[Import, Import, tuple[str, ...]]]:
        """The imports that reach a component through modules no component owns.

        A module outside every component (the top ``__init__`` of a ``pkg.*`` pattern, say)
        is no boundary of its own: it passes on what it imports. For each import of ``kinds``
        from an owned module into an unowned one, and each owned module reached from there
        through unowned modules only: ``(first, last, chain)``, the import into the unowned
        module, the import out of them, and a shortest chain of modules from the importer to
        the module reached. A re-export in the top ``__init__`` then neither hides a
        dependency nor breaks a cycle. One breadth-first search per unowned module imported.
        """
        reach: dict[str, dict[str, tuple[Import, tuple[str, ...]]]] = {}
        out = []
        for imp in sorted(graph.imports, key=lambda i: (i.path, i.line, i.imported)):
            if imp.kind not in kinds or imp.importer not in self.owner:
                continue
            if imp.imported in self.owner or imp.imported not in graph.modules:
                continue
            if imp.imported not in reach:
                reach[imp.imported] = self._reach(graph, imp.imported, kinds)
            for last, chain in reach[imp.imported].values():
                out.append((imp, last, (imp.importer, *chain)))
        return out

    def _reach(
        self, graph: ImportGraph, start: str, kinds: frozenset[str]
    ) -> dict[str, tuple[Import, tuple[str, ...]]]:
        """Each owned module reached from the unowned ``start`` through unowned modules only:
        the last import and a shortest chain from ``start`` (breadth first, names in order)."""
        parent: dict[str, str | None] = {start: None}
        queue = deque([start])
        found: dict[str, tuple[Import, tuple[str, ...]]] = {}
        while queue:
            node = queue.popleft()
            for nxt, imps in sorted(graph.edges.get(node, {}).items()):
                counted = [i for i in imps if i.kind in kinds]
                if not counted or nxt in parent or nxt in found:
                    continue
                if nxt not in self.owner:
                    parent[nxt] = node
                    queue.append(nxt)
                    continue
                chain = [nxt]
                step: str | None = node
                while step is not None:
                    chain.append(step)
                    step = parent[step]
                first = min(counted, key=lambda i: (i.path, i.line))
                found[nxt] = (first, tuple(reversed(chain)))
        return found


def bind(config: Config, graph: ImportGraph) -> Bound:
    """Expand patterns and assign owners; raises ConfigError for names the graph lacks."""
    if not isinstance(graph, ImportGraph) or not isinstance(config, Config):
        raise BoundariesError("bind(config, graph): need a Config and an ImportGraph")
    explicit = {c.module: c for c in config.components.values() if not c.pattern}
    components: dict[str, Component] = {}
    for c in config.components.values():
        key = f"components.{c.name}.module"
        if c.module not in graph.modules:
            raise ConfigError(key, f"{shown(c.module)} is not a module of {list(config.packages)}")
        if not c.pattern:
            components[c.name] = c
            continue
        prefix = c.module + "."
        for child in sorted(graph.modules):
            direct = child.startswith(prefix) and "." not in child[len(prefix) :]
            if direct and child not in explicit and child not in components:
                components[child] = Component(child, child, c.public, c.depends_on)
    by_module = {c.module: c.name for c in components.values()}
    for c in components.values():
        outer = [by_module[p] for p in _parents(c.module) if p in by_module]
        if len(outer) > 1:
            raise ConfigError(
                f"components.{c.name}",
                f"lies inside {len(outer)} components ({', '.join(map(repr, outer))}); "
                "a component may sit inside one other at most",
            )
        for dep in c.depends_on or {}:
            if dep != "*" and dep not in components:
                raise ConfigError(
                    f"components.{c.name}.depends_on", f"unknown component {shown(dep)}"
                )
    owner: dict[str, str] = {}
    for module in graph.modules:
        for candidate in (module, *_parents(module)):
            if candidate in by_module:
                owner[module] = by_module[candidate]
                break
    return Bound(components, owner)


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


def _is_public(imp: Import, target: Component) -> bool:
    public = target.public
    if public is None:
        return True
    if imp.imported == target.module and "." in public:
        return True
    rel = imp.target[len(target.module) + 1 :]
    return any(rel == e or rel.startswith(e + ".") for e in public if e != ".")


def _where(imp: Import) -> str:
    kind = "" if imp.kind == "module" else f" ({imp.kind} import)"
    return f"{imp.importer} imports {imp.target}{kind}"


def _edge_rules(graph: ImportGraph, config: Config, bound: Bound) -> list[Violation]:
    """Dependency and privacy. An unowned importer has no dependencies to check, but what it
    imports from a component must still be public (a re-export in the top ``__init__`` is no
    way round a component's API); an owned importer depends on whatever it reaches through
    unowned modules (:meth:`Bound.through_unowned`)."""
    out: list[Violation] = []
    seen: set[tuple[str, str, str, int]] = set()

    def dependency(imp: Import, imported: str, b: str, where: str, chain: tuple[str, ...]) -> None:
        a = bound.owner[imp.importer]
        deps = bound.components[a].depends_on
        once = ("dependency", imp.importer, imported, imp.line)
        if deps is not None and "*" not in deps and b not in deps and once not in seen:
            seen.add(once)
            out.append(Violation(
                "dependency", imp.importer, imported, imp.path, imp.line,
                f"{where}: component {a!r} does not depend on {b!r}",
                f"add {b!r} to components.{a}.depends_on (with the reason), or move the code",
                chain=chain,
            ))  # fmt: skip

    for imp in graph.imports:
        if imp.kind not in config.include:
            continue
        a, b = bound.owner.get(imp.importer), bound.owner.get(imp.imported)
        if b is None or a == b:
            continue
        target = bound.components[b]
        where = _where(imp)
        if a is not None:
            dependency(imp, imp.imported, b, where, ())
        if not _is_public(imp, target):
            shown = ", ".join(target.public or ()) or "nothing"
            out.append(Violation(
                "privacy", imp.importer, imp.target, imp.path, imp.line,
                f"{where}: not in the public API of {b!r} (public: {shown})",
                f"import it through the public API of {b!r}, or add it to components.{b}.public",
            ))  # fmt: skip
    for first, last, chain in bound.through_unowned(graph, config.include):
        b = bound.owner[last.imported]
        if bound.owner[first.importer] != b:
            where = f"{_where(first)}, which reaches {last.imported}: {' -> '.join(chain)}"
            dependency(first, last.imported, b, where, chain)
    return out


def _reverse(graph: ImportGraph, kinds: frozenset[str]) -> dict[str, list[str]]:
    reverse: dict[str, list[str]] = {}
    for a, bs in graph.edges.items():
        for b, imps in bs.items():
            if any(i.kind in kinds for i in imps):
                reverse.setdefault(b, []).append(a)
    return {b: sorted(a) for b, a in reverse.items()}


def _chains(
    reverse: dict[str, list[str]],
    sources: set[str],
    targets: set[str],
    avoid: set[str],
) -> dict[str, tuple[str, ...]]:
    """For each source that reaches a target without passing through another source or a
    module of ``avoid``: the shortest such chain. One reverse breadth-first search."""
    nxt: dict[str, str | None] = dict.fromkeys(targets)
    queue = deque(sorted(targets))
    found: dict[str, tuple[str, ...]] = {}
    while queue:
        node = queue.popleft()
        for prev in reverse.get(node, ()):
            if prev in nxt or prev in found or prev in targets:
                continue
            if prev in sources:
                chain = [prev]
                step: str | None = node
                while step is not None:
                    chain.append(step)
                    step = nxt[step]
                found[prev] = tuple(chain)
                continue
            if prev in avoid:
                continue
            nxt[prev] = node
            queue.append(prev)
    return found


def _expand(name: str, config: Config, bound: Bound, graph: ImportGraph, key: str) -> set[str]:
    module = bound.components[name].module if name in bound.components else name
    if module not in graph.modules:
        raise ConfigError(key, f"{shown(name)} is neither a component nor a module of the graph")
    return graph.within(module)


def _refuse_overlap(first: set[str], second: set[str], a: str, b: str, key: str) -> None:
    """Two entries of one contract must not share a module (one inside the other): no chain
    between them could be found, so the contract would check nothing between them."""
    if first & second:
        raise ConfigError(
            key,
            f"{shown(b)} and {shown(a)} share the modules below one of them (one lies inside "
            "the other): a contract's entries must not overlap",
        )


def _chain_violation(
    rule: str, contract: str, chain: tuple[str, ...], graph: ImportGraph, kinds: frozenset[str],
    message: str, fix: str,
) -> Violation:  # fmt: skip
    first = graph.first_import(chain[0], chain[1], set(kinds))
    shown = " -> ".join(chain)
    return Violation(rule, chain[0], chain[-1], first.path, first.line, f"{message}: {shown}", fix,
                     contract=contract, chain=chain)  # fmt: skip


def _contract_rules(graph: ImportGraph, config: Config, bound: Bound) -> list[Violation]:
    out: list[Violation] = []
    kinds = config.include
    reverse = _reverse(graph, kinds) if config.layers or config.independence else {}
    for i, contract in enumerate(config.layers):
        sets = []
        for j, layer in enumerate(contract.layers):
            key = f"layers[{i}].layers[{j}]"
            sets.append(set().union(*(_expand(m, config, bound, graph, key) for m in layer)))
            for k in range(j):
                _refuse_overlap(sets[k], sets[j], "|".join(contract.layers[k]),
                                "|".join(layer), key)  # fmt: skip
        every = set().union(*sets)
        for hi in range(len(sets)):
            for lo in range(hi + 1, len(sets)):
                for chain in _chains(reverse, sets[lo], sets[hi], every).values():
                    out.append(_chain_violation(
                        "layers", contract.name, chain, graph, kinds,
                        f"lower layer {'|'.join(contract.layers[lo])} reaches higher layer "
                        f"{'|'.join(contract.layers[hi])}",
                        "remove the import, or invert it (pass the dependency in, or move the "
                        "code to the higher layer)",
                    ))  # fmt: skip
    for i, ind in enumerate(config.independence):
        key = f"independence[{i}].modules"
        sets = [_expand(m, config, bound, graph, key) for m in ind.modules]
        for a in range(len(sets)):
            for b in range(a):
                _refuse_overlap(sets[b], sets[a], ind.modules[b], ind.modules[a], key)
        every = set().union(*sets)
        for a in range(len(sets)):
            for b in range(len(sets)):
                if a == b:
                    continue
                for chain in _chains(reverse, sets[a], sets[b], every).values():
                    out.append(_chain_violation(
                        "independence", ind.name, chain, graph, kinds,
                        f"{ind.modules[a]} reaches {ind.modules[b]}, which must stay independent",
                        "remove the import, or move what both need into a module both may use",
                    ))  # fmt: skip
    return out


def _check_nodes(where: str, nodes: Iterable[object]) -> None:
    for node in nodes:
        if not isinstance(node, str):
            raise BoundariesError(
                f"shortest_cycle: {where} holds {shown(node, 60)}: every node must be a str "
                "(a module or component name)"
            )


def shortest_cycle(edges: dict[str, set[str]], within: set[str]) -> tuple[str, ...] | None:
    """The shortest cycle among the nodes ``within`` (first node smallest), or None."""
    if not isinstance(edges, dict) or not isinstance(within, set | frozenset):
        raise BoundariesError("shortest_cycle(edges, within): need a dict of sets and a set")
    if not all(isinstance(v, set | frozenset) for v in edges.values()):
        raise BoundariesError("shortest_cycle: every value of edges must be a set")
    _check_nodes("within", within)
    _check_nodes("edges", edges)
    for key, targets in edges.items():
        _check_nodes(f"edges[{key!r}]", targets)
    best: tuple[str, ...] | None = None
    for start in sorted(within):
        parent: dict[str, str | None] = {start: None}
        queue = deque([start])
        found = None
        while queue and found is None:
            node = queue.popleft()
            for nxt in sorted(edges.get(node, ())):
                if nxt not in within:
                    continue
                if nxt == start:
                    found = node
                    break
                if nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        if found is None:
            continue
        path = [start]
        step: str | None = found
        while step is not None:
            path.append(step)
            step = parent[step]
        cycle = tuple(reversed(path))  # start ... found, start
        if best is None or len(cycle) < len(best):
            best = cycle
    if best is None:
        return None
    ring = list(best[:-1])
    i = ring.index(min(ring))
    ring = ring[i:] + ring[:i]
    return (*ring, ring[0])


def _groups(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected groups of two or more nodes (Kosaraju, iterative)."""
    order: list[str] = []
    seen: set[str] = set()
    for root in sorted(edges):
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(sorted(edges[root])))]
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, iter(sorted(edges.get(nxt, ())))))
                    break
            else:
                stack.pop()
                order.append(node)
    reverse: dict[str, set[str]] = {n: set() for n in edges}
    for a, bs in edges.items():
        for b in bs:
            reverse.setdefault(b, set()).add(a)
    groups = []
    assigned: set[str] = set()
    for root in reversed(order):
        if root in assigned:
            continue
        group = {root}
        assigned.add(root)
        todo = [root]
        while todo:
            for prev in reverse[todo.pop()]:
                if prev not in assigned:
                    assigned.add(prev)
                    group.add(prev)
                    todo.append(prev)
        if len(group) > 1:
            groups.append(group)
    return groups


def _cycles_within(
    edges: dict[str, set[str]], group: set[str]
) -> dict[tuple[str, str], tuple[str, ...]]:
    """For each edge ``a -> b`` inside the strongly connected ``group``, a shortest cycle
    through it: ``a``, then a shortest path ``b`` ... ``a``.

    One breadth-first search backwards from each ``a`` gives every node's distance to ``a``;
    the path from ``b`` then steps to the first neighbour (in name order) one step closer.
    That is the smallest shortest path in name order, the one a forward breadth-first search
    from ``b`` with sorted neighbours finds, at one search per node rather than per edge:
    O(c * (c + e)) for c nodes and e edges in the group. Every path between two nodes of a
    group stays in the group.
    """
    forward = {a: sorted(edges.get(a, set()) & group) for a in group}
    reverse: dict[str, list[str]] = {a: [] for a in group}
    for a in sorted(group):
        for b in forward[a]:
            reverse[b].append(a)
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for goal in sorted(group):
        dist = {goal: 0}
        queue = deque([goal])
        while queue:
            node = queue.popleft()
            for prev in reverse[node]:
                if prev not in dist:
                    dist[prev] = dist[node] + 1
                    queue.append(prev)
        for b in forward[goal]:
            path = [goal, b]
            while path[-1] != goal:
                closer = dist[path[-1]] - 1
                path.append(next(n for n in forward[path[-1]] if dist.get(n) == closer))
            out[(goal, b)] = tuple(path)
    return out


def _cycle_rules(graph: ImportGraph, config: Config, bound: Bound) -> list[Violation]:
    """One violation per component edge inside a strongly connected group, with a shortest
    cycle through it: every edge of a group lies on a cycle, so a new edge joining a group
    (or making one) is a new violation even when the group was recorded before."""
    edges = bound.component_edges(graph, config.include)
    first: dict[tuple[str, str], Import] = {}
    through = [
        (f, bound.owner[last.imported])
        for f, last, _ in bound.through_unowned(graph, config.include)
    ]
    for i, owned in [(i, bound.owner.get(i.imported)) for i in graph.imports] + through:
        a, b = bound.owner.get(i.importer), owned
        if i.kind not in config.include or a is None or b is None or a == b:
            continue
        known = first.get((a, b))
        if known is None or (i.path, i.line) < (known.path, known.line):
            first[(a, b)] = i
    out = []
    for group in sorted(_groups(edges), key=min):
        cycles = _cycles_within(edges, group)
        for a, b in sorted(cycles):
            cycle = cycles[(a, b)]
            imp = first[(a, b)]
            out.append(Violation(
                "cycle", a, b, imp.path, imp.line,
                f"{a} imports {b}, an import in a cycle of components: {' -> '.join(cycle)}",
                "break the cycle: invert this import (an interface or a callback owned by "
                "the lower component) or move the shared code into a component both "
                "depend on",
                chain=cycle,
            ))  # fmt: skip
    return out


def find_violations(
    graph: ImportGraph, config: Config, bound: Bound | None = None
) -> list[Violation]:
    """Every violation of ``config`` in ``graph``, sorted by file and line."""
    if not isinstance(graph, ImportGraph) or not isinstance(config, Config):
        raise BoundariesError("find_violations(graph, config): need an ImportGraph and a Config")
    bound = bind(config, graph) if bound is None else bound
    out = _edge_rules(graph, config, bound) + _contract_rules(graph, config, bound)
    if config.cycles:
        out += _cycle_rules(graph, config, bound)
    return sorted(out, key=lambda v: (v.path, v.line, v.rule, v.imported))
