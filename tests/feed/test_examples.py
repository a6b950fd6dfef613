"""The news-feed example runs end to end as a notebook."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks import run_example


def test_news_feed_example_runs(tmp_path: Path) -> None:
    out = run_example("news_feed", tmp_path).text
    assert "FanoutOnWrite writes/post" in out
    assert "pages: [['post 7', 'post 6', 'post 5']" in out


def test_tour_prints_the_story() -> None:
    from designpatterns_ref.feed._tour import tour

    lines: list[str] = []
    tour(lines.append)
    text = "\n".join(lines)
    assert "500 timeline writes" in text and "paging with before=" in text
