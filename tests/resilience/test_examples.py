"""The case study's example script, the tour and the quick bench run end to end."""

from __future__ import annotations

from pathlib import Path

from designpatterns_ref.resilience._bench import bench_steps
from designpatterns_ref.resilience._tour import tour
from tests.notebooks import run_example


def test_netflix_chaos_example_runs(tmp_path: Path) -> None:
    run = run_example("netflix_chaos", tmp_path)
    out = run.text
    assert "timeout+retry   experiment 100.00% vs control 100.00%" in out
    assert "hypothesis holds: True" in out and "hypothesis holds: False" in out
    assert "blackhole       -> b'(cached answer)'" in out
    assert "toxics removed: b'ping'" in out
    assert len(run.files) == 5


def test_tour_tells_the_story() -> None:
    lines: list[str] = []
    tour(lines.append)
    text = "\n".join(lines)
    assert "closed -> open" in text and "half_open -> closed" in text
    assert "['Fallback', 'Retry', 'CircuitBreaker', 'Timeout']" in text
    assert "timeout+retry                    answered 100.00%" in text


def test_bench_steps_in_quick_mode_make_tables() -> None:
    steps = dict(bench_steps(True))
    assert list(steps) == ["overhead", "chaos", "contention"]
    for name in ("chaos", "contention"):
        tables = steps[name]()
        assert tables and all(t.rows for t in tables)
    overhead = steps["overhead"]()
    names = [row[0] for row in overhead[0].rows]
    assert "full stack (retry, breaker, bulkhead, timeout)" in names
    assert {"pybreaker", "circuitbreaker", "tenacity, first-try success"} <= set(names)


def test_the_case_studys_kill_count_is_the_benchs() -> None:
    """The page quotes the bench's monkey run; its kill count is printed by the bench, so the
    page can be checked against it."""
    import re

    from designpatterns_ref.resilience._bench import bench_chaos
    from designpatterns_ref.resilience.chaos import availability_table

    page = (Path(__file__).parents[2] / "docs/case-studies/netflix-chaos.md").read_text()
    quoted = re.search(r"\((\d+) kills in (\d+) minutes", page)
    assert quoted is not None
    rows = availability_table("monkey", requests=6_000, seed=0)  # the page's run
    assert {row.kills for row in rows} == {int(quoted[1])}
    assert int(quoted[2]) == 6_000 // 2 // 60  # two requests a second
    monkey = bench_chaos(quick=True)[0]
    assert monkey.columns[-1] == "kills"
    quick = availability_table("monkey", requests=600, seed=0)
    assert [r[-1] for r in monkey.rows] == [str(row.kills) for row in quick]
