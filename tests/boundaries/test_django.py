"""The contract set on Django's real source: it runs, and the graph equals grimp's."""

from __future__ import annotations

import ast
import os
from collections import Counter

import grimp

from designpatterns_ref.boundaries import build, extract, find_violations
from designpatterns_ref.boundaries.contracts import django_config, django_root
from designpatterns_ref.boundaries.scan import _walk_dynamic, _walk_statements


def test_contract_set_runs_on_django() -> None:
    config = django_config()
    graph = build(config, use_cache=False)
    found = find_violations(graph, config)
    rules = Counter(v.rule for v in found)
    assert set(rules) == {"dependency", "layers", "independence", "cycle"}
    cycles = [v.chain for v in found if v.rule == "cycle"]
    assert ("django.apps", "django.core", "django.apps") in cycles  # one per edge in a cycle
    assert all(c[0] == c[-1] and len(set(c)) == len(c) - 1 for c in cycles)
    assert len({c[:2] for c in cycles}) == len(cycles)
    for v in found:
        assert os.path.isfile(v.path) and v.line >= 1
    assert graph.problems == []


def test_graph_equals_grimps_on_django() -> None:
    graph = build(django_config(), use_cache=False)
    theirs = grimp.build_graph("django", cache_dir=None)
    assert set(graph.modules) == set(theirs.modules)
    expected = {(m, n) for m in theirs.modules for n in theirs.find_modules_directly_imported_by(m)}
    ours = graph.edge_set(kinds={"module", "conditional", "function", "type_checking"})
    assert ours == expected


def test_cut_parse_equals_full_parse_on_every_django_file() -> None:
    root = django_root() / "django"
    checked = 0
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".py"):
                continue
            text = open(os.path.join(folder, name), "rb").read()  # noqa: SIM115
            full: list = []  # type: ignore[type-arg]
            tree = ast.parse(text)
            _walk_statements(tree.body, full)
            _walk_dynamic(tree, list(range(1, text.count(b"\n") + 2)), full)
            full.sort(key=lambda r: r[4])
            assert extract(text) == full, name
            checked += 1
    assert checked > 800
