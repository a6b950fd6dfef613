"""Pictures of bed capacity: beds per status for each home, stale homes marked.

Case study: Design a Real-Time Bed Logistics System (docs/case-studies/bed-logistics.md)

:func:`plot_capacity` draws one horizontal stacked bar per row of a capacity table (free,
occupied, cleaning, reserved) and hatches the homes that stopped reporting, whose figures may
be out of date. :func:`plot_occupancy` draws occupancy over time from ``(t, occupied, total)``
samples. Both return the matplotlib ``Figure``, take ``ax=``, never touch pyplot or the backend;
matplotlib (the ``plot`` extra) is imported only when called.

Complexity: O(rows x statuses) artists.

>>> import importlib.util
>>> table = {"elm": {"free": 3, "occupied": 5, "cleaning": 1, "reserved": 1}}
>>> fig = plot_capacity(table) if importlib.util.find_spec("matplotlib") else None
>>> fig is None or fig.axes[0].get_xlabel() == "beds"
True
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from designpatterns_ref.capacity.base import STATUSES, CapacityError
from designpatterns_ref.errors import shown
from designpatterns_ref.figures import new_figure

__all__ = ["STATUS_COLOURS", "plot_capacity", "plot_occupancy", "tour_figures"]

MAX_BEDS = 10**7
STATUS_COLOURS = {"free": "#74c476", "occupied": "#6baed6", "cleaning": "#fdae6b",
                  "reserved": "#9e9ac8"}  # fmt: skip


def plot_capacity(
    table: Mapping[str, Mapping[str, int]], *, stale: Collection[str] = (), ax: Any = None
) -> Any:
    """Beds per status for each row of ``table`` (``{name: {status: beds}}``)."""
    if not isinstance(table, Mapping) or not table:
        raise CapacityError(f"table={shown(table)} must be a non-empty mapping name -> counts")
    if (
        isinstance(stale, str | bytes)
        or not isinstance(stale, Collection)
        or not all(isinstance(s, str) for s in stale)
    ):
        raise CapacityError(f"stale={shown(stale)} must be a collection of home names")
    names = list(table)
    for name in names:
        if not isinstance(name, str):
            raise CapacityError(f"row name {shown(name)} must be a string")
        row = table[name]
        if not isinstance(row, Mapping) or any(
            isinstance(row.get(s, 0), bool)
            or not isinstance(row.get(s, 0), int)
            or not 0 <= row.get(s, 0) <= MAX_BEDS
            for s in STATUSES
        ):  # fmt: skip
            raise CapacityError(
                f"row {shown(name)}={shown(row)} must map statuses to counts 0 to 10**7"
            )
    fig, ax = new_figure(ax, figsize=(7.0, 0.5 + 0.45 * len(names)))
    left = [0] * len(names)
    for status in STATUSES:
        widths = [int(table[n].get(status, 0)) for n in names]
        bars = ax.barh(names, widths, left=left, color=STATUS_COLOURS[status], label=status)
        for bar, name in zip(bars, names, strict=True):
            if name in stale:
                bar.set_hatch("//")
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("beds")
    ax.set_ylabel("home")
    title = "Beds per status"
    if stale:
        title += " (hatched: not reporting, may be out of date)"
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_occupancy(samples: Sequence[tuple[float, int, int]], *, ax: Any = None) -> Any:
    """Occupied beds as a share of all beds over time, from ``(t, occupied, total)``."""
    if not isinstance(samples, Sequence) or not samples:
        raise CapacityError(f"samples={shown(samples)} must be a non-empty list of (t, occ, total)")
    for s in samples:
        ok = (
            isinstance(s, tuple)
            and len(s) == 3
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in s)
        )
        if not ok or not (-1e12 <= s[0] <= 1e12 and 0 <= s[1] <= s[2] <= MAX_BEDS and s[2] > 0):
            raise CapacityError(
                f"sample={shown(s)} must be (t, occupied, total) with 0 <= occupied <= total, "
                "0 < total <= 10**7 and a finite t"
            )
    fig, ax = new_figure(ax)
    ax.plot([s[0] for s in samples], [100 * s[1] / s[2] for s in samples], drawstyle="steps-post")
    ax.set_xlabel("time (hours)")
    ax.set_ylabel("occupied (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Occupancy across the municipality")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    from designpatterns_ref.capacity._tour import demo_service

    svc, samples = demo_service()
    return {
        "capacity-homes": plot_capacity(svc.table("home"), stale=svc.stale_homes()),
        "capacity-occupancy": plot_occupancy(samples),
    }
