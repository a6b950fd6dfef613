"""The tour runs, says what it shows, and prints the same every time."""

from __future__ import annotations

from designpatterns_ref.shortcode._tour import tour


def test_tour_is_deterministic_and_tells_the_story() -> None:
    first: list[str] = []
    second: list[str] = []
    tour(first.append)
    tour(second.append)
    assert first == second
    text = "\n".join(first)
    for phrase in (
        "base62",
        "Feistel",
        "no separator",
        "blocklist",
        "gap",
        "birthday bound",
        "ClockMovedBackwards",
        "alias",
    ):
        assert phrase in text
