"""The example runs as a script and as a notebook; the tour, the quick bench and the plot work."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from designpatterns_ref.boundaries import BoundariesError, build, load_config
from designpatterns_ref.boundaries.demo import write_shop
from tests.notebooks import run_example

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_shopify_example_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DPREF_PLOTS", str(tmp_path))
    runpy.run_path(str(EXAMPLES / "shopify_modular_monolith.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "boundaries: FAILED, 11 modules, 10 imports; 8 new violation(s)" in out
    assert "recorded 8 violations; check passes: True" in out
    assert "removed 4, kept 4" in out
    assert "::error file=shop/payments/refunds.py,line=1" in out
    assert "885 modules, 3072 imports" in out
    assert (tmp_path / "shop-components.png").is_file()


def test_shopify_example_runs_as_a_notebook(tmp_path: Path) -> None:
    """Run twice, unlike the other examples: a cell of its own saves the figure only outside a
    kernel (``"ipykernel" not in sys.modules``), so the script run above is the one that
    covers that branch, and this one the notebook the reader opens."""
    run = run_example("shopify_modular_monolith", tmp_path)
    assert "recorded 8 violations; check passes: True" in run.text
    assert run.files == [] and run.shown >= 1


def test_tour_tells_the_adoption_story() -> None:
    from designpatterns_ref.boundaries._tour import tour

    lines: list[str] = []
    tour(lines.append)
    text = "\n".join(lines)
    assert "Recorded 8 in boundaries_todo.toml; the check now passes:\n  ok = True" in text
    assert "removed 4, kept 4" in text
    assert "parses 0 files" in text


def test_quick_bench_measures_both_tools() -> None:
    from designpatterns_ref.boundaries._bench import bench_cli, bench_steps

    assert [name for name, _ in bench_steps(True)] == ["command lines", "in-process"]
    (table,) = bench_cli(True)
    assert [row[0] for row in table.rows][-1].startswith("lint-imports")
    assert all(float(row[2]) > 0 and float(row[4]) > 0 for row in table.rows)


def test_plot_components_draws_the_graph_with_violations(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from designpatterns_ref.boundaries.plot import plot_components

    folder = write_shop(tmp_path)
    config = load_config(folder)
    fig = plot_components(build(config), config)
    (ax,) = fig.axes
    assert len(ax.patches) == 6  # one arrow per pair of components with imports
    red = [p for p in ax.patches if p.get_edgecolor()[0] > 0.8 > p.get_edgecolor()[1]]
    assert 0 < len(red) < 6
    assert ax.get_xlabel() == "4 components, 7 cross-component imports"
    assert ax.get_ylabel().endswith("violations")
    assert {t.get_text() for t in ax.texts} >= {"orders", "payments", "inventory", "shared"}
    with pytest.raises(BoundariesError):
        plot_components(None, config)  # type: ignore[arg-type]
