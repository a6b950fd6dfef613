"""The NEWS score example runs end to end as a script."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "news_score.py"


def test_news_score_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "total 5, risk medium, Minimum 1 hourly" in out
    assert "38.05 °C -> scored as 38.1 °C" in out
    assert "NEWS2: low-medium | NEWS (2012): medium" in out
    assert "risk categories:" in out
