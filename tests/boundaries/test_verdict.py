"""The replayed verdict: equal to a full check while nothing changed, never replayed after a change.

The oracle is the same command with ``--no-cache``, which parses every file and keeps no verdict.
File systems stamp times at a coarse tick, so every edit here also sets the changed file's and
its folder's modification time to a fresh value, as the passing of real time would.
"""

from __future__ import annotations

import io
import itertools
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.boundaries import BoundariesError
from designpatterns_ref.boundaries import verdict as v
from designpatterns_ref.boundaries.__main__ import main as lean_main
from designpatterns_ref.cli import main as dpref
from tests.boundaries.helpers import FILES, PYPROJECT, write_tree

_TICK = itertools.count(1_000_000_000_000_000_000, 1_000_000_000)


def _touch(path: Path) -> None:
    """Give ``path`` and its folder a new modification time (a later tick of the clock)."""
    for target in (path, path.parent):
        if target.exists():
            now = next(_TICK)
            os.utime(target, ns=(now, now))


def _run(capsys: pytest.CaptureFixture[str], words: list[str]) -> tuple[int, str]:
    status = lean_main(words)
    return status, capsys.readouterr().out


def _oracle(capsys: pytest.CaptureFixture[str], project: Path) -> tuple[int, str]:
    status = dpref(["boundaries", "check", str(project), "--no-cache"])
    return status, capsys.readouterr().out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "p", FILES)


def test_second_run_replays_the_first(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    words = ["check", str(project)]
    assert v.replay(words) is None  # nothing saved yet
    first = _run(capsys, words)
    assert first == _oracle(capsys, project) and first[0] == 1
    assert (project / v.LOCATION).exists()
    assert v.replay(words) == 1  # the stored verdict, without a check
    capsys.readouterr()
    assert _run(capsys, words) == first
    assert _run(capsys, ["check", f"{project}/", "--format=human"]) == first  # same key


EDITS = st.sampled_from(
    ["orders-clean", "orders-violates", "add-module", "remove-module", "record", "clear-todo",
     "allow-payments", "forbid-payments", "break-syntax", "nothing"]
)  # fmt: skip


def _edit(project: Path, edit: str) -> bool:
    """Apply ``edit``; True when it changed something the check reads."""
    orders, extra, todo = project / "shop/orders.py", project / "shop/extra.py", None
    if edit == "orders-clean":
        text = "import shop\n"
    elif edit == "orders-violates":
        text = "from shop.payments import charge\n"
    elif edit == "break-syntax":
        text = "def (:\nimport shop\n"  # an import after the error: the parse must meet it
    else:
        text = None
    if text is not None:
        if orders.read_text() == text:
            return False
        orders.write_text(text)
        _touch(orders)
        return True
    if edit == "add-module":
        if extra.exists():
            return False
        extra.write_text("from shop.payments._ledger import x\n")
        _touch(extra)
        return True
    if edit == "remove-module":
        if not extra.exists():
            return False
        extra.unlink()
        _touch(extra)
        return True
    if edit in ("record", "clear-todo"):
        todo = project / "boundaries_todo.toml"
        if edit == "record":
            dpref(["boundaries", "record", str(project), "--no-cache"])
        elif todo.exists():
            todo.unlink()
        else:
            return False
        _touch(todo)
        return True
    if edit in ("allow-payments", "forbid-payments"):
        config = project / "pyproject.toml"
        text = PYPROJECT.replace("depends_on = []", 'depends_on = ["shop.payments"]')
        text = text if edit == "allow-payments" else PYPROJECT
        if config.read_text() == text:
            return False
        config.write_text(text)
        _touch(config)
        return True
    return False


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=st.lists(EDITS, max_size=8))
def test_replay_equals_a_full_check_and_never_outlives_a_change(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str], edits: list[str]
) -> None:
    project = write_tree(tmp_path_factory.mktemp("verdict"), FILES)
    words = ["check", str(project)]
    for edit in ["nothing", *edits]:
        changed = _edit(project, edit)
        capsys.readouterr()
        replayed = v.replay(words)
        capsys.readouterr()
        if changed:
            assert replayed is None, f"replayed a verdict after {edit}"
        oracle = _oracle(capsys, project)
        assert _run(capsys, words) == oracle, edit
        # The check just ran; a replay now is either the same answer or (after a file that
        # does not parse) no answer at all, never a different one.
        again = v.replay(words)
        out = capsys.readouterr().out
        if (project / "shop/orders.py").read_text().startswith("def (:"):
            assert again is None, "a check that met an unparsable file was replayed"
        else:
            assert (again, out) == oracle


