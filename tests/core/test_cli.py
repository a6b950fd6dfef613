"""The CLI: list, show, tour, bench, and exit status 2 with a useful message on bad input."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from designpatterns_ref import FAMILIES
from designpatterns_ref.catalog import catalog
from designpatterns_ref.cli import EXIT_USAGE, family_module, main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "designpatterns_ref", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_list_shows_all_25(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for study in catalog():
        assert study.slug in out
    assert "25 case studies" in out


def test_show_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "news-feed"]) == 0
    out = capsys.readouterr().out
    study = next(c for c in catalog() if c.slug == "news-feed")
    assert study.title in out
    assert "The problem" in out and "The decision" in out
    assert study.docs_page in out
    for source in study.sources:
        assert source.url in out


def test_show_unknown_exits_2_with_close_matches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "nope"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "unknown case study 'nope'" in err and "did you mean" in err


def test_module_entry_point_and_exit_codes() -> None:
    assert run_cli("list").returncode == 0
    bad = run_cli("show", "news-fed")
    assert bad.returncode == 2 and "news-feed" in bad.stderr
    assert run_cli().returncode == 2
    nope = run_cli("frobnicate")
    assert nope.returncode == 2 and "invalid choice" in nope.stderr


def test_bench_unknown_family_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "nope"]) == EXIT_USAGE
    assert "choose from" in capsys.readouterr().err


def test_tour_unknown_family_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tour", "nope"]) == EXIT_USAGE
    assert "no tour for nope" in capsys.readouterr().err


def test_version_flag() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("dpref ")


def test_family_module_is_none_for_missing_parts() -> None:
    assert family_module("no_such_family", "_tour") is None
    assert family_module("ratelimit", "_no_such_module") is None


@pytest.mark.parametrize("family", [f for f in FAMILIES if family_module(f, "_tour")])
def test_each_family_tour_runs(family: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tour", family]) == 0
    out = capsys.readouterr().out
    assert f"== {family}" in out and len(out.splitlines()) > 5


@pytest.mark.parametrize("family", [f for f in FAMILIES if family_module(f, "_bench")])
def test_each_family_offers_named_bench_steps(family: str) -> None:
    module = family_module(family, "_bench")
    assert module is not None
    for quick in (True, False):
        steps = module.bench_steps(quick)
        assert steps, f"{family} has no bench steps"
        names = [name for name, _ in steps]
        assert all(isinstance(n, str) and n for n in names) and all(callable(s) for _, s in steps)


def test_quick_bench_prints_tables(capsys: pytest.CaptureFixture[str]) -> None:
    """One whole quick run through the CLI (the families' own tests and CI's benchmark run
    exercise the rest; a quick run of every family here would double CI's time)."""
    assert main(["bench", "shortcode", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "dpref bench shortcode (quick run" in out
    assert "---" in out  # at least one rendered table


def test_list_imports_only_families_with_commands() -> None:
    """Finding each family's extra commands must not import every family on start-up."""
    code = (
        "import sys\n"
        "from designpatterns_ref.cli import main\n"
        "main(['list'])\n"
        "print(sorted(f for f in ('ratelimit', 'geo', 'autocomplete', 'collab')"
        " if 'designpatterns_ref.' + f in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_output_cut_short_by_the_reader_ends_quietly() -> None:
    result = subprocess.run(
        f"'{sys.executable}' -m designpatterns_ref tour | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.startswith("designpatterns_ref ")
    assert "Traceback" not in result.stderr


def test_audit_verify_says_a_file_it_cannot_read_on_stderr(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("cryptography")
    missing = tmp_path / "missing.log"
    assert main(["audit", "verify", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("dpref audit verify: ") and "missing.log" in err


def test_messaging_cluster_names_a_redis_that_does_not_answer() -> None:
    pytest.importorskip("websockets")
    # port 1 is privileged and nothing here serves on it, so no other test's server can take
    # it (a free port could be, and the command would then serve until the timeout)
    url = "redis://127.0.0.1:1"
    result = run_cli("messaging", "cluster", "--redis", url, "--secret", "k3y!k3y!")
    assert result.returncode == EXIT_USAGE, result
    assert "Redis at 127.0.0.1:1 does not answer" in result.stderr, result.stderr


def test_messaging_cluster_names_a_redis_url_it_cannot_read() -> None:
    pytest.importorskip("websockets")
    result = run_cli(
        "messaging", "cluster", "--redis", "redis://127.0.0.1:abc", "--secret", "k3y!k3y!"
    )
    assert result.returncode == EXIT_USAGE, result
    assert "is not a Redis URL" in result.stderr and "Traceback" not in result.stderr, result
