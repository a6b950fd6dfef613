"""The gig-marketplace example, the tour, the quick bench and the plots run."""

from __future__ import annotations

from pathlib import Path

from designpatterns_ref.reputation._bench import bench_steps
from designpatterns_ref.reputation._tour import tour
from designpatterns_ref.reputation.market import generate_marketplace
from designpatterns_ref.reputation.plot import plot_ring_tradeoff, plot_scores_vs_reviews
from tests.notebooks import run_example


def test_gig_marketplace_example_runs(tmp_path: Path) -> None:
    run = run_example("gig_marketplace", tmp_path)
    out = run.text
    assert "refused: this review token was already used" in out
    assert "precision" in out and "newcomer*" in out
    assert run.files == [
        "ring-tradeoff.png",
        "scores-vs-reviews.png",
    ]


def test_tour_is_deterministic_and_tells_the_story() -> None:
    first: list[str] = []
    second: list[str] = []
    tour(first.append)
    tour(second.append)
    assert first == second
    text = "\n".join(first)
    assert "newcomer (exploring)" in text and "precision" in text and "refused" in text


def test_bench_steps_are_named_and_run_quick() -> None:
    steps = bench_steps(True)
    assert [name for name, _ in steps] == ["ranking providers", "ring detector", "matching"]
    assert len(steps[0][1]()[0].rows) == 4


def test_plots_have_labelled_axes_and_lines() -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_scores_vs_reviews(reviews=20)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "reviews so far" and len(ax.lines) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "mean",
        "bayes",
        "wilson",
        "stars",
    ]
    small = generate_marketplace(users=200, jobs=800, rings=3, neighbour_groups=3, seed=1)
    fig = plot_ring_tradeoff(small, thresholds=(0.5, 0.9))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "insularity threshold" and len(ax.lines) == 2
