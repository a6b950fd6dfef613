"""Bad configuration and hostile values: a clear error naming the key, and nothing changed."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.boundaries import (
    BoundariesError,
    Config,
    ConfigError,
    FileCache,
    Import,
    ImportGraph,
    Violation,
    build_graph,
    check,
    discover,
    extract,
    load_config,
    shortest_cycle,
    write_todo,
)
from designpatterns_ref.boundaries.run import shrink_todo
from tests.boundaries.helpers import violations, write_tree

HOSTILE: tuple[Any, ...] = (
    None, True, False, 0, -1, math.nan, math.inf, 10**400, "", " ", "x" * 10_000, "\ud800",
    "a\x00b", b"bytes", [], [1, 2], {}, {"a": 1}, (), object(), 1j,
)  # fmt: skip
GOOD = {"packages": ["shop"], "components": {"shop.a": {"public": ["."], "depends_on": []}}}
FILES = {"shop/__init__.py": "", "shop/a/__init__.py": "", "shop/a/x/__init__.py": "",
         "shop/a/x/y.py": "", "shop/b.py": "import shop.a\n"}  # fmt: skip


def test_unknown_component_names_the_key(tmp_path: Path) -> None:
    cfg = {"packages": ["shop"], "components": {"shop.a": {"depends_on": ["shop.ghost"]}}}
    with pytest.raises(ConfigError) as info:
        violations(tmp_path, FILES, cfg)
    assert info.value.key == "components.shop.a.depends_on"
    assert "unknown component 'shop.ghost'" in str(info.value)


def test_component_inside_two_others_names_the_key(tmp_path: Path) -> None:
    cfg = {"packages": ["shop"], "components": {"shop": {}, "shop.a": {}, "shop.a.x": {}}}
    with pytest.raises(ConfigError) as info:
        violations(tmp_path, FILES, cfg)
    assert info.value.key == "components.shop.a.x"
    assert "lies inside 2 components ('shop.a', 'shop')" in str(info.value)
    # one level of nesting is fine
    assert (
        violations(
            tmp_path, FILES, {"packages": ["shop"], "components": {"shop": {}, "shop.a": {}}}
        )
        == []
    )


def test_layer_listed_twice_names_the_key() -> None:
    for layers, key in (
        (["shop.a", "shop.b", "shop.a"], "layers[0].layers[2]"),
        (["shop.a", ["shop.b", "shop.b"]], "layers[0].layers[1][1]"),
        (["shop.a", ["shop.b", "shop.a"]], "layers[0].layers[1]"),
    ):
        with pytest.raises(ConfigError) as info:
            Config.from_dict({"packages": ["shop"], "layers": [{"layers": layers}]})
        assert info.value.key == key and "listed twice" in str(info.value)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({}, "packages"),
        ({"packages": ["shop"], "bogus": 1}, "bogus"),
        ({"packages": ["shop"], "components": {"shop.a": {"privat": []}}},
         "components.shop.a.privat"),
        ({"packages": ["shop"], "components": {"a": {"module": "shop.a"},
                                               "b": {"module": "shop.a"}}}, "components.b.module"),
        ({"packages": ["shop"], "layers": [{"layers": ["shop.a"]}]}, "layers[0].layers"),
        ({"packages": ["shop"], "layers": [{"layers": ["a", "b"], "containers": []}]},
         "layers[0].containers"),
        ({"packages": ["shop"], "independence": [{"modules": ["shop.a"]}]},
         "independence[0].modules"),
        ({"packages": ["shop"], "include": ["module", "runtime"]}, "include[1]"),
        ({"packages": ["shop"], "cycles": "yes"}, "cycles"),
        ({"packages": ["shop", "shop"]}, "packages[1]"),
        ({"packages": ["shop"], "components": {"shop.a": {"public": ["../x"]}}},
         "components.shop.a.public[0]"),
        ({"packages": ["shop"], "components": {"shop.a": {"depends_on": {"shop.b": 3}}}},
         "components.shop.a.depends_on.shop.b"),
    ],
)  # fmt: skip
def test_bad_configuration_names_the_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    assert info.value.key == key and str(info.value).startswith(f"{key}: ")


@pytest.mark.parametrize(
    "key", ["packages", "roots", "components", "layers", "independence", "include", "cycles",
            "todo", "cache"],
)  # fmt: skip
def test_hostile_values_at_every_key(key: str) -> None:
    for value in HOSTILE:
        data = {**GOOD, key: value}
        try:
            Config.from_dict(data)
        except ConfigError as exc:
            assert exc.key.startswith(key), (key, value, exc.key)
        assert data[key] is value  # the caller's mapping is untouched


@pytest.mark.parametrize(
    "where",
    ["public", "depends_on", "module"],
)
def test_hostile_values_inside_a_component(where: str) -> None:
    for value in HOSTILE:
        if where != "module" and isinstance(value, list | tuple | dict) and not value:
            continue  # an empty list is valid: nothing public, no dependency allowed
        if where == "module" and isinstance(value, str) and value.isidentifier():
            continue  # a well-formed name: whether it exists is checked against the graph
        with pytest.raises(ConfigError) as info:
            Config.from_dict({"packages": ["shop"], "components": {"shop.a": {where: value}}})
        assert info.value.key.startswith(f"components.shop.a.{where}")


def test_hostile_values_as_check_arguments(tmp_path: Path) -> None:
    write_tree(tmp_path, FILES)
    cfg = Config.from_dict({**GOOD, "roots": ["."]}, base=tmp_path)
    for value in HOSTILE:
        for call in (
            lambda v: check(v),
            lambda v: check(cfg, jobs=v) if v is not None else None,
            lambda v: check(cfg, use_cache=v) if not isinstance(v, bool) else None,
            lambda v: build_graph(v, [tmp_path]),
            lambda v: build_graph(["shop"], v),
            lambda v: load_config(v),
        ):
            with contextlib.suppress(BoundariesError):
                call(value)
    assert not (tmp_path / ".dpref_cache").exists()


def test_refused_check_leaves_todo_and_cache_unchanged(tmp_path: Path) -> None:
    write_tree(tmp_path, {**FILES, "shop/b.py": "import shop.a.x.y\n",
                          "pyproject.toml": '[tool.dpref.boundaries]\npackages = ["shop"]\n'
                          'roots = ["."]\n[tool.dpref.boundaries.components."shop.*"]\n'
                          'public = ["."]\n'})  # fmt: skip
    cfg = load_config(tmp_path)
    report = check(cfg)
    write_todo(tmp_path / cfg.todo, report.violations)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    bad = Config.from_dict({"packages": ["shop"], "roots": ["."], "components": {
        "shop.*": {"depends_on": ["shop.ghost"]}}}, base=tmp_path)  # fmt: skip
    with pytest.raises(ConfigError):
        shrink_todo(bad, use_cache=False)
    with pytest.raises(ConfigError):
        check(bad, use_cache=False)
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


def _graph() -> ImportGraph:
    g = ImportGraph({"s": "s/__init__.py", "s.a": "s/a.py", "s.b": "s/b.py"}, {"s"})
    g.add(Import("s.a", "s.b", 1, "module", "s/a.py"))
    return g


def _state(g: ImportGraph) -> object:
    return (dict(g.modules), set(g.packages), list(g.imports), repr(g.edges), list(g.problems))


def test_import_graph_refuses_hostile_construction() -> None:
    for value in HOSTILE:
        if not isinstance(value, dict) or value:  # {} is an empty graph; {"a": 1} is not
            with pytest.raises(BoundariesError, match="modules"):
                ImportGraph(value, set())
        with pytest.raises(BoundariesError, match="packages"):
            ImportGraph({"s": "s.py"}, value)
    with pytest.raises(BoundariesError, match="modules"):
        ImportGraph({"s": None}, {"s"})  # type: ignore[dict-item]
    with pytest.raises(BoundariesError, match="packages"):
        ImportGraph({"s": "s.py"}, {None})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "imp",
    [
        "junk",
        None,
        ("s.a", "s.b", 1, "module", "s/a.py"),
        Import(None, "s.b", 1, "module", "s/a.py"),  # type: ignore[arg-type]
        Import("s.a", ["s.b"], 1, "module", "s/a.py"),  # type: ignore[arg-type]
        Import("s.a", "s.zzz", 1, "module", "s/a.py"),
        Import("s.zzz", "s.b", 1, "module", "s/a.py"),
        Import("s.a", "s.a", 1, "module", "s/a.py"),
        Import("s.a", "s.b", True, "module", "s/a.py"),
        Import("s.a", "s.b", 0, "module", "s/a.py"),
        Import("s.a", "s.b", 1, "junk", "s/a.py"),
        Import("s.a", "s.b", 1, "module", None),  # type: ignore[arg-type]
        Import("s.a", "s.b", 1, "module", "s/a.py", name=3),  # type: ignore[arg-type]
    ],
    ids=repr,
)
def test_import_graph_add_refuses_and_changes_nothing(imp: object) -> None:
    g = _graph()
    before = _state(g)
    with pytest.raises(BoundariesError, match="imp"):
        g.add(imp)  # type: ignore[arg-type]
    assert _state(g) == before


def test_import_graph_queries_refuse_hostile_arguments() -> None:
    g = _graph()
    before = _state(g)
    calls = {
        "prefix": lambda v: g.within(v),
        "kinds": lambda v: g.edge_set(v),
        "sources": lambda v: g.shortest_chain(v, {"s.b"}),
        "targets": lambda v: g.shortest_chain({"s.a"}, v),
        "avoid": lambda v: g.shortest_chain({"s.a"}, {"s.b"}, avoid=v),
        "kinds=": lambda v: g.shortest_chain({"s.a"}, {"s.b"}, kinds=v),
        "importer": lambda v: g.first_import(v, "s.b"),
        "imported": lambda v: g.first_import("s.a", v),
        "kinds==": lambda v: g.first_import("s.a", "s.b", v),
    }
    for name, call in calls.items():
        for value in (*HOSTILE, {None}, {"junk"}, ["s.a"]):
            try:
                call(value)
            except BoundariesError as exc:
                assert name.rstrip("=") in str(exc), (name, value, exc)
            assert _state(g) == before
    with pytest.raises(BoundariesError, match="prefix"):
        g.within(None)  # type: ignore[arg-type]
    with pytest.raises(BoundariesError, match="sources"):
        g.shortest_chain(None, None)  # type: ignore[arg-type]
    with pytest.raises(BoundariesError, match="no import"):
        g.first_import("x", "y")
    with pytest.raises(BoundariesError, match="no import"):
        g.first_import("s.b", "s.a")  # both modules exist, the edge does not
    with pytest.raises(BoundariesError, match="kinds"):
        g.edge_set(["junk"])
    assert g.first_import("s.a", "s.b").line == 1  # good calls still answer
    assert g.shortest_chain({"s.a"}, {"s.b"}, kinds={"module"}) == ("s.a", "s.b")
    assert g.within("s") == {"s", "s.a", "s.b"}


_VIOLATION = {"rule": "dependency", "importer": "s.a", "imported": "s.b", "path": "s/a.py",
              "line": 3, "message": "m", "fix": "f", "contract": "", "chain": ()}  # fmt: skip


@pytest.mark.parametrize("field", sorted(_VIOLATION))
def test_a_violation_refuses_a_bad_field_when_built(field: str) -> None:
    """A Violation with a field of the wrong kind used to fail later, as a TypeError inside
    write_todo, split or render; it is refused where it is made, naming the field."""
    for value in HOSTILE:
        if field == "line" and type(value) is int and value >= 0:
            continue
        if field in ("importer", "imported", "path", "message", "fix", "contract") and (
            isinstance(value, str)
        ):
            continue
        if field == "chain" and value == ():
            continue
        with pytest.raises(BoundariesError, match=f"^{field}="):
            Violation(**{**_VIOLATION, field: value})


def _cache(tmp_path: Path) -> FileCache:
    (tmp_path / "m.py").write_text("import os\n")
    cache = FileCache(tmp_path / "cache.bin")
    cache.read({"m": str(tmp_path / "m.py")})
    return cache


def _cache_state(cache: FileCache) -> object:
    file = cache.path.read_bytes() if cache.path.exists() else None
    return file, cache.parsed, cache.hits, list(cache.problems), cache.unchanged, cache._snapshot


@pytest.mark.parametrize(
    "call",
    [
        lambda c, v: c.read(v),
        lambda c, v: c.read({"m": v}),
        lambda c, v: c.store_snapshot(v, ()),
        lambda c, v: c.store_snapshot("k", [v]),
        lambda c, v: c.store_discovery(v, {}, ()),
        lambda c, v: c.store_discovery("k", v, ()),
        lambda c, v: c.store_discovery("k", {}, [v]),
    ],
    ids=["read(files)", "read(files[m])", "store_snapshot(key)", "store_snapshot(value)",
         "store_discovery(key)", "store_discovery(seen)", "store_discovery(value)"],
)  # fmt: skip
def test_the_file_cache_refuses_bad_arguments_and_changes_nothing(
    tmp_path: Path, call: Any
) -> None:
    """``read`` took any value (an int path even read and closed that file descriptor); the
    stores kept what marshal cannot write, failing at the next write, or half-way through."""
    for value in (*HOSTILE, object(), {"m": 3}):
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2:
            value = -value - 7  # never hand a standard stream's descriptor to an unfixed read
        cache = _cache(tmp_path)
        before = _cache_state(cache)
        try:
            call(cache, value)
        except BoundariesError as exc:
            assert str(exc)
            assert _cache_state(cache) == before, f"{value!r:.40} refused but changed the cache"
        cache.flush()  # whatever was kept can be written


@pytest.mark.parametrize(
    "value", [*HOSTILE, 10**5000, "/tmp", ["/tmp", None], "ab"], ids=lambda v: type(v).__name__
)
def test_discover_and_extract_refuse_what_is_not_a_path(tmp_path: Path, value: Any) -> None:
    """``roots`` is a list of folders (a str would be walked letter by letter), ``path`` a path:
    anything else is the family's error, never a bare TypeError or ValueError."""
    write_tree(tmp_path, FILES)
    roots_ok = isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value)
    if not roots_ok:
        with pytest.raises(BoundariesError, match="roots"):
            discover("shop", value)
    if not (isinstance(value, str) and value and "\x00" not in value and "\ud800" not in value):
        with pytest.raises(BoundariesError, match="path"):
            extract("import os\n", value)
    with pytest.raises(BoundariesError, match="seen"):
        discover("shop", [tmp_path], [])  # type: ignore[arg-type]


