"""Files the checker writes (the todo file, the cache): read back whole, or not written at all."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.boundaries import (
    BoundariesError,
    Config,
    Violation,
    check,
    read_todo,
    record,
    write_todo,
)
from designpatterns_ref.boundaries.demo import write_shop
from designpatterns_ref.boundaries.run import shrink_todo
from designpatterns_ref.boundaries.todo import shrink, split
from designpatterns_ref.cli import main as dpref
from tests.boundaries.helpers import FILES, write_tree

#: Any text a file system or a module name can hold, but lone surrogates (no UTF-8 for them).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["dependency", "privacy", "layers"]), TEXT, TEXT, TEXT),
        max_size=4,
    )
)
def test_every_recorded_key_is_read_back(rows: list[tuple[str, str, str, str]]) -> None:
    found = [Violation(rule, a, b, path, 3, "m", "f") for rule, a, b, path in rows]
    with tempfile.TemporaryDirectory() as folder:
        todo = Path(folder) / "todo.toml"
        assert write_todo(todo, found) == len({v.key for v in found})
        assert read_todo(todo) == {v.key for v in found}


def test_a_path_outside_the_basic_plane_is_read_back(tmp_path: Path) -> None:
    v = Violation("dependency", "shop.a", "shop.b", str(tmp_path / "proj🚀/shop/a.py"), 1, "m", "f")
    write_todo(tmp_path / "todo.toml", [v])
    assert read_todo(tmp_path / "todo.toml") == {v.key}


def test_a_key_no_utf8_file_can_hold_is_refused_and_nothing_written(tmp_path: Path) -> None:
    todo = tmp_path / "todo.toml"
    todo.write_text("# kept\n")
    bad = Violation("dependency", "shop.caf\udce9", "shop.b", "shop/a.py", 1, "m", "f")
    with pytest.raises(BoundariesError, match="surrogate"):
        write_todo(todo, [bad])
    assert todo.read_text() == "# kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["todo.toml"]


def _project(tmp_path: Path, **settings: str) -> Config:
    write_tree(tmp_path, FILES)
    return Config.from_dict(
        {"packages": ["shop"], "roots": ["."], "components": {"shop.*": {"depends_on": []}},
         **settings},
        base=tmp_path,
    )  # fmt: skip


def _files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("todo", ["missing/todo.toml", "shop"])
def test_a_todo_file_that_cannot_be_written_is_the_family_error(tmp_path: Path, todo: str) -> None:
    """A missing folder or a folder in the way: BoundariesError naming the file, no debris."""
    cfg = _project(tmp_path, todo=todo, cache="")
    before = _files(tmp_path)
    with pytest.raises(BoundariesError, match="todo"):
        record(cfg)
    assert _files(tmp_path) == before


def test_shrink_that_cannot_write_leaves_the_todo_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rename over the todo file fails (a full disk, a file system gone read-only: faults
    no permission bit can stand in for when the tests run as root): BoundariesError naming
    the todo file, the file as it was, and no temporary file left beside it."""
    cfg = _project(tmp_path, todo="todo.toml", cache="")
    record(cfg)
    before = _files(tmp_path)

    def refuse(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(BoundariesError, match="todo"):
        shrink_todo(cfg)
    monkeypatch.undo()
    assert _files(tmp_path) == before


@pytest.mark.parametrize("cache", ["shop/orders.py/cache.bin", "shop"])
def test_a_cache_that_cannot_be_written_is_the_family_error(tmp_path: Path, cache: str) -> None:
    """A file or a folder in the cache's way: BoundariesError naming the cache, no debris."""
    cfg = _project(tmp_path, cache=cache)
    before = _files(tmp_path)
    with pytest.raises(BoundariesError, match="cache"):
        check(cfg)
    assert _files(tmp_path) == before


def test_checks_in_threads_may_share_one_cache(tmp_path: Path) -> None:
    """Each write of the cache goes through its own temporary file: two threads writing at
    once must not move each other's file away (FileNotFoundError) nor fail the check."""
    cfg = _project(tmp_path)
    expected = [v.key for v in check(cfg, use_cache=False).violations]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run(worker: int) -> None:
        barrier.wait()
        for i in range(12):
            if worker == 0:  # a changed file makes every check write the cache again
                (tmp_path / "shop/shared.py").write_text("x = 1\n" * (i % 5 + 1))
            try:
                report = check(cfg, jobs=1)
                assert [v.key for v in report.violations] == expected
            except BaseException as exc:  # collected, then reported
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_the_todo_file_names_files_relative_to_its_folder(tmp_path: Path) -> None:
    """The todo file is committed: a machine's absolute path in it would change with every
    checkout (and every shrink would rewrite every line)."""
    cfg = _project(tmp_path / "proj", todo="todo.toml", cache="")
    record(cfg)
    text = (tmp_path / "proj/todo.toml").read_text()
    assert str(tmp_path) not in text
    assert 'where = "shop/orders.py:1"' in text
    deeper = _project(tmp_path / "other", todo="debt/todo.toml", cache="")
    (tmp_path / "other/debt").mkdir()
    record(deeper)
    assert 'where = "../shop/orders.py:1"' in (tmp_path / "other/debt/todo.toml").read_text()


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    """The todo file is shared (committed, read by others): it is created as any file the
    user makes, under the umask, not private to the user as a bare temporary file is."""
    cfg = _project(tmp_path, todo="todo.toml")
    mask = os.umask(0o022)
    try:
        record(cfg)
    finally:
        os.umask(mask)
    assert (tmp_path / "todo.toml").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / cfg.cache).stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("use_cache", [True, False])
