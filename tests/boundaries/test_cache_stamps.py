"""The stamp shortcut of the cache and the replayed verdict: never trusted for a changed file.

The oracle is the same build without a cache (every file parsed). Archives and copies (``tar
x``, ``cp -p``, ``rsync -t``) give every file the same modification time, so files of the same
size swapped by renames keep their ``(mtime_ns, size)``: only the inode and the change time
tell them apart.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.boundaries import FileCache, build_graph
from designpatterns_ref.boundaries import cache as cache_module
from designpatterns_ref.boundaries import verdict as v
from designpatterns_ref.boundaries.__main__ import main as lean_main
from designpatterns_ref.cli import main as dpref
from tests.boundaries.helpers import FILES, PYPROJECT, write_tree

#: One time for every file, as an archive gives them.
_T = 1_700_000_000_000_000_000


def _same_time(folder: Path) -> None:
    for path in folder.iterdir():
        os.utime(path, ns=(_T, _T))


def _rename_to(folder: Path, permutation: list[int]) -> None:
    """Move ``m{i}.py`` to ``m{permutation[i]}.py`` by renames only (times and sizes kept)."""
    for i in range(len(permutation)):
        os.rename(folder / f"m{i}.py", folder / f"x{i}.py")
    for i, j in enumerate(permutation):
        os.rename(folder / f"x{i}.py", folder / f"m{j}.py")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), count=st.integers(2, 5))
def test_files_swapped_by_renames_are_read_anew(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, count: int
) -> None:
    root = tmp_path_factory.mktemp("swap")
    # Every module imports one target module; every file has the same size and time.
    files = {"pkg/__init__.py": "", **{f"pkg/t{i}.py": "" for i in range(count)}}
    files |= {f"pkg/m{i}.py": f"from pkg import t{i}\n" for i in range(count)}
    write_tree(root, files)
    _same_time(root / "pkg")
    cache_file = root / "c.bin"
    build_graph(["pkg"], [root], cache=FileCache(cache_file), jobs=1)
    permutation = data.draw(st.permutations(range(count)))
    _rename_to(root / "pkg", list(permutation))
    cached = build_graph(["pkg"], [root], cache=FileCache(cache_file), jobs=1)
    assert cached.edge_set() == build_graph(["pkg"], [root], jobs=1).edge_set()


def test_a_folder_stamped_in_the_tick_the_cache_was_written_is_listed_again(
    tmp_path: Path,
) -> None:
    """A folder whose time is not before the cache file's may have gained an entry in the same
    clock tick without changing its time: discovery must not be taken from the cache."""
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "", "cache/": ""})
    folder, cache_file = tmp_path / "pkg", tmp_path / "cache/c.bin"
    build_graph(["pkg"], [tmp_path], cache=FileCache(cache_file), jobs=1)
    stamp = folder.stat().st_mtime_ns
    os.utime(cache_file, ns=(stamp, stamp))  # written in the folder's tick
    (folder / "b.py").write_text("import pkg.a\n")
    os.utime(folder, ns=(stamp, stamp))  # the tick did not move on
    graph = build_graph(["pkg"], [tmp_path], cache=FileCache(cache_file), jobs=1)
    assert sorted(graph.modules) == ["pkg", "pkg.a", "pkg.b"]


def test_a_replayed_verdict_never_outlives_files_swapped_by_renames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = PYPROJECT.replace('public = ["."]\n', "")
    files = {"pyproject.toml": config, "shop/__init__.py": "", "shop/b.py": ""}
    files |= {"shop/a.py": "import shop.b\n", "shop/c.py": "import shop  \n"}  # the same size
    project = write_tree(tmp_path / "p", files)
    _same_time(project / "shop")
    os.utime(project / "shop", ns=(_T, _T))
    words = ["check", str(project)]
    assert lean_main(words) == 1  # shop.a reaches into shop.b
    capsys.readouterr()
    os.rename(project / "shop/a.py", project / "shop/t.py")
    os.rename(project / "shop/c.py", project / "shop/a.py")
    os.rename(project / "shop/t.py", project / "shop/c.py")
    os.utime(project / "shop", ns=(_T, _T))  # as `rsync -t` leaves the folder
    assert v.replay(words) is None
    status = dpref(["boundaries", "check", str(project), "--no-cache"])
    oracle = (status, capsys.readouterr().out)
    assert "shop.c imports shop.b" in oracle[1]
    assert (lean_main(words), capsys.readouterr().out) == oracle


def test_racy_entries_found_unchanged_are_written_again_and_then_trusted(tmp_path: Path) -> None:
    """An entry stamped at or after the cache file's time is hashed, not trusted; once found
    unchanged the cache is written again, so that the next run trusts the stamp."""
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "import pkg.b\n", "pkg/b.py": "",
                          "cache/": ""})  # fmt: skip
    cache_file = tmp_path / "cache/c.bin"
    build_graph(["pkg"], [tmp_path], cache=FileCache(cache_file), jobs=1)
    newest = max(os.stat(p).st_ctime_ns for p in (tmp_path / "pkg").iterdir())
    os.utime(cache_file, ns=(newest, newest))  # written in the tick of the last file's stamp
    cache = FileCache(cache_file)
    files = {f"pkg.{n}": str(tmp_path / f"pkg/{n}.py") for n in ("__init__", "a", "b")}
    assert cache.read(files)["pkg.a"] == [("i", 0, "pkg.b", (), 1, "module")]
    assert (cache.parsed, cache.hits, cache.unchanged) == (0, 3, True)
    cache.flush()
    assert os.stat(cache_file).st_mtime_ns > newest  # written again


def test_stamps_from_the_future_are_trusted_and_the_verdict_replayed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files and folders stamped after the cache and the verdict were written (a clock ahead of
    this one, ``touch -d``) are not racy: an edit would stamp them with the current, earlier
    time. So the second and third runs read no file, write no cache and replay the verdict."""
    project = write_tree(tmp_path / "p", FILES)
    future = time.time_ns() + 86_400 * 10**9
    for path in [project, *project.rglob("*")]:
        os.utime(path, ns=(future, future))
    words = ["check", str(project)]
    first = (lean_main(words), capsys.readouterr().out)
    cache_file = next(project.rglob("*.bin"))
    written = cache_file.stat().st_mtime_ns

    real_open = open

    def no_read(path: object, *args: object, **kwargs: object) -> object:
        if path != cache_file:
            raise AssertionError(f"read {path}")
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(cache_module, "open", no_read, raising=False)
    parse_many = cache_module._parse_many

    def no_parse(paths: list[str], jobs: int | None) -> object:
        assert not paths, f"parsed {paths}"
        return parse_many(paths, jobs)

    monkeypatch.setattr(cache_module, "_parse_many", no_parse)
    for _ in range(2):
        assert v.replay(words) == first[0]
        assert capsys.readouterr().out == first[1]
        cache = FileCache(cache_file)
        graph = build_graph(["shop"], [project], cache=cache, jobs=1)
        cache.flush()
        assert graph.parsed == 0 and cache.unchanged
        assert cache_file.stat().st_mtime_ns == written  # not written again


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=2, max_size=4))
def test_a_cached_build_names_the_line_a_file_does_not_parse_at_now(blank: list[int]) -> None:
    """Oracle: the same build without a cache. A file that does not parse is kept in no
    entry, so moving its error leaves the resolved snapshot standing; the warning must still
    name the line the parser stops at today."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_tree(root, {"pkg/__init__.py": "", "pkg/b.py": "import pkg.c\n"})
        for n in blank:
            (root / "pkg/a.py").write_text("import pkg.b\n" + "\n" * n + "def (:\nimport os\n")
            cached = build_graph(["pkg"], [root], cache=FileCache(root / "c.bin"), jobs=1)
            fresh = build_graph(["pkg"], [root], jobs=1)
            assert cached.problems == fresh.problems
            assert cached.edge_set() == fresh.edge_set()
