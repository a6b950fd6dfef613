"""The collaborative-editor example runs end to end."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks import run_example


def test_example_runs(tmp_path: Path) -> None:
    out = run_example("collaborative_editor", tmp_path).text
    assert "converged: True" in out
    assert "synced over TCP: True" in out
