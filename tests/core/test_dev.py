"""dev.py test: pytest runs on every core unless the arguments keep it in one process."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dev = load_dev()


@pytest.mark.parametrize(
    "args",
    [
        ["-n", "1"], ["-n0"], ["--numprocesses=3"], ["--numprocesses", "auto"],
        ["-s"], ["-vs"], ["-xs"], ["-snx"], ["--capture=no"],
        ["-p", "no:xdist"], ["-pno:xdist"], ["--pdb"], ["--trace"], ["-k", "geo", "-s"],
        ["--capture", "no"], ["--capture", "tee-sys"], ["--capture=tee-sys"], ["-vn0"],
        ["-vpno:xdist"], ["-rs", "-s"], ["-x", "-vs"],
    ],
)  # fmt: skip
def test_these_arguments_keep_one_process(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DPREF_REDIS_URL", raising=False)
    monkeypatch.delenv("DPREF_PG_URL", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    assert dev.serial(args)
    assert dev.parallel(args) == []


@pytest.mark.parametrize(
    "args",
    [
        [], ["-k", "slow"], ["-x", "tests/geo"], ["-p", "no:randomly"], ["-v"], ["--", "-s"],
        ["-rs"], ["-rfEs"], ["-kslow"], ["-vrs"], ["-msmoke"], ["-Wignore::DeprecationWarning"],
        ["-ps"], ["--capture", "fd"], ["--capture=sys"], ["-c", "setup.cfg"],
    ],
)  # fmt: skip
def test_other_arguments_run_on_every_core(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DPREF_REDIS_URL", raising=False)
    monkeypatch.delenv("DPREF_PG_URL", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    monkeypatch.setattr(dev.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert not dev.serial(args)
    assert dev.parallel(args) == ["-n", "3", "--dist", "worksteal"]


def test_servers_of_your_own_or_one_core_keep_one_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dev.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setenv("DPREF_PG_URL", "postgresql://127.0.0.1:1/x")
    assert dev.parallel([]) == []
    monkeypatch.delenv("DPREF_PG_URL")
    monkeypatch.delenv("DPREF_REDIS_URL", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    assert dev.parallel([]) == ["-n", "2", "--dist", "worksteal"]
    monkeypatch.setattr(dev.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert dev.parallel([]) == []


@pytest.mark.parametrize(
    ("addopts", "expected"),
    [("-p no:xdist", []), ("-s", []), ("-n 0", []), ("--capture=no -v", []), ("'-n' '1'", []),
     ("-v", ["-n", "2", "--dist", "worksteal"]), ("-k 'a b'", ["-n", "2", "--dist", "worksteal"])],
)  # fmt: skip
def test_pytest_addopts_count_as_arguments_before_the_command_line(
    addopts: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest reads $PYTEST_ADDOPTS before the command line, so they decide as much as it does
    monkeypatch.delenv("DPREF_REDIS_URL", raising=False)
    monkeypatch.delenv("DPREF_PG_URL", raising=False)
    monkeypatch.setattr(dev.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setenv("PYTEST_ADDOPTS", addopts)
    assert dev.parallel(["tests/core"]) == expected
    assert dev.parallel(["-p", "no:randomly"]) == expected


@pytest.mark.parametrize(
    ("value", "set_"),
    [("1", True), ("true", True), ("TRUE", True), ("yes", True), (" Yes ", True),
     ("", False), ("0", False), ("false", False), ("no", False), ("False", False)],
)  # fmt: skip
def test_env_flag_counts_only_true_values(
    value: str, set_: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DPREF_TEST_FLAG", value)
    assert dev.env_flag("DPREF_TEST_FLAG") is set_
    monkeypatch.delenv("DPREF_TEST_FLAG")
    assert dev.env_flag("DPREF_TEST_FLAG") is False
