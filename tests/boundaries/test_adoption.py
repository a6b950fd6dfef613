"""Gradual adoption (the todo file), the cache, the output formats and the command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from designpatterns_ref.boundaries import Config, FileCache, build_graph, check, read_todo, record
from designpatterns_ref.boundaries.run import shrink_todo
from designpatterns_ref.cli import main
from tests.boundaries.helpers import FILES, PYPROJECT, write_tree


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_tree(tmp_path, FILES)


def _config(project: Path) -> Config:
    from designpatterns_ref.boundaries import load_config

    return load_config(project)


def test_record_then_only_new_violations_fail_then_shrink(project: Path) -> None:
    cfg = _config(project)
    assert not check(cfg).ok
    count, _ = record(cfg)
    assert count == 1 and read_todo(project / cfg.todo) == {
        ("dependency", "shop.orders", "shop.payments")
    }
    report = check(cfg)
    assert report.ok and len(report.recorded) == 1 and report.stale == []
    # a new violation fails even with the todo file in place; moving lines does not
    (project / "shop/orders.py").write_text(
        "\n\nfrom shop.payments import charge\nimport shop.shared\n"
    )
    report = check(cfg)
    assert [(v.rule, v.imported) for v in report.violations] == [("dependency", "shop.shared")]
    # fixing both: the recorded one is stale until shrink drops it; shrink never adds
    (project / "shop/orders.py").write_text("")
    report = check(cfg)
    assert report.ok and report.stale == [("dependency", "shop.orders", "shop.payments")]
    (project / "shop/orders.py").write_text("import shop.shared\n")
    assert shrink_todo(cfg) == (0, 1)
    assert read_todo(project / cfg.todo) == set()
    assert not check(cfg).ok


def test_cache_reuses_unchanged_files_and_sees_changes(project: Path) -> None:
    cfg = _config(project)
    first = check(cfg)
    assert first.parsed == 5 and first.cached == 0
    second = check(cfg)
    assert second.parsed == 0 and second.cached == 5
    assert [v.key for v in second.violations] == [v.key for v in first.violations]
    path = project / "shop/orders.py"
    path.write_text("")  # the same bytes as shop/shared.py: found by digest, not parsed
    third = check(cfg)
    assert third.parsed == 0 and third.ok
    path.write_text("X = 1\n")  # new content
    assert check(cfg).parsed == 1
    # same content, new time stamp: found by digest, not parsed again
    os.utime(path, ns=(1, 1))
    assert check(cfg).parsed == 0
    # verify_content hashes every file but still parses nothing
    assert check(cfg, verify_content=True).parsed == 0


def test_cache_same_size_same_mtime_edit_is_seen_with_verify_content(project: Path) -> None:
    cfg = _config(project)
    check(cfg)
    path = project / "shop/orders.py"
    st = path.stat()
    path.write_text("from shop.payments import charga\n")  # same length
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert check(cfg, verify_content=True).parsed == 1


def test_damaged_or_foreign_cache_is_ignored(project: Path) -> None:
    cfg = _config(project)
    cache_file = project / cfg.cache
    cache_file.parent.mkdir(parents=True)
    cache_file.write_bytes(b"\x00garbage")
    assert check(cfg).parsed == 5
    cache = FileCache(cache_file)
    build_graph(["shop"], [project], cache=cache)
    assert cache.hits == 5


def test_a_cache_damaged_in_any_one_byte_is_never_trusted(project: Path) -> None:
    """One changed byte in the cache file must not change the graph nor raise: the damaged
    file is ignored and the tree parsed again."""
    fresh = build_graph(["shop"], [project], jobs=1)
    expected = (sorted(fresh.modules.items()), sorted(fresh.imports, key=repr))
    cache_file = project / "cache.bin"
    build_graph(["shop"], [project], cache=FileCache(cache_file))
    good = cache_file.read_bytes()
    for i in range(len(good)):
        cache_file.write_bytes(good[:i] + bytes([good[i] ^ 0x01]) + good[i + 1 :])
        graph = build_graph(["shop"], [project], cache=FileCache(cache_file), jobs=1)
        assert (sorted(graph.modules.items()), sorted(graph.imports, key=repr)) == expected, i


def test_human_output_and_exit_codes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["boundaries", "check", str(project)]) == 1
    out = capsys.readouterr().out
    assert "shop/orders.py:1: dependency: shop.orders imports shop.payments.charge" in out
    assert "fix: add 'shop.payments' to components.shop.orders.depends_on" in out
    assert out.strip().endswith("1 new violation(s)")
    assert main(["boundaries", "record", str(project)]) == 0
    capsys.readouterr()
    assert main(["boundaries", "check", str(project / "pyproject.toml")]) == 0
    assert "1 recorded violation(s) tolerated" in capsys.readouterr().out
    assert main(["boundaries", "check", str(project), "--no-todo", "--no-cache"]) == 1
    capsys.readouterr()
    (project / "shop/orders.py").write_text("")
    assert main(["boundaries", "shrink", str(project)]) == 0
    assert "removed 1 fixed, kept 0" in capsys.readouterr().out


def test_json_and_github_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["boundaries", "check", str(project), "--format", "json", "--jobs", "1"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["modules"] == 5 and doc["imports"] == 1
    (v,) = doc["violations"]
    assert v["path"] == "shop/orders.py" and v["line"] == 1 and v["rule"] == "dependency"
    assert v["key"] == ["dependency", "shop.orders", "shop.payments"]
    assert main(["boundaries", "check", str(project), "--format", "github"]) == 1
    line = capsys.readouterr().out.strip()
    assert line.startswith("::error file=shop/orders.py,line=1,title=boundaries%3A dependency::")


def test_bad_configuration_exits_2_naming_the_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + "bogus = 1\n")
    assert main(["boundaries", "check", str(project)]) == 2
    assert "components.shop.*.bogus: unknown key" in capsys.readouterr().err
    (project / "pyproject.toml").write_text(
        PYPROJECT.replace("depends_on = []", 'depends_on = ["shop.nope"]')
    )
    assert main(["boundaries", "check", str(project)]) == 2
    assert "components.shop.orders.depends_on: unknown component 'shop.nope'" in (
        capsys.readouterr().err
    )
    (project / "pyproject.toml").write_text("[tool.x]\n")
    assert main(["boundaries", "check", str(project)]) == 2
    assert "tool.dpref.boundaries: no such table" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["boundaries", "check", str(project), "--jobs", "0"])
    assert info.value.code == 2


def test_damaged_todo_file_is_a_config_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "boundaries_todo.toml").write_text('[[violation]]\nkey = ["nope"]\n')
    assert main(["boundaries", "check", str(project)]) == 2
    assert "violation[0].key" in capsys.readouterr().err


def test_cached_graph_is_resolved_again_when_a_module_appears(project: Path) -> None:
    """``from shop.payments import charge`` is an attribute until charge.py exists."""
    cfg = _config(project)
    first = check(cfg, use_todo=False)
    assert [v.imported for v in first.violations] == ["shop.payments"]
    assert check(cfg).parsed == 0  # unchanged: served from the cache
    (project / "shop/payments/charge.py").write_text("AMOUNT = 1\n")
    report = check(cfg, use_todo=False)
    assert report.parsed == 1  # only the new file is parsed; the old ones are re-resolved
    assert sorted((v.rule, v.imported) for v in report.violations) == [
        ("dependency", "shop.payments.charge"),
        ("privacy", "shop.payments.charge"),
    ]


def test_cached_discovery_sees_new_and_removed_modules(project: Path) -> None:
    cfg = _config(project)
    assert check(cfg).modules == 5
    assert check(cfg).modules == 5  # served from the cache
    (project / "shop/data/deep").mkdir(parents=True)
    assert check(cfg).modules == 5  # folders without Python are no modules
    (project / "shop/data/deep/x.py").write_text("import shop.orders\n")
    report = check(cfg)
    assert report.modules == 8  # namespace packages shop.data, shop.data.deep, and the module
    assert "shop.data.deep.x" in {v.importer for v in report.violations}
    (project / "shop/data/deep/x.py").unlink()
    assert check(cfg).modules == 5


def test_cached_discovery_sees_a_namespace_portion_become_the_package(tmp_path: Path) -> None:
    """A namespace portion in an earlier root loses to a regular package in a later one, until
    it gets an ``__init__.py`` of its own: then it wins, as Python's path finder decides."""
    write_tree(tmp_path, {"r1/ns/x.py": "", "r2/ns/__init__.py": "", "r2/ns/y.py": ""})
    roots = [tmp_path / "r1", tmp_path / "r2"]

    def cached() -> list[str]:
        return sorted(build_graph(["ns"], roots, cache=FileCache(tmp_path / "c.bin")).modules)

    assert cached() == sorted(build_graph(["ns"], roots).modules) == ["ns", "ns.y"]
    (tmp_path / "r1/ns/__init__.py").write_text("")
    assert cached() == sorted(build_graph(["ns"], roots).modules) == ["ns", "ns.x"]


