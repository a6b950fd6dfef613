"""boundaries: the checker's entry points (configuration, graph, check, output, todo file)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from designpatterns_ref import boundaries as b
from designpatterns_ref.boundaries import verdict
from tests.fuzz.helpers import per_argument
from tests.fuzz.spec import Entry

ERRORS = (b.BoundariesError,)

NOT_FUZZED: dict[str, str] = {
    "Problem": "a record of the graph and the report (source the graph cannot represent); "
    "no call takes one",
    "Report": "the result check() returns, only read (render checks it is one)",
}

_DIR = Path(tempfile.mkdtemp(prefix="dpref-fuzz-boundaries-"))
(_DIR / "shop").mkdir()
(_DIR / "shop" / "__init__.py").write_text("import shop.a\n")
(_DIR / "shop" / "a.py").write_text("from shop import b\n")
(_DIR / "shop" / "b.py").write_text("")

_BASE: dict[str, Any] = {"packages": ["shop"], "roots": ["."], "cache": "",
                         "components": {"shop.*": {"public": ["."], "depends_on": []}}}  # fmt: skip


def _config(**change: Any) -> b.Config:
    return b.Config.from_dict({**_BASE, **change}, base=_DIR)


def _todo_state(_: object = None) -> object:
    """The scratch project's todo file: a refused record or shrink_todo leaves it as it was."""
    todo = _config()
    path = todo.base / todo.todo
    return path.read_bytes() if path.exists() else None


def _graph() -> b.ImportGraph:
    g = b.ImportGraph({"s": "s/__init__.py", "s.a": "s/a.py", "s.b": "s/b.py"}, {"s"})
    g.add(b.Import("s.a", "s.b", 1, "module", "s/a.py"))
    return g


def _graph_state(g: b.ImportGraph) -> object:
    return (dict(g.modules), set(g.packages), list(g.imports), repr(g.edges), list(g.problems))


#: Imports a graph of _graph() must refuse: a field of the wrong type, an unknown module or kind.
_BAD_IMPORTS = (
    b.Import(None, "s.b", 1, "module", "s/a.py"),  # type: ignore[arg-type]
    b.Import("s.a", ["s.b"], 1, "module", "s/a.py"),  # type: ignore[arg-type]
    b.Import("s.a", "s.zzz", 1, "module", "s/a.py"),
    b.Import("s.a", "s.a", 1, "module", "s/a.py"),
    b.Import("s.a", "s.b", True, "module", "s/a.py"),
    b.Import("s.a", "s.b", 1, "junk", "s/a.py"),
    b.Import("s.a", "s.b", 1, "module", None),  # type: ignore[arg-type]
    b.Import("s.a", "s.b", 1, "module", "s/a.py", name=3),  # type: ignore[arg-type]
)


def _import_entry(field: str) -> Entry:
    """An Import with one hostile field, added to a graph: the call that takes Imports."""
    valid: dict[str, Any] = {"importer": "s.a", "imported": "s.b", "line": 1, "kind": "module",
                             "path": "s/a.py", "name": None}  # fmt: skip
    return Entry(
        f"Import({field}=) added to a graph",
        call=lambda g, v: g.add(b.Import(**{**valid, field: v})),
        make=_graph,
        snapshot=_graph_state,
    )


_VIOLATION: dict[str, Any] = {"rule": "dependency", "importer": "s.a", "imported": "s.b",
                              "path": "s/a.py", "line": 3, "message": "m", "fix": "f",
                              "contract": "", "chain": ()}  # fmt: skip


def _cache() -> b.FileCache:
    """A cache in its own folder that has read the scratch project's files once."""
    folder = Path(tempfile.mkdtemp(prefix="dpref-fuzz-cache-"))
    cache = b.FileCache(folder / "cache.bin")
    cache.read({"shop": str(_DIR / "shop" / "__init__.py"), "shop.a": str(_DIR / "shop" / "a.py")})
    return cache


def _cache_state(cache: b.FileCache) -> object:
    """The cache's fields and its file, byte for byte."""
    from tests.fuzz.test_fuzz import state_of  # the suite imports this registry

    return state_of(cache), cache.path.read_bytes() if cache.path.exists() else None