@pytest.mark.parametrize("broken", ["shop/a/x.py", "shop/a/mid.py"])
def test_entries_a_file_that_does_not_parse_may_produce_are_kept(
    tmp_path: Path, use_cache: bool, broken: str
) -> None:
    """While a file does not parse its imports are unknown: the entries it may produce (its own
    dependency, a chain through it) are neither fixed nor shrunk, and mending it passes."""
    files = {"shop/__init__.py": "", "shop/a/__init__.py": "", "shop/b/__init__.py": "",
             "shop/a/x.py": "import shop.b\n", "shop/a/y.py": "import shop.a.mid\n",
             "shop/a/mid.py": "import shop.b\n"}  # fmt: skip
    write_tree(tmp_path, files)
    cfg = Config.from_dict(
        {"packages": ["shop"], "cache": ".c/c.bin" if use_cache else "",
         "components": {"shop.*": {"depends_on": []}},
         "layers": [{"name": "stack", "layers": ["shop.b", "shop.a.y"]}]},
        base=tmp_path,
    )  # fmt: skip
    record(cfg)
    todo = tmp_path / cfg.todo
    before = todo.read_text()
    assert ("layers", "shop.a.y", "shop.b", "stack") in read_todo(todo)
    (tmp_path / broken).write_text("\n\ndef (:\n" + files[broken])  # unparsable at line 3
    report = check(cfg, use_cache=use_cache)
    assert [(Path(p.path).name, p.line) for p in report.problems] == [(Path(broken).name, 3)]
    assert report.stale == [] and report.ok
    assert shrink_todo(cfg, use_cache=use_cache)[1] == 0
    assert todo.read_text() == before
    count, _ = record(cfg, use_cache=use_cache)  # recording again keeps them too
    assert count == len(read_todo(todo)) and read_todo(todo) == {*read_todo_text(before)}
    (tmp_path / broken).write_text(files[broken])
    assert check(cfg, use_cache=use_cache).ok


def read_todo_text(text: str) -> set[tuple[str, ...]]:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "todo.toml").write_text(text)
        return read_todo(Path(folder) / "todo.toml")


