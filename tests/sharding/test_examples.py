"""The sharding examples run end to end as scripts, and the tour tells its story."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["github_vitess.py", "notion_postgres.py"])
def test_example_runs(name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("DPREF_PLOTS", str(tmp_path))
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    out = capsys.readouterr().out
    if name == "github_vitess.py":
        assert "equal to the unsharded copy: True" in out
        assert "ok: True" in out
    else:
        assert "answers match: False" not in out
        assert out.count("answers match: True") == 4
    assert list(tmp_path.glob("*.png"))


def test_tour_tells_the_story() -> None:
    from designpatterns_ref.sharding._tour import tour

    lines: list[str] = []
    tour(lines.append)
    text = "\n".join(lines)
    assert "the router now serves ('-80', '80-')" in text
    assert "all give the same answers: True" in text
    assert "touches 1 shard keyed by workspace" in text
