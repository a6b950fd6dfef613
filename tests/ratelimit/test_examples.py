"""The case study's example script and the CLI hooks run end to end."""

from __future__ import annotations

from pathlib import Path

from designpatterns_ref.ratelimit._bench import bench_steps
from designpatterns_ref.ratelimit._tour import tour
from tests.notebooks import run_example


def test_rate_limiter_example_runs(tmp_path: Path) -> None:
    run = run_example("rate_limiter", tmp_path)
    assert "TokenBucket and GCRA admit the same requests: True" in run.text
    assert "in memory, 3 servers, limit 10/min: 30 of 100 admitted" in run.text
    assert run.files == ["rate-limiter-algorithms.png"]


def test_tour_tells_the_story() -> None:
    lines: list[str] = []
    tour(lines.append)
    text = "\n".join(lines)
    assert "FixedWindow           admits 20" in text
    assert "retry_after=0.2s" in text


def test_bench_steps_in_quick_mode_make_tables() -> None:
    steps = dict(bench_steps(True))
    tables = steps["accuracy"]() + steps["memory per key"]()
    assert all(table.rows for table in tables)