def _reach(edges: set[tuple[str, str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        x = todo.pop()
        for a, b in edges:
            if a == x and b not in seen:
                seen.add(b)
                todo.append(b)
    return seen


COMPONENTS = ["c0", "c1", "c2", "c3", "c4"]


@settings(max_examples=300, deadline=None)
@given(
    st.sets(st.tuples(st.sampled_from(COMPONENTS), st.sampled_from(COMPONENTS)), max_size=12),
    st.lists(st.sampled_from(COMPONENTS), min_size=2, max_size=4, unique=True),
)
def test_an_earlier_versions_cycle_chain_tolerates_its_whole_group(
    edges: set[tuple[str, str]], chain: list[str]
) -> None:
    """Oracle: an import (cycle, x, y) is tolerated by a recorded chain when x, y and at least
    two of the chain's components are mutually reachable (one strongly connected group), as the
    earlier version that wrote one entry per group tolerated it; shrink pins those edges."""
    edges = {(a, b) for a, b in edges if a != b}
    reach = {c: _reach(edges, c) for c in COMPONENTS}

    def together(x: str, y: str) -> bool:
        return y in reach[x] and x in reach[y]

    found = [
        Violation("cycle", a, b, f"{a}.py", 1, "m", "f") for a, b in sorted(edges) if together(a, b)
    ]
    key = ("cycle", *chain, chain[0])
    expected = {v.key for v in found if sum(together(v.key[1], c) for c in chain) >= 2}
    new, known, stale = split(found, {key})
    assert {v.key for v in known} == expected
    assert {v.key for v in new} == {v.key for v in found} - expected
    assert stale == ([] if expected else [key])
    with tempfile.TemporaryDirectory() as folder:
        todo = Path(folder) / "todo.toml"
        todo.write_text(f"[[violation]]\nkey = {list(key)!r}\nwhere = 'x'\n".replace("'", '"'))
        assert read_todo(todo) == {key}
        shrink(todo, found)
        assert read_todo(todo) == expected  # a chain that tolerates nothing was fixed


def test_record_says_which_entries_it_kept_for_a_file_that_does_not_parse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_shop(tmp_path / "p")
    assert dpref(["boundaries", "record", str(project)]) == 0
    before = read_todo(project / "boundaries_todo.toml")
    stock = project / "shop/inventory/stock.py"
    stock.write_text("def (:\n" + stock.read_text())
    capsys.readouterr()
    assert dpref(["boundaries", "record", str(project)]) == 0
    out = capsys.readouterr().out
    assert "shop/inventory/stock.py:1: warning: does not parse" in out
    assert "kept 4 recorded violation(s) that the file(s) which could not be read" in out
    assert read_todo(project / "boundaries_todo.toml") == before


def test_a_file_that_does_not_parse_keeps_only_the_entries_it_can_touch(tmp_path: Path) -> None:
    """A broken file in an unrelated component neither imports into a recorded chain nor owns
    one end of a recorded cycle: the fixed entries are reported fixed and shrunk. A broken file
    in the importing component keeps them (its unknown imports may restore them all)."""
    files = {"shop/__init__.py": "", "shop/a/__init__.py": "", "shop/b/__init__.py": "",
             "shop/c/__init__.py": "", "shop/c/z.py": "",
             "shop/a/x.py": "import shop.b\n", "shop/b/y.py": "import shop.a\n"}  # fmt: skip
    write_tree(tmp_path, files)
    cfg = Config.from_dict(
        {"packages": ["shop"], "cache": "", "components": {"shop.*": {"depends_on": ["*"]}},
         "layers": [{"name": "stack", "layers": ["shop.b", "shop.a"]}]},
        base=tmp_path,
    )  # fmt: skip
    record(cfg)
    todo = tmp_path / cfg.todo
    recorded = read_todo(todo)
    assert recorded == {("cycle", "shop.a", "shop.b"), ("cycle", "shop.b", "shop.a"),
                        ("layers", "shop.a.x", "shop.b", "stack")}  # fmt: skip
    (tmp_path / "shop/a/x.py").write_text("")  # fixed: no cycle, no layers violation
    (tmp_path / "shop/c/z.py").write_text("def (:\nimport shop.a\n")  # broken, elsewhere
    report = check(cfg)
    assert report.problems and report.stale == sorted(recorded)
    (tmp_path / "shop/c/z.py").write_text("")
    (tmp_path / "shop/a/w.py").write_text("def (:\nimport shop.b\n")  # broken, in shop.a
    report = check(cfg)
    assert report.problems and report.stale == []
    assert shrink_todo(cfg) == (3, 0)


@pytest.mark.skipif(os.name == "nt", reason="a folder cannot be opened on Windows")
def test_a_replaced_file_is_synced_before_the_rename_and_its_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The todo and cache files are written whole: the new bytes are on disk before the
    rename, and the rename is on disk after it, so a crash leaves the old file or the new."""
    import stat

    from designpatterns_ref.boundaries.base import write_file

    target = tmp_path / "boundaries_todo.toml"
    target.write_bytes(b"old")
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        kind = "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        if kind == "file":
            assert os.fstat(fd).st_size == len(b"new bytes")  # everything written first
        calls.append(kind)
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        calls.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_file(target, b"new bytes", "todo")
    assert calls == ["file", "replace", "folder"]
    assert target.read_bytes() == b"new bytes"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