def test_only_checked_entry_points_are_public() -> None:
    """Resolving raw records trusts them as the parser made them: it is not public API (an
    import built by hand goes through ImportGraph.add, which checks it)."""
    from designpatterns_ref.boundaries import graph

    assert "resolve" not in graph.__all__ and not hasattr(graph, "resolve")


def test_an_independence_contract_name_used_twice_is_refused() -> None:
    """The name keys each violation's todo entry: two contracts of one name would report every
    violation twice under one key, so the name is refused as a layers name is."""
    from designpatterns_ref.boundaries import Independence

    twice = [{"name": "x", "modules": ["a", "b"]}, {"name": "x", "modules": ["c", "d"]}]
    with pytest.raises(ConfigError, match=r"independence\[1\]\.name: 'x' is used by another"):
        Config.from_dict({"packages": ["a"], "independence": twice})
    with pytest.raises(ConfigError, match=r"independence\[1\]\.name"):
        Config(packages=["a"], independence=[Independence("x", ["a", "b"]),
                                             Independence("x", ["c", "d"])])  # fmt: skip


@pytest.mark.parametrize(
    ("edges", "within", "where"),
    [
        ({"a": {"b"}, "b": {"a"}}, {"a", "b", 3}, "within holds 3"),
        ({"a": {"b"}, "b": {"a", None}}, {"a", "b"}, "edges['b'] holds None"),
        ({"a": {"b"}, 1: {"a"}}, {"a", "b"}, "edges holds 1"),
        ({"a": {b"b"}}, {"a"}, "edges['a'] holds b'b'"),
    ],
)
def test_shortest_cycle_refuses_a_node_that_is_not_a_name(
    edges: dict[Any, set[Any]], within: set[Any], where: str
) -> None:
    with pytest.raises(BoundariesError, match=r"every node must be a str") as info:
        shortest_cycle(edges, within)
    assert where in str(info.value)