def test_a_cached_graph_keeps_the_warnings_discovery_finds_anew(tmp_path: Path) -> None:
    """A module file shadowed by a new package of its name is a warning (its imports are not
    checked); the resolved graph reused from the cache must not hide it."""
    write_tree(tmp_path, {"ns/a/__init__.py": "", "ns/b.py": "import ns.a\n"})

    def problems(cache: FileCache | None) -> list[str]:
        graph = build_graph(["ns"], [tmp_path], cache=cache, jobs=1)
        return sorted(f"{Path(p.path).name}: {p.message}" for p in graph.problems)

    assert problems(FileCache(tmp_path / "c.bin")) == []
    (tmp_path / "ns/a.py").write_text("import ns.b\n")
    later = (tmp_path / "ns").stat().st_mtime_ns + 10**9  # past the file system's resolution
    os.utime(tmp_path / "ns", ns=(later, later))
    expected = problems(None)
    assert expected == ["a.py: shadowed by the package ns.a (a directory)"]
    assert problems(FileCache(tmp_path / "c.bin")) == expected


def test_cached_discovery_sees_a_package_outrank_a_module_of_its_name(tmp_path: Path) -> None:
    """``ns.py`` beside a folder ``ns/`` without ``__init__.py`` is the module; an
    ``__init__.py`` added to the folder makes the folder the package."""
    root = write_tree(tmp_path / "src", {"ns.py": "", "ns/a/__init__.py": "",
                                          "ns/a/b.py": "import ns\n"})  # fmt: skip

    def cached() -> list[str]:
        graph = build_graph(["ns"], [root], cache=FileCache(tmp_path / "c.bin"), jobs=1)
        return sorted(graph.modules)

    assert cached() == sorted(build_graph(["ns"], [root]).modules) == ["ns"]
    (root / "ns/__init__.py").write_text("")
    later = (root / "ns").stat().st_mtime_ns + 10**9  # past the file system's resolution
    os.utime(root / "ns", ns=(later, later))
    assert cached() == sorted(build_graph(["ns"], [root]).modules) == ["ns", "ns.a", "ns.a.b"]