def _cache_entries() -> list[Entry]:
    def entries(method: str, valid: dict[str, Any]) -> list[Entry]:
        return per_argument(
            f"FileCache.{method}",
            lambda c, **kw: getattr(c, method)(**kw),
            valid,
            make=_cache,
            snapshot=_cache_state,
        )

    return [
        *entries("read", {"files": {"shop.a": str(_DIR / "shop" / "a.py")}}),
        Entry(
            "FileCache.read(files[module])",
            call=lambda c, v: c.read({"shop.a": v}),
            make=_cache,
            snapshot=_cache_state,
        ),
        *entries("discovery", {"key": "k"}),
        *entries("snapshot", {"key": "k"}),
        *entries("store_discovery", {"key": "k", "seen": {str(_DIR): 1}, "value": ((), [])}),
        *entries("store_snapshot", {"key": "k", "value": ((), [])}),
    ]


def _report() -> b.Report:
    return b.check(_config(), use_cache=False, jobs=1)


# A valid save of the scratch project (argv names _DIR): each entry makes one argument hostile.
_SAVE: dict[str, Any] = {
    "argv": ["check", str(_DIR)],
    "dirs": {},
    "files": {},
    "todo_file": None,
    "output": "",
    "status": 0,
    "config_bytes": b"",
}

#: Valid arguments of the dataclasses built directly; each entry makes one of them hostile.
_DIRECT: dict[str, tuple[Any, dict[str, Any]]] = {
    "Config": (
        b.Config,
        {
            "packages": ("shop",),
            "roots": (str(_DIR),),
            "components": {"a": b.Component("a", "shop.a")},
            "layers": (b.Layers("l", (("shop.a",), ("shop.b",))),),
            "independence": (b.Independence("i", ("shop.a", "shop.b")),),
            "include": frozenset({"module"}),
            "cycles": True,
            "todo": "todo.toml",
            "cache": "",
            "base": _DIR,
        },
    ),
    "Component": (
        b.Component,
        {"name": "a", "module": "shop.a", "public": (".",), "depends_on": {}, "pattern": False},
    ),
    "Layers": (b.Layers, {"name": "l", "layers": (("shop.a",), ("shop.b",))}),
    "Independence": (b.Independence, {"name": "i", "modules": ("shop.a", "shop.b")}),
}

_KEYS = ("packages", "roots", "components", "layers", "independence", "include", "cycles",
         "todo", "cache")  # fmt: skip