def test_other_options_and_commands_are_not_replayed(project: Path) -> None:
    assert v.key_of(["check", str(project)]) is not None
    assert v.key_of(["check", str(project), "--jobs", "2"]) == v.key_of(["check", str(project)])
    for words in (
        ["check", str(project), "--no-cache"],
        ["check", str(project), "--verify-content"],
        ["check", str(project), "--format", "xml"],
        ["check", str(project), "--no-todo", "--no-todo"],
        ["check", str(project), str(project)],
        ["check", f"{project}/../p"],
        ["record", str(project)],
        ["check"],
        [],
    ):
        assert v.key_of(words) is None, words
    assert v.key_of(["check", str(project), "--no-todo"]) != v.key_of(["check", str(project)])


def test_damaged_foreign_or_custom_cache_verdicts_are_ignored(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    words = ["check", str(project)]
    expected = _run(capsys, words)
    stored = project / v.LOCATION
    good = stored.read_bytes()
    for damaged in (b"", b"\x00garbage", good[: len(good) // 2]):
        stored.write_bytes(damaged)
        assert v.replay(words) is None
    payload = v._unseal(good)
    assert isinstance(payload, dict)
    stored.write_bytes(v._seal({**payload, "format": (v.FORMAT + 1, sys.version_info[:2])}))
    assert v.replay(words) is None
    for status in ("1", True, 7, -1):  # only the statuses a check can end with are replayed
        stored.write_bytes(v._seal({**payload, "status": status}))
        assert v.replay(words) is None
    stored.write_bytes(marshal.dumps(payload))  # a verdict without its seal is foreign
    assert v.replay(words) is None
    assert _run(capsys, words) == expected  # the full check ran and saved a good verdict again
    assert v.replay(words) == expected[0]
    capsys.readouterr()
    stored.unlink()
    config = project / "pyproject.toml"
    config.write_text(PYPROJECT.replace("roots =", 'cache = "elsewhere.bin"\nroots ='))
    _touch(config)
    assert _run(capsys, words)[0] == 1
    assert not stored.exists()  # a configuration naming another cache keeps no verdict


def test_a_verdict_damaged_in_any_one_byte_is_never_replayed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One changed byte anywhere must not replay other text or another exit status (a
    status of 0 would pass CI on a failing check): the replay falls back to the check."""
    words = ["check", str(project)]
    expected = _run(capsys, words)
    stored = project / v.LOCATION
    good = stored.read_bytes()
    for i in range(len(good)):
        for value in (good[i] ^ 0x01, good[i] ^ 0x80):
            stored.write_bytes(good[:i] + bytes([value]) + good[i + 1 :])
            out = io.StringIO()
            status = v.replay(words, out=out)
            assert status is None or (status, out.getvalue()) == expected, (i, value)
    stored.write_bytes(good)
    assert v.replay(words, out=io.StringIO()) == expected[0]


def test_bad_arguments_are_refused_with_the_family_error(project: Path) -> None:
    with pytest.raises(BoundariesError, match="argv"):
        v.key_of("check .")  # type: ignore[arg-type]
    with pytest.raises(BoundariesError, match="argv"):
        v.replay([b"check"])  # type: ignore[list-item]
    words = ["check", str(project)]
    for kwargs, name in (
        ({"dirs": {1: 2}}, "dirs"),
        ({"files": {"a": (1,)}}, "files"),
        ({"todo_file": 3}, "todo_file"),
        ({"output": None}, "output"),
        ({"status": True}, "status"),
        ({"config_bytes": "text"}, "config_bytes"),
    ):
        call = {"dirs": {}, "files": {}, "todo_file": None, "output": "", "status": 0, **kwargs}
        with pytest.raises(BoundariesError, match=name):
            v.save(words, **call)  # type: ignore[arg-type]
        assert not (project / v.LOCATION).exists()


def test_the_command_line_replay_imports_no_checker(project: Path) -> None:
    command = [sys.executable, "-X", "importtime", "-m", "designpatterns_ref.boundaries"]
    first = subprocess.run([*command, "check", str(project)], capture_output=True, text=True)
    second = subprocess.run([*command, "check", str(project)], capture_output=True, text=True)
    assert (
        (first.returncode, first.stdout) == (second.returncode, second.stdout) == (1, first.stdout)
    )
    assert "new violation" in second.stdout
    assert "designpatterns_ref.boundaries.graph" in first.stderr  # the first run checked
    loaded = {line.rsplit("|", 1)[-1].strip() for line in second.stderr.splitlines()}
    for heavy in (
        "designpatterns_ref.boundaries.graph",
        "argparse",
        "tomllib",
        "typing",
        "pathlib",
    ):
        assert heavy not in loaded, f"the replay imported {heavy}"


def test_the_replay_knows_the_same_output_formats_as_the_report() -> None:
    from designpatterns_ref.boundaries.report import FORMATS

    assert v._FORMATS == FORMATS


def test_the_replay_knows_the_same_jobs_limit_as_the_checker() -> None:
    from designpatterns_ref.boundaries.base import check_jobs

    assert check_jobs(v._MAX_JOBS) == v._MAX_JOBS
    with pytest.raises(BoundariesError):
        check_jobs(v._MAX_JOBS + 1)


def _parser_accepts(words: list[str]) -> bool:
    """The oracle: the full command line parser (the one ``__main__`` falls back to)."""
    import argparse
    import contextlib
    import io

    from designpatterns_ref.boundaries._cli import register

    parser = argparse.ArgumentParser(prog="check")
    register(parser.add_subparsers(dest="command", required=True))
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            parser.parse_args(["boundaries", *words])
    except SystemExit:
        return False
    return True


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(jobs=st.text(max_size=6) | st.integers(-5, 70).map(str), spaced=st.booleans())
@example(jobs="abc", spaced=False)
@example(jobs="-3", spaced=False)
@example(jobs="--no-todo", spaced=True)
@example(jobs="", spaced=False)
@example(jobs="0", spaced=True)
@example(jobs="65", spaced=False)
@example(jobs=" 3", spaced=False)
@example(jobs="3", spaced=True)
def test_only_command_lines_the_parser_accepts_are_replayed(
    project: Path, jobs: str, spaced: bool
) -> None:
    words = ["check", str(project), *(["--jobs", jobs] if spaced else [f"--jobs={jobs}"])]
    if v.key_of(words) is not None:
        assert _parser_accepts(words), words
    if jobs.isascii() and jobs.isdigit() and 1 <= int(jobs) <= 64:
        assert v.key_of(words) == v.key_of(["check", str(project)])  # still replayed


@pytest.mark.parametrize("saved", [False, True], ids=["no-verdict", "saved-verdict"])
@pytest.mark.parametrize(
    "bad",
    [["--jobs=abc"], ["--jobs=-3"], ["--jobs", "--no-todo"], ["--jobs="], ["--jobs", "0"],
     ["--jobs=65"], ["--jobs"]],
)  # fmt: skip
def test_bad_jobs_exit_2_with_or_without_a_saved_verdict(
    project: Path, capsys: pytest.CaptureFixture[str], bad: list[str], saved: bool
) -> None:
    if saved:
        assert _run(capsys, ["check", str(project)])[0] == 1
        assert v.replay(["check", str(project)]) == 1  # a verdict exists for the plain command
        capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        lean_main(["check", str(project), *bad])
    assert info.value.code == 2
    assert "OK" not in capsys.readouterr().out
    assert _run(capsys, ["check", str(project), "--jobs=2"])[0] == 1  # a good value still runs


def test_a_verdict_or_cache_of_another_release_is_not_trusted(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output is a function of the checker's code too: after an upgrade, the verdict and
    the cache written by the release before are ignored, not replayed."""
    import designpatterns_ref

    words = ["check", str(project)]
    _run(capsys, words)
    assert v.replay(words, out=io.StringIO()) == 1
    monkeypatch.setattr(designpatterns_ref, "__version__", "999.0")
    assert v.replay(words) is None
    from designpatterns_ref.boundaries import FileCache, build_graph

    cache = FileCache(project / ".dpref_cache/boundaries.bin")
    build_graph(["shop"], [project], cache=cache, jobs=1)
    assert (cache.parsed, cache.hits) == (5, 0)  # every file parsed again


@pytest.mark.parametrize("words", [["--help"], ["check", "--help"]])
def test_the_lean_command_line_names_itself_without_an_extra_level(
    words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m designpatterns_ref.boundaries`` takes the actions directly: its usage must
    not name a ``boundaries`` level that the command does not accept."""
    with pytest.raises(SystemExit) as info:
        lean_main(words)
    assert info.value.code == 0
    usage = capsys.readouterr().out.split("\n")[0]
    assert usage.startswith("usage: python -m designpatterns_ref.boundaries ")
    assert "boundaries boundaries" not in usage
