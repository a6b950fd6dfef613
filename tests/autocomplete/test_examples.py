"""The autocomplete example runs end to end as a notebook."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks import run_example


def test_example_runs(tmp_path: Path) -> None:
    run = run_example("autocomplete", tmp_path)
    assert "typo" in run.text
    assert "cannot change" in run.text
    assert run.files == ["autocomplete-keystrokes.png", "autocomplete-trie.png"]


def test_tour_runs() -> None:
    from designpatterns_ref.autocomplete._tour import tour

    lines: list[str] = []
    tour(lines.append)
    assert any("iphone 15" in line for line in lines)
    assert any("read-only" in line for line in lines)
