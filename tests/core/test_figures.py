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


@pytest.mark.parametrize("via", ["DPREF_PLOTS", "directory"])
def test_a_plots_folder_that_is_a_file_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    from designpatterns_ref.errors import InvalidArgument

    taken = tmp_path / "plots"
    taken.write_text("not a folder")
    monkeypatch.setenv("DPREF_PLOTS", str(taken))
    fig, _ = new_figure()
    with pytest.raises(InvalidArgument, match=rf"{via}=.*plots'? is a file; need a folder"):
        show(fig, "x", directory=taken if via == "directory" else None)
    with pytest.raises(InvalidArgument, match=rf"{via}=.*cannot be made"):
        monkeypatch.setenv("DPREF_PLOTS", str(taken / "inside"))
        show(fig, "x", directory=taken / "inside" if via == "directory" else None)
    assert taken.read_text() == "not a folder"


def test_the_temporary_plots_folder_is_made_again_when_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    from designpatterns_ref import figures

    monkeypatch.delenv("DPREF_PLOTS", raising=False)
    monkeypatch.setattr(figures, "_default_dir", None)  # this test's own temporary folder
    fig, _ = new_figure()
    first = show(fig, "a")
    assert first is not None and first.exists()
    shutil.rmtree(first.parent)  # e.g. a temp cleaner, between two calls
    try:
        second = show(fig, "b")
        assert second == first.parent / "b.png" and second.exists()
    finally:
        shutil.rmtree(first.parent, ignore_errors=True)
