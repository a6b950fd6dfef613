"""Figures that show inline in a notebook and are saved to files from a script.

Every family's ``plot.py`` returns a matplotlib :class:`~matplotlib.figure.Figure`. The plot
functions build it with :func:`new_figure` (or draw into the caller's ``ax=``), which makes a
figure without pyplot: no global state, no backend chosen, nothing opened on screen, so the
same code runs in a notebook, in a script on a machine with no display and in the tests.

:func:`show` is what examples and the tour call with such a figure:

- in a Jupyter kernel it displays the figure inline (a PNG in the cell's output; a figure left
  as the last expression of a cell shows the same way, since :func:`new_figure` teaches the
  kernel to draw pyplot-free figures as PNG);
- anywhere else it saves a PNG into a folder (``$DPREF_PLOTS`` or a fresh temporary folder, or
  the ``directory`` given) and returns the path, which the caller prints.

matplotlib is imported only inside these functions (the ``plot`` extra), so importing this module
costs nothing.

>>> in_notebook()
False
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from designpatterns_ref.errors import InvalidArgument, shown

__all__ = ["in_notebook", "new_figure", "show"]

_default_dir: Path | None = None


def in_notebook() -> bool:
    """True when running inside a Jupyter (IPython) kernel."""
    return "ipykernel" in sys.modules


def new_figure(
    ax: Any = None,
    *,
    figsize: tuple[float, float] = (7.0, 4.0),
    rows: int = 1,
    cols: int = 1,
    sharex: bool = False,
) -> tuple[Any, Any]:
    """Return ``(figure, axes)``: the caller's ``ax`` and its figure, or a new pyplot-free pair.

    With ``rows * cols > 1`` a new figure gets a grid and ``axes`` is the list of its Axes,
    row by row; a caller's ``ax`` is then a list (or array) of that many Axes, returned as a list.
    """
    if ax is not None:
        if rows * cols == 1:
            return ax.figure, ax
        axes = list(ax.flat) if hasattr(ax, "flat") else list(ax)
        return axes[0].figure, axes
    from matplotlib.figure import Figure

    _teach_kernel()
    fig = Figure(figsize=figsize, layout="constrained")
    if rows * cols == 1:
        return fig, fig.add_subplot()
    grid = fig.subplots(rows, cols, sharex=sharex, squeeze=False)
    return fig, [axis for row in grid for axis in row]


def _png(fig: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _teach_kernel() -> None:
    """In a Jupyter kernel, render every matplotlib Figure as a PNG (no pyplot involved).

    A pyplot-free figure has no backend of its own to display it, so without this a figure left
    as a cell's last expression prints as ``<Figure size ...>``. Nothing happens elsewhere.
    """
    if not in_notebook():
        return
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - IPython is always there inside ipykernel
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, _png)


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")
    return slug or "figure"


def _plots_folder(folder: Path, named: str) -> Path:
    """``folder``, made if need be, or :class:`InvalidArgument` naming ``named`` when it is a
    file or cannot be made."""
    if folder.exists() and not folder.is_dir():
        raise InvalidArgument(f"show: {named}={shown(str(folder))} is a file; need a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidArgument(
            f"show: {named}={shown(str(folder))} cannot be made: {exc.strerror or exc}"
        ) from exc
    return folder


def show(
    fig: Any, name: str = "figure", *, directory: str | os.PathLike[str] | None = None
) -> Path | None:
    """Display ``fig`` inline in a notebook, else save it as ``name.png`` and return the path.

    The folder is ``directory`` when given, else ``$DPREF_PLOTS`` when set, else one temporary
    folder made on first use and kept for the process (made again if it was removed). A folder
    that is a file, or cannot be made, raises :class:`InvalidArgument` naming ``directory``
    or ``$DPREF_PLOTS``.
    """
    if directory is None and in_notebook():
        from IPython.display import display

        _teach_kernel()
        display(fig)  # type: ignore[no-untyped-call, unused-ignore]
        return None
    global _default_dir
    if directory is not None:
        folder = _plots_folder(Path(directory), "directory")
    elif os.environ.get("DPREF_PLOTS"):
        folder = _plots_folder(Path(os.environ["DPREF_PLOTS"]), "$DPREF_PLOTS")
    else:
        if _default_dir is None:
            _default_dir = Path(tempfile.mkdtemp(prefix="dpref-plots-"))
        # made again if something removed it since (a temp cleaner, a tidy test)
        folder = _plots_folder(_default_dir, "the temporary plots folder")
    path = folder / f"{_slug(name)}.png"
    fig.savefig(path, dpi=90)
    return path
