"""The family's tour and bench steps run, deterministically."""

from __future__ import annotations

from designpatterns_ref.membership import generate
from designpatterns_ref.membership._bench import bench_steps, queries
from designpatterns_ref.membership._tour import tour


def test_tour_is_deterministic_and_tells_the_story() -> None:
    first: list[str] = []
    second: list[str] = []
    tour(first.append)
    tour(second.append)
    assert first == second
    text = "\n".join(first)
    assert "'membership not active', 'must be 18 or over'" in text
    assert "eligible=False, ['gold tier only']" in text
    assert "most in any 7 days 2" in text


def test_bench_steps_are_named_and_the_python_steps_run() -> None:
    steps = bench_steps(True)
    assert [name for name, _ in steps] == [
        "verify, cached vs uncached", "rule evaluation cost", "HTTP on loopback"
    ]  # fmt: skip
    (verify,) = steps[0][1]()
    assert [row[0] for row in verify.rows][:2] == ["cached (warm)", "uncached (rules every time)"]
    (rules,) = steps[1][1]()
    assert [row[0] for row in rules.rows] == ["2", "8", "32"]


def test_queries_are_deterministic_and_mostly_real_memberships() -> None:
    d, _ = generate(300, seed=2)
    qs = queries(d, 500)
    assert qs == queries(d, 500)
    real = sum(d.facts(m, o) is not None for m, o, _ in qs)
    assert 400 <= real < 500
