"""The ride-sharing example runs end to end as a script."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_ride_sharing_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLES / "ride_sharing.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "equals brute force on 20 riders: True" in out
    assert "after 61 s without updates: 0" in out


def test_tour_and_quick_bench_run() -> None:
    from designpatterns_ref.geo._bench import bench_codecs
    from designpatterns_ref.geo._tour import tour

    lines: list[str] = []
    tour(lines.append)
    assert any("equal to brute force over all 200: True" in line for line in lines)
    assert bench_codecs(True)[0].rows
