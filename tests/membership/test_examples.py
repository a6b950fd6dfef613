"""The membership example runs end to end as a script."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "membership_benefits.py"


def test_membership_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "reasons=('dues not paid',)" in out
    assert "('dues not paid', 'silver or gold tier only', 'drivers 21 or over')" in out
    assert "after suspension: ('membership not active', 'needs 12 months of membership')" in out
    assert "most in any 7 days: 2" in out
    assert "[200, 200, 429, 429]" in out
    assert "401" in out and "422" in out
    assert "figure saved to" in out
