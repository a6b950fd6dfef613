"""The CLI on a base install (no extras): every command works, and a tour whose optional
packages are missing is skipped with one line naming the extra, never a traceback.

The base install is simulated by blocking the optional packages' imports in a fresh
interpreter (``sys.modules[name] = None`` makes ``import name`` fail as if not installed).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from designpatterns_ref import FAMILIES
from designpatterns_ref.cli import EXTRA_FOR, family_module

ROOT = Path(__file__).resolve().parents[2]


def run_without(
    blocked: list[str], *args: str, only: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``dpref ARGS`` in a fresh interpreter where ``blocked`` cannot be imported (and, with
    ``only``, where the tour offers just those families)."""
    code = (
        "import sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None\n"
        "from designpatterns_ref import cli\n"
        + (f"cli._families_with = lambda name: {only!r}\n" if only is not None else "")
        + "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300
    )


def test_list_show_version_help_work_without_cryptography() -> None:
    for args in (["list"], ["show", "worker-identity"], ["--version"]):
        result = run_without(["cryptography"], *args)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert "worker-identity" in run_without(["cryptography"], "list").stdout
    help_text = run_without(["cryptography"], "--help")
    assert help_text.returncode == 0
    assert "designpatterns-ref[identity]" in " ".join(help_text.stdout.split())


def test_a_command_left_out_names_the_extra_that_brings_it() -> None:
    result = run_without(["cryptography"], "audit", "verify", "gate.log")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "invalid choice: 'audit'" in result.stderr
    assert "designpatterns-ref[identity]" in result.stderr


def test_tour_of_a_family_missing_its_extra_is_one_line_and_exit_1() -> None:
    result = run_without(["cryptography"], "tour", "identity")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    line = "(skipped: identity needs cryptography: pip install 'designpatterns-ref[identity]')"
    assert line in result.stdout.splitlines()


def test_tour_runs_the_families_it_can_and_names_the_rest() -> None:
    named = run_without(["cryptography"], "tour", "ratelimit", "identity")
    assert named.returncode == 1  # a family named on the command line did not run
    assert "(ratelimit: " in named.stdout and "skipped: identity" in named.stdout
    everything = run_without(["cryptography"], "tour", only=["ratelimit", "identity"])
    assert everything.returncode == 0, everything.stderr  # none named: at least one ran
    assert "(ratelimit: " in everything.stdout and "skipped: identity" in everything.stdout
    assert "designpatterns-ref[identity]" in everything.stderr
    assert "Traceback" not in everything.stderr


def test_a_broken_import_is_not_taken_for_a_missing_extra() -> None:
    """Only the optional packages of EXTRA_FOR count as a missing extra: any other failed
    import in a tour is a defect, reported as such."""
    result = run_without(["designpatterns_ref.identity.compact"], "tour", "identity")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_extra_for_names_the_extras_of_pyproject() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for package, extra in EXTRA_FOR.items():
        names = {re.split(r"[<>=\[; ]", req, maxsplit=1)[0] for req in extras[extra]}
        assert package in names, (package, extra)


def test_dev_tour_installs_every_extra_the_tours_need() -> None:
    """``python3 dev.py tour`` installs the base and ``TOUR_EXTRAS``: with every other optional
    package missing, the tour of every family runs and none is skipped."""
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    installed = set(dev.TOUR_EXTRAS.split(","))
    blocked = sorted(p for p, extra in EXTRA_FOR.items() if extra not in installed)
    result = run_without(blocked, "tour")
    assert result.returncode == 0, result.stderr
    assert "(skipped: " not in result.stdout and "skipped" not in result.stderr
    toured = re.findall(r"^\((\w+): [0-9.]+ s\)$", result.stdout, re.MULTILINE)
    assert toured == [f for f in FAMILIES if family_module(f, "_tour")]


def test_bench_of_a_family_missing_its_extra_is_one_line_and_exit_1() -> None:
    """Missing at import (identity: cryptography) or only when a step runs (geo: h3, raised
    as the family's own error from the ImportError): one line naming the extra, no traceback."""
    for blocked, family, extra in [("cryptography", "identity", "identity"), ("h3", "geo", "geo")]:
        result = run_without([blocked], "bench", family, "--quick")
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert (
            f"dpref bench: {family} needs {blocked}: pip install 'designpatterns-ref[{extra}]'"
            in (result.stderr.splitlines())
        )
