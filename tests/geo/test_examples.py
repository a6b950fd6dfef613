"""The ride-sharing example runs end to end as a notebook."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks import run_example


def test_ride_sharing_example_runs(tmp_path: Path) -> None:
    out = run_example("ride_sharing", tmp_path).text
    assert "equals brute force on 20 riders: True" in out
    assert "after 61 s without updates: 0" in out


def test_tour_and_quick_bench_run() -> None:
    from designpatterns_ref.geo._bench import bench_codecs
    from designpatterns_ref.geo._tour import tour

    lines: list[str] = []
    tour(lines.append)
    assert any("equal to brute force over all 200: True" in line for line in lines)
    assert bench_codecs(True)[0].rows
