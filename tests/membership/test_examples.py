"""The membership example runs end to end as a notebook."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks import run_example


def test_membership_example_runs(tmp_path: Path) -> None:
    run = run_example("membership_benefits", tmp_path)
    out = run.text
    assert "reasons=('dues not paid',)" in out
    assert "('dues not paid', 'silver or gold tier only', 'drivers 21 or over')" in out
    assert "after suspension: ('membership not active', 'needs 12 months of membership')" in out
    assert "most in any 7 days: 2" in out
    assert "[200, 200, 429, 429]" in out
    assert "401" in out and "422" in out
    assert run.files == ["membership-engagement.png"]
