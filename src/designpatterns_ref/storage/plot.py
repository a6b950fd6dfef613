"""Pictures of the case study: write amplification, replication volume, bloat, read cost.

Case study: Uber's Decision to Move from Postgres to MySQL
(docs/case-studies/uber-postgres-mysql.md)

Each function draws the rows one experiment of :mod:`designpatterns_ref.storage.workload`
returns: :func:`plot_write_amplification` (index entries and WAL bytes per update against the
number of secondary indexes, heap with and without HOT, clustered), :func:`plot_replication`
(bytes per update a replica receives, physical against logical), :func:`plot_long_reader`
(dead heap versions and undo records while one snapshot stays open, then after it ends) and
:func:`plot_secondary_reads` (pages per row read through a secondary index and by key).

Every function returns the matplotlib ``Figure``, takes ``ax=`` to draw into your own axes,
never touches pyplot or the backend, and raises :class:`StorageError` on rows it cannot draw.

Complexity: O(rows) artists.

>>> import importlib.util
>>> rows = [{"indexes": n, "heap": n + 1.0, "heap_hot": 0.0, "clustered": 1.0,
...          "heap_wal": 100.0, "heap_hot_wal": 60.0, "clustered_wal": 80.0} for n in range(3)]
>>> fig = plot_write_amplification(rows) if importlib.util.find_spec("matplotlib") else None
>>> fig is None or fig.axes[0].get_xlabel() == "secondary indexes"
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.figures import new_figure
from designpatterns_ref.storage.base import StorageError

__all__ = [
    "plot_long_reader",
    "plot_replication",
    "plot_secondary_reads",
    "plot_write_amplification",
    "tour_figures",
]

LABELS = {"heap": "heap, no HOT", "heap_hot": "heap with HOT", "clustered": "clustered + undo"}
COLOURS = {"heap": "#d62728", "heap_hot": "#ff9896", "clustered": "#1f77b4"}


def _rows(
    rows: object, numbers: Sequence[str], texts: Sequence[str] = ()
) -> list[Mapping[str, Any]]:
    if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Sequence) or not rows:
        raise StorageError(f"rows={shown(rows, 60)} must be a non-empty list of result rows")
    if len(rows) > 1000:
        raise StorageError(f"rows has {len(rows)} entries; at most 1000 can be drawn")
    for row in rows:
        if not isinstance(row, Mapping):
            raise StorageError(f"each row must be a mapping, got {shown(row, 60)}")
        for key in numbers:
            value = row.get(key)
            if type(value) not in (int, float) or not math.isfinite(value) or abs(value) > 1e15:  # type: ignore[arg-type]
                raise StorageError(f"row[{shown(key)}]={shown(value, 40)} must be a finite number")
        for key in texts:
            if not isinstance(row.get(key), str):
                raise StorageError(f"row[{shown(key)}]={shown(row.get(key), 40)} must be a str")
    return list(rows)


def plot_write_amplification(rows: Sequence[Mapping[str, Any]], *, ax: Any = None) -> Any:
    """Index entries (solid) and WAL bytes (dashed, right axis) per update, by index count."""
    names = [n for n in LABELS]
    data = _rows(rows, ["indexes", *names, *(f"{n}_wal" for n in names)])
    fig, ax = new_figure(ax, figsize=(7.5, 4.2))
    xs = [r["indexes"] for r in data]
    for name in names:
        ax.plot(xs, [r[name] for r in data], "o-", color=COLOURS[name], label=LABELS[name])
    ax.set_xlabel("secondary indexes")
    ax.set_ylabel("index entries written per update")
    wal = ax.twinx()
    for name in names:
        wal.plot(xs, [r[f"{name}_wal"] for r in data], "--", color=COLOURS[name], alpha=0.6)
    wal.set_ylabel("WAL / redo bytes per update (dashed)")
    ax.set_title("Updating one unindexed column")
    ax.legend(loc="upper left")
    return fig


def plot_replication(rows: Sequence[Mapping[str, Any]], *, ax: Any = None) -> Any:
    """Bytes per update a replica receives: physical (WAL) against logical (rows)."""
    data = _rows(rows, ["physical", "logical"], ["engine", "workload"])
    fig, ax = new_figure(ax, figsize=(7.5, 4.2))
    labels = [f"{LABELS.get(r['engine'], r['engine'])}\n{r['workload']}" for r in data]
    xs = range(len(data))
    ax.bar([x - 0.2 for x in xs], [r["physical"] for r in data], 0.4, label="physical (WAL)",
           color="#7f7f7f")  # fmt: skip
    ax.bar([x + 0.2 for x in xs], [r["logical"] for r in data], 0.4, label="logical (rows)",
           color="#2ca02c")  # fmt: skip
    ax.set_xticks(list(xs), labels, fontsize=7)
    ax.set_ylabel("bytes shipped per update")
    ax.set_xlabel("engine and workload")
    ax.set_title("What a replica must receive")
    ax.legend()
    return fig


def plot_long_reader(rows: Sequence[Mapping[str, Any]], *, ax: Any = None) -> Any:
    """Dead heap versions and undo records after each clean-up while one reader stays open."""
    data = _rows(rows, ["round", "heap_dead_versions", "undo_records"])
    fig, ax = new_figure(ax, figsize=(7.5, 4.2))
    xs = [r["round"] for r in data]
    ax.plot(xs, [r["heap_dead_versions"] for r in data], "o-", color=COLOURS["heap_hot"],
            label="heap: dead versions VACUUM cannot free")  # fmt: skip
    ax.plot(xs, [r["undo_records"] for r in data], "s-", color=COLOURS["clustered"],
            label="clustered: undo records purge cannot free")  # fmt: skip
    open_rounds = [r["round"] for r in data if r.get("reader_open")]
    if open_rounds:
        ax.axvspan(min(open_rounds) - 0.5, max(open_rounds) + 0.5, color="#eeeeee",
                   label="long reader open")  # fmt: skip
    ax.set_xlabel("round of updates (clean-up after each)")
    ax.set_ylabel("versions kept")
    ax.set_title("A long-running reader holds back VACUUM and purge")
    ax.legend()
    return fig


def plot_secondary_reads(rows: Sequence[Mapping[str, Any]], *, ax: Any = None) -> Any:
    """Pages read per row through a secondary index, and per primary-key lookup."""
    data = _rows(rows, ["pages_per_row_via_secondary", "pages_per_key_lookup"], ["engine"])
    fig, ax = new_figure(ax, figsize=(6.5, 4.0))
    xs = range(len(data))
    ax.bar([x - 0.2 for x in xs], [r["pages_per_row_via_secondary"] for r in data], 0.4,
           label="per row via a secondary index", color="#9467bd")  # fmt: skip
    ax.bar([x + 0.2 for x in xs], [r["pages_per_key_lookup"] for r in data], 0.4,
           label="per primary-key lookup", color="#bcbd22")  # fmt: skip
    ax.set_xticks(list(xs), [LABELS.get(r["engine"], r["engine"]) for r in data])
    ax.set_ylabel("pages read")
    ax.set_xlabel("engine")
    ax.set_title("One lookup or two")
    ax.legend()
    return fig


def tour_figures() -> dict[str, Any]:
    """The tour's figures, from small runs of the experiments (about a second)."""
    from designpatterns_ref.storage import workload

    return {
        "write-amplification": plot_write_amplification(
            workload.write_amplification(10, rows=100, updates=100)
        ),
        "long-reader": plot_long_reader(workload.long_reader(rows=100, rounds=4, updates=100)),
    }
