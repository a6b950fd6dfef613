"""dpref tour --plots DIR saves every family's figures without a display."""

from __future__ import annotations

import importlib
from pathlib import Path

import matplotlib
import pytest

from designpatterns_ref import FAMILIES
from designpatterns_ref.cli import main


def test_tour_plots_saves_each_family_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matplotlib.use("Agg")
    assert main(["tour", "geo", "clinical", "--plots", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    saved = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert saved == ["clinical-observations.png", "geo-search.png"]
    assert all(f"figure: {tmp_path / 'plots' / name}" in out for name in saved)


def test_tour_plots_refuses_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    assert main(["tour", "geo", "--plots", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_draws(family: str) -> None:
    """Each family has a plot module; its tour figures (if it lists some) have labelled axes."""
    matplotlib.use("Agg")
    plot = importlib.import_module(f"designpatterns_ref.{family}.plot")
    assert any(name.startswith("plot_") for name in getattr(plot, "__all__", ()))
    figures = plot.tour_figures() if hasattr(plot, "tour_figures") else {}
    for fig in figures.values():
        assert fig.axes and all(ax.get_xlabel() or ax.get_ylabel() for ax in fig.axes)


def test_tour_plots_refuses_a_folder_it_cannot_make_before_touring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder under a file cannot be made: exit 2 with the reason, and no tour run first."""
    (tmp_path / "a-file").write_text("x")
    assert main(["tour", "geo", "--plots", str(tmp_path / "a-file" / "plots")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "--plots" in err and "cannot be made" in err and "a-file" in err


@pytest.mark.parametrize("folder", ["", "   "])
def test_tour_plots_refuses_an_empty_folder_name_before_touring(
    folder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--plots ""`` (an unset shell variable) names no folder: exit 2, not figures in the
    current folder (or in a folder named by blanks)."""
    monkeypatch.chdir(tmp_path)
    assert main(["tour", "geo", "--plots", folder]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "--plots" in err and "names no folder" in err
    assert list(tmp_path.iterdir()) == []
