"""figures.show saves a PNG outside a notebook; new_figure makes a pyplot-free figure."""

from __future__ import annotations

from pathlib import Path

import pytest

from designpatterns_ref.figures import in_notebook, new_figure, show


def test_new_figure_and_show_write_a_png(tmp_path: Path) -> None:
    fig, ax = new_figure()
    ax.plot([0, 1], [1, 0])
    assert new_figure(ax) == (fig, ax)
    assert not in_notebook()
    path = show(fig, "a line / test", directory=tmp_path)
    assert path == tmp_path / "a-line-test.png"
    assert path.read_bytes().startswith(b"\x89PNG")


def test_show_uses_dpref_plots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DPREF_PLOTS", str(tmp_path / "plots"))
    fig, _ = new_figure()
    path = show(fig, "x")
    assert path == tmp_path / "plots" / "x.png"
    assert path.exists()


def test_new_figure_grid_and_the_callers_axes() -> None:
    fig, axes = new_figure(rows=2, cols=3, sharex=True)
    assert len(axes) == 6 and all(ax.figure is fig for ax in axes)
    assert new_figure(axes[:2], rows=2) == (fig, axes[:2])
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure) and fig.canvas.manager is None  # not pyplot-managed