ENTRIES = [
    Entry("Config.from_dict(data)", call=lambda _, v: b.Config.from_dict(v)),
    Entry("Config.from_dict(base=)", call=lambda _, v: b.Config.from_dict(_BASE, base=v)),
    *(
        Entry(f"Config.from_dict({key}=)", call=lambda _, v, k=key: _config(**{k: v}))
        for key in (
            "packages",
            "roots",
            "components",
            "layers",
            "independence",
            "include",
            "cycles",
            "todo",
            "cache",
        )
    ),
    Entry(
        "Config.from_dict(components.x.public)",
        call=lambda _, v: _config(components={"shop.a": {"public": v}}),
    ),
    Entry(
        "Config.from_dict(components.x.depends_on)",
        call=lambda _, v: _config(components={"shop.a": {"depends_on": v}}),
    ),
    Entry(
        "Config.from_dict(components.x.module)",
        call=lambda _, v: _config(components={"x": {"module": v}}),
    ),
    Entry("Config.from_dict(layers[0].layers)", call=lambda _, v: _config(layers=[{"layers": v}])),
    Entry(
        "Config.from_dict(independence[0].modules)",
        call=lambda _, v: _config(independence=[{"modules": v}]),
    ),
    *(
        Entry(
            f"{cls}({arg}=)", call=lambda _, v, build=build, ok=ok, arg=arg: build(**{**ok, arg: v})
        )
        for cls, (build, ok) in _DIRECT.items()
        for arg in ok
    ),
    Entry("load_config(path)", call=lambda _, v: b.load_config(v)),
    Entry("build_graph(packages)", call=lambda _, v: b.build_graph(v, [_DIR], jobs=1)),
    Entry("build_graph(roots)", call=lambda _, v: b.build_graph(["shop"], v, jobs=1)),
    Entry("build_graph(jobs=)", call=lambda _, v: b.build_graph(["shop"], [_DIR], jobs=v)),
    Entry("build_graph(cache=)", call=lambda _, v: b.build_graph(["shop"], [_DIR], cache=v)),
    Entry("discover(package)", call=lambda _, v: b.discover(v, [_DIR])),
    Entry("discover(roots)", call=lambda _, v: b.discover("shop", v)),
    Entry("extract(source)", call=lambda _, v: b.extract(v)),
    Entry("extract(path)", call=lambda _, v: b.extract("import os\n", v)),
    Entry("build(config)", call=lambda _, v: b.build(v)),
    *(
        Entry(f"build({arg}=)", call=lambda _, v, a=arg: b.build(_config(), **{a: v}))
        for arg in ("use_cache", "verify_content", "jobs")
    ),
    *(
        Entry(f"{name}(config)", call=lambda _, v, f=fn: f(v), snapshot=_todo_state)
        for name, fn in (("record", b.record), ("shrink_todo", b.shrink_todo))
    ),
    *(
        Entry(
            f"{name}(use_cache=)",
            call=lambda c, v, f=fn: f(c, use_cache=v),
            make=_config,
            snapshot=_todo_state,
        )
        for name, fn in (("record", b.record), ("shrink_todo", b.shrink_todo))
    ),
    Entry("check(config)", call=lambda _, v: b.check(v)),
    Entry("check(use_cache=)", call=lambda _, v: b.check(_config(), use_cache=v)),
    Entry("check(use_todo=)", call=lambda _, v: b.check(_config(), use_todo=v)),
    Entry("check(verify_content=)", call=lambda _, v: b.check(_config(), verify_content=v)),
    Entry("check(jobs=)", call=lambda _, v: b.check(_config(), jobs=v)),
    Entry("render(report)", call=lambda _, v: b.render(v, "human")),
    Entry("render(fmt)", call=lambda r, v: b.render(r, v), make=_report),
    Entry("render(base=)", call=lambda r, v: b.render(r, "json", base=v), make=_report),
    Entry("FileCache(path)", call=lambda _, v: b.FileCache(v)),
    Entry(
        "FileCache(verify_content=)",
        call=lambda _, v: b.FileCache(_DIR / "c.bin", verify_content=v),
    ),
    Entry("FileCache(jobs=)", call=lambda _, v: b.FileCache(_DIR / "c.bin", jobs=v)),
    Entry("read_todo(path)", call=lambda _, v: b.read_todo(v)),
    Entry("write_todo(violations)", call=lambda _, v: b.write_todo(_DIR / "todo.toml", v)),
    Entry("split(violations)", call=lambda _, v: b.split(v, set())),
    Entry("split(recorded)", call=lambda _, v: b.split([], v)),
    Entry("split(unread)", call=lambda _, v: b.split([], set(), v)),
    Entry("shortest_cycle(edges)", call=lambda _, v: b.shortest_cycle(v, {"a"})),
    Entry("shortest_cycle(within)", call=lambda _, v: b.shortest_cycle({"a": {"a"}}, v)),
    Entry("find_violations(graph)", call=lambda _, v: b.find_violations(v, _config())),
    Entry("bind(config)", call=lambda _, v: b.bind(v, b.build_graph(["shop"], [_DIR], jobs=1))),
    Entry("ImportGraph(modules)", call=lambda _, v: b.ImportGraph(v, {"s"})),
    Entry("ImportGraph(packages)", call=lambda _, v: b.ImportGraph({"s": "s.py"}, v)),
    Entry(
        "ImportGraph.add(imp)",
        call=lambda g, v: g.add(v),
        make=_graph,
        snapshot=_graph_state,
        values=_BAD_IMPORTS,
    ),
    Entry("ImportGraph.within(prefix)", call=lambda g, v: g.within(v), make=_graph),
    Entry("ImportGraph.edge_set(kinds)", call=lambda g, v: g.edge_set(v), make=_graph),
    *(
        Entry(
            f"ImportGraph.shortest_chain({arg}=)",
            call=lambda g, v, a=arg: g.shortest_chain(
                **{"sources": {"s.a"}, "targets": {"s.b"}, "avoid": None, "kinds": None, a: v}
            ),
            make=_graph,
            snapshot=_graph_state,
        )
        for arg in ("sources", "targets", "avoid", "kinds")
    ),
    *(
        Entry(
            f"ImportGraph.first_import({arg}=)",
            call=lambda g, v, a=arg: g.first_import(
                **{"importer": "s.a", "imported": "s.b", "kinds": None, a: v}
            ),
            make=_graph,
            snapshot=_graph_state,
            values=("s.zzz", "s"),
        )
        for arg in ("importer", "imported", "kinds")
    ),
    *(_import_entry(f) for f in ("importer", "imported", "line", "kind", "path", "name")),
    *per_argument("Violation", lambda _, **kw: b.Violation(**kw), _VIOLATION),
    *_cache_entries(),
    Entry("verdict.key_of(argv)", call=lambda _, v: verdict.key_of(v)),
    Entry("verdict.replay(argv)", call=lambda _, v: verdict.replay(v)),
    *(
        Entry(f"verdict.save({name}=)", call=lambda _, v, n=name: verdict.save(**{**_SAVE, n: v}))
        for name in _SAVE
    ),
]
