"""The README shows a small committed PNG, and the script that makes it still runs."""

from __future__ import annotations

import runpy
from pathlib import Path

import matplotlib

ROOT = Path(__file__).resolve().parents[2]
PNG = ROOT / "docs" / "assets" / "readme-notebook.png"


def test_readme_shows_the_committed_png() -> None:
    assert "(docs/assets/readme-notebook.png)" in (ROOT / "README.md").read_text(encoding="utf-8")
    data = PNG.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) < 100_000


def test_the_script_makes_it(tmp_path: Path) -> None:
    matplotlib.use("Agg")
    script = runpy.run_path(str(ROOT / "tools" / "readme_figure.py"))
    assert script["main"]([str(tmp_path)]) == 0
    made = (tmp_path / "readme-notebook.png").read_bytes()
    assert made.startswith(b"\x89PNG") and len(made) < 100_000
