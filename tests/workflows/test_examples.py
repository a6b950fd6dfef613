"""The food-delivery example runs end to end as a notebook, and the tour tells its story."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks import run_example


def test_example_runs(tmp_path: Path) -> None:
    run = run_example("food_delivery", tmp_path)
    out = run.text
    assert (
        "kitchen   refunded  failed at deliver    undone ['driver', 'restaurant', 'charge']" in out
    )
    assert "crash point   7: exit SIGKILL" in out
    assert "as the oracle says: True" in out and "effects as the oracle says: True" in out
    assert "duplicated side effects: {}" in out
    assert run.files == [
        "food-delivery-saga.png",
        "food-delivery-states.png",
    ]


def test_tour_tells_the_story() -> None:
    from designpatterns_ref.workflows._tour import tour

    lines: list[str] = []
    tour(lines.append)
    text = "\n".join(lines)
    assert "compensated in reverse: ['driver', 'restaurant', 'charge']; order 'refunded'" in text
    assert "a new worker resumes from the log: order 'delivered'" in text
    assert "the outbox relays 1 event; a second relay sends nothing new" in text
    assert "order 'refunded' after 300 simulated seconds" in text
