"""The case study's example script and the CLI hooks run end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from designpatterns_ref.ratelimit._bench import bench_steps
from designpatterns_ref.ratelimit._tour import tour

ROOT = Path(__file__).resolve().parents[2]


def test_rate_limiter_example_runs(tmp_path: Path) -> None:
    env = {**os.environ, "DPREF_PLOTS": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "rate_limiter.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "TokenBucket and GCRA admit the same requests: True" in done.stdout
    assert "in memory, 3 servers, limit 10/min: 30 of 100 admitted" in done.stdout
    assert (tmp_path / "rate-limiter-algorithms.png").read_bytes().startswith(b"\x89PNG")


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
