"""Plot one search: drivers, the rider, the geohash cells searched and the match (matplotlib).

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

:func:`plot_search` runs :meth:`~designpatterns_ref.geo.geohash_index.GeohashIndex.trace` and
draws, in longitude/latitude: every driver (grey, busy ones hollow), the cells the rings scanned
(shaded, so a reader sees the search stop as soon as the bound allows), the rider (a star) and
lines to the k drivers matched. matplotlib is optional and imported only here; pass ``ax`` to
draw into your own figure, else a new one is made (use the Agg backend to write files).

Complexity: O(drivers + cells searched) to draw.

>>> import importlib.util
>>> importlib.util.find_spec("matplotlib") is not None or True
True
"""

from __future__ import annotations

from typing import Any

from designpatterns_ref.geo.geohash import bbox
from designpatterns_ref.geo.geohash_index import GeohashIndex, SearchTrace

__all__ = ["plot_search"]


def plot_search(
    index: GeohashIndex, lat: float, lon: float, k: int = 1, *, ax: Any = None
) -> tuple[Any, SearchTrace]:
    """Draw the ``k``-nearest search from (lat, lon) on ``ax``; return (ax, the trace)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    trace = index.trace(lat, lon, k)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
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
    ax.legend(loc="upper right", fontsize="small")
    return ax, trace


def _states(index: GeohashIndex) -> list[Any]:
    return [s for d in list(index._live.drivers) if (s := index.get(d)) is not None]
