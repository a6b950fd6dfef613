"""The news-feed example runs end to end as a script."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "news_feed.py"


def test_news_feed_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "FanoutOnWrite writes/post" in out
    assert "pages: [['post 7', 'post 6', 'post 5']" in out


def test_tour_prints_the_story() -> None:
    from designpatterns_ref.feed._tour import tour

    lines: list[str] = []
    tour(lines.append)
    text = "\n".join(lines)
    assert "500 timeline writes" in text and "paging with before=" in text
