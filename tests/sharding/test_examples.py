"""The sharding examples run end to end as notebooks, and the tour tells its story."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebooks import run_example


@pytest.mark.parametrize("name", ["github_vitess", "notion_postgres"])
def test_example_runs(name: str, tmp_path: Path) -> None:
    run = run_example(name, tmp_path)
    out = run.text
    if name == "github_vitess":
        assert "equal to the unsharded copy: True" in out
        assert "ok: True" in out
    else:
        assert "answers match: False" not in out
        assert out.count("answers match: True") == 4
    assert run.files


def test_tour_tells_the_story() -> None:
    from designpatterns_ref.sharding._tour import tour

    lines: list[str] = []
    tour(lines.append)
    text = "\n".join(lines)
    assert "the router now serves ('-80', '80-')" in text
    assert "all give the same answers: True" in text
    assert "touches 1 shard keyed by workspace" in text
