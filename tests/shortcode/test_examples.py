"""The shortcode examples run end to end as notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebooks import run_example


@pytest.mark.parametrize("name", ["url_shortener", "photo_ids"])
def test_example_runs(name: str, tmp_path: Path) -> None:
    out = run_example(name, tmp_path).text
    assert out.strip()
    assert "Traceback" not in out
