"""The NEWS score example runs end to end as a notebook."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks import run_example


def test_news_score_example_runs(tmp_path: Path) -> None:
    out = run_example("news_score", tmp_path).text
    assert "total 5, risk medium, Minimum 1 hourly" in out
    assert "38.05 °C -> scored as 38.1 °C" in out
    assert "NEWS2: low-medium | NEWS (2012): medium" in out
    assert "risk categories:" in out
