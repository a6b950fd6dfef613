"""Plot one search: drivers, the rider, the geohash cells searched and the match (matplotlib).

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

:func:`plot_search` runs :meth:`~designpatterns_ref.geo.geohash_index.GeohashIndex.trace` and
draws, in longitude/latitude: every driver (grey, busy ones hollow), the cells the rings scanned
(shaded, so a reader sees the search stop as soon as the bound allows), the rider (a star) and
lines to the k drivers matched. It returns the matplotlib ``Figure`` (inline in a notebook;
``dp.show(fig, name)`` saves it from a script) without touching pyplot or the backend; pass
``ax=`` to draw into your own figure. matplotlib (the ``plot`` extra) is imported only here.

Complexity: O(drivers + cells searched) to draw.

>>> import importlib.util
>>> from designpatterns_ref.clock import ManualClock
>>> index = GeohashIndex(clock=ManualClock())
>>> index.upsert("d1", 48.8584, 2.2945)
>>> fig = plot_search(index, 48.86, 2.30) if importlib.util.find_spec("matplotlib") else None
>>> fig is None or fig.axes[0].get_xlabel() == "longitude"
True
"""

from __future__ import annotations

import math
from typing import Any

from designpatterns_ref.geo.geohash import bbox
from designpatterns_ref.geo.geohash_index import GeohashIndex, SearchTrace

__all__ = ["plot_search", "tour_figures"]


def plot_search(index: GeohashIndex, lat: float, lon: float, k: int = 1, *, ax: Any = None) -> Any:
    """Draw the ``k``-nearest search from (lat, lon); return the Figure.

    The search itself is ``index.trace(lat, lon, k)`` (a :class:`SearchTrace`), which the
    title summarises; call it to get the numbers. Bad arguments raise what ``trace`` raises.
    """
    from matplotlib.patches import Rectangle

    from designpatterns_ref.figures import new_figure

    trace: SearchTrace = index.trace(lat, lon, k)
    fig, ax = new_figure(ax, figsize=(6.0, 6.0))
    for code in trace.cells:
        south, west, north, east = bbox(code)
        ax.add_patch(
            Rectangle((west, south), east - west, north - south, alpha=0.15, color="tab:blue")
        )
    free = [(s.lon, s.lat) for s in _states(index) if s.available]
    busy = [(s.lon, s.lat) for s in _states(index) if not s.available]
    if free:
        ax.scatter(*zip(*free, strict=True), s=8, color="0.4", label="free driver")
    if busy:
        ax.scatter(*zip(*busy, strict=True), s=8, facecolors="none", edgecolors="0.4", label="busy")
    for match in trace.matches:
        state = index.get(match.driver_id)
        if state is not None:
            ax.plot([lon, state.lon], [lat, state.lat], color="tab:red", linewidth=1)
    ax.scatter([lon], [lat], marker="*", s=200, color="tab:red", label="rider", zorder=3)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(
        f"{len(trace.matches)} nearest, {len(trace.cells)} cells in {trace.rings + 1} rings"
    )
    ax.set_aspect(1 / max(0.1, math.cos(math.radians(lat))))  # equal metres both ways
    ax.legend(loc="upper right", fontsize="small")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    import random

    from designpatterns_ref.clock import ManualClock

    rng = random.Random(7)
    lat, lon = 40.7580, -73.9855
    index = GeohashIndex(clock=ManualClock())
    for i in range(300):
        index.upsert(f"d{i}", lat + rng.uniform(-0.01, 0.01), lon + rng.uniform(-0.013, 0.013))
    return {"search": plot_search(index, lat, lon, k=5)}


def _states(index: GeohashIndex) -> list[Any]:
    return [s for d in list(index._live.drivers) if (s := index.get(d)) is not None]
