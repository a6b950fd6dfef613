"""The family's tour and bench steps run, deterministically."""

from __future__ import annotations

from designpatterns_ref.clinical import news2
from designpatterns_ref.clinical._bench import bench_steps, hand_coded_news2, observations
from designpatterns_ref.clinical._tour import tour


def test_tour_is_deterministic_and_tells_the_story() -> None:
    first: list[str] = []
    second: list[str] = []
    tour(first.append)
    tour(second.append)
    assert first == second
    text = "\n".join(first)
    assert "risk high" in text and "Fahrenheit" in text and "38.1" in text


def test_bench_steps_are_named_and_the_python_step_runs() -> None:
    steps = bench_steps(True)
    assert [name for name, _ in steps] == ["score from Python", "HTTP on loopback"]
    tables = steps[0][1]()
    assert len(tables) == 1 and len(tables[0].rows) == 6


def test_the_hand_coded_baseline_agrees_with_the_engine() -> None:
    for o in observations(2_000):
        assert hand_coded_news2(**o) == news2.score(**o).total  # type: ignore[arg-type]
