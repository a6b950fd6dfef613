"""The autocomplete example runs end to end as a script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "autocomplete.py"


def test_example_runs() -> None:
    env = {**os.environ, "DPREF_AUTOCOMPLETE_WORDS": "5000", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "typo" in done.stdout
    assert "cannot change" in done.stdout


def test_tour_runs() -> None:
    from designpatterns_ref.autocomplete._tour import tour

    lines: list[str] = []
    tour(lines.append)
    assert any("iphone 15" in line for line in lines)
    assert any("read-only" in line for line in lines)
