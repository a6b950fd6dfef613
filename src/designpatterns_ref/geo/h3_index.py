"""H3 driver index: drivers bucketed by Uber's hexagons, nearest found best-first, exactly.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

H3 (Uber's grid, the ``h3`` package, imported only when an index is made) tiles the sphere with
hexagons (and 12 pentagons per resolution) projected from an icosahedron. Each driver sits in the
bucket of its cell (resolution 9 by default: hexagons of about 0.1 km², edges about 200 m), so an
update is one ``latlng_to_cell`` call and a few dictionary operations, O(1).

A search is best-first over cells (Hjaltason and Samet's distance browsing): a heap holds cells
keyed by a lower bound on the distance from the rider to any point of the cell; the nearest cell
is popped, its drivers measured with the same haversine as the brute-force oracle, and its six
neighbours pushed. It stops when the next bound exceeds the k-th distance found (or the radius),
so the answer is exact. A cell is first pushed with a cheap bound, the distance to its centre less
its circumradius (triangle inequality); when it reaches the top of the heap its exact bound, the
distance from the rider to its boundary, replaces it. The boundary is made of great-circle arcs
(H3 draws straight hexagon edges on a gnomonic projection of each icosahedron face, and the
gnomonic projection maps straight lines to great circles; a cell crossing a face edge gets an
extra vertex there), so the distance to an arc is exact: the foot of the perpendicular when it
falls on the arc, else the nearer end. Bounds are shrunk by a centimetre, far more than the
floating-point disagreement between H3's cell assignment and the drawn boundary. Any point
outside the cells searched so far is reached through a chain of adjacent cells each no farther
than it, so no nearer driver can be missed: at the poles (a cell covers each pole), across the
antimeridian (3-D vectors have no seam) and by the pentagons alike. A cell's geometry comes from
two calls into h3 the first time a search meets it and is cached; when a search has popped more
cells than measuring every driver would cost (a rider far from everyone), it measures the drivers
of the occupied cells it has not searched instead, as the geohash index does.

Trade-off against :class:`~designpatterns_ref.geo.geohash_index.GeohashIndex`: hexagons have
nearly equal area everywhere and all six neighbours at the same distance, so a ring of cells is a
good circle at any latitude and nothing degenerates at the poles; but cell ids are 64-bit integers
whose numeric order is not spatial, so a database cannot range-scan "cells near here" as it does
geohash prefixes, every cell needs the C library, and each call into it costs about a
microsecond, more than a geohash step in pure Python.

Complexity: O(1) per update; a search pops O(cells within the k-th distance) cells, each
O(log cells pushed), plus their drivers.

>>> from designpatterns_ref.clock import ManualClock
>>> index = H3Index(clock=ManualClock())
>>> index.upsert("east", 0.0, 179.9995)
>>> index.upsert("west", 0.0, -179.9990)
>>> index.upsert("pole", 90.0, 0.0)
>>> for m in index.nearest(0.0, 180.0, k=2):
...     print(m.driver_id, round(m.distance_m))
east 56
west 111
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from heapq import heappop, heappush
from itertools import repeat
from math import asin, cos, sin, sqrt
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.geo._buckets import BucketIndex, measure
from designpatterns_ref.geo._live import LiveTable
from designpatterns_ref.geo.base import GeoError, GeoTypeError
from designpatterns_ref.geo.sphere import EARTH_RADIUS_M, RAD, _lower_bound_m

__all__ = ["H3Index", "h3_module"]

_INF = math.inf
_MARGIN_M = 0.01  # H3's cell assignment and its drawn boundary agree far closer than this
_CACHE = 200_000  # cells whose geometry is kept; the cache starts afresh beyond that

Vector = tuple[float, float, float]
# An arc from a to b, flat: a, b, the unit normal n of their great circle, then n x a and b x n.
Edge = tuple[
    float, float, float, float, float, float, float, float, float,
    float, float, float, float, float, float,
]  # fmt: skip


def h3_module() -> Any:
    """The ``h3`` package's integer API, imported on first use (the ``geo`` extra installs it)."""
    try:
        import h3.api.basic_int as h3
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        raise GeoError("H3 needs the h3 package: pip install 'designpatterns-ref[geo]'") from exc
    return h3


def unit(lat: float, lon: float) -> Vector:
    """The unit vector of a latitude/longitude in degrees."""
    p, lam = lat * RAD, lon * RAD
    c = cos(p)
    return c * cos(lam), c * sin(lam), sin(p)


def _cross(a: Vector, b: Vector) -> Vector:
    return a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]


def angle(a: Vector, b: Vector) -> float:
    """The angle between two unit vectors, from their chord (accurate at small angles)."""
    chord = sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2)
    return 2.0 * asin(min(1.0, chord * 0.5))


def make_edge(a: Vector, b: Vector) -> Edge | None:
    """The arc from ``a`` to ``b`` with what :func:`edge_angle` needs; None if they coincide."""
    n = _cross(a, b)
    norm = sqrt(n[0] ** 2 + n[1] ** 2 + n[2] ** 2)
    if norm == 0.0:
        return None
    n = (n[0] / norm, n[1] / norm, n[2] / norm)
    return (*a, *b, *n, *_cross(n, a), *_cross(b, n))


def edge_angle(p: Vector, edge: Edge) -> float:
    """The angle from ``p`` to the nearest point of a great-circle arc shorter than a half turn.

    Along the arc's great circle, ``cos(distance)`` is ``A cos(t - t0)``: the nearest point is
    the foot of the perpendicular ``t0`` when it falls on the arc (``p`` lies on the inner side
    of the planes through each end at right angles to the arc), else the nearer end. The
    readable form; :meth:`_Cell.bound` inlines it.
    """
    a, b, n, ta, tb = edge[0:3], edge[3:6], edge[6:9], edge[9:12], edge[12:15]

    def dot(u: tuple[float, ...], v: tuple[float, ...]) -> float:
        return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]

    if dot(p, ta) >= 0.0 and dot(p, tb) >= 0.0:
        return asin(min(1.0, abs(dot(p, n))))
    return min(angle(p, (a[0], a[1], a[2])), angle(p, (b[0], b[1], b[2])))


class _Cell:
    """What a search needs of one cell, computed once: its centre and circumradius when first
    pushed, its edges when first popped (for the exact bound), its neighbours when searched."""

    __slots__ = ("circumradius", "corners", "cx", "cy", "cz", "edges", "neighbours")

    def __init__(self, h3: Any, cell: int) -> None:
        self.neighbours: list[int] | None = None
        self.edges: list[Edge] | None = None
        centre = unit(*h3.cell_to_latlng(cell))
        self.cx, self.cy, self.cz = centre
        self.corners = [unit(lat, lon) for lat, lon in h3.cell_to_boundary(cell)]
        # The farthest point of a cell from its centre is a corner: along each arc the distance
        # from a point is largest at an end.
        self.circumradius = max(angle(centre, c) for c in self.corners)

    def arcs(self) -> list[Edge]:
        """The cell's boundary, corner to corner, as :func:`make_edge` arcs (made once)."""
        if self.edges is None:
            corners = self.corners
            pairs = zip(corners, corners[1:] + corners[:1], strict=True)
            self.edges = [e for a, b in pairs if (e := make_edge(a, b)) is not None]
        return self.edges

    def bound(self, px: float, py: float, pz: float) -> float:
        """A lower bound (radians) on the angle from ``p`` to any point of the cell, for ``p``
        outside it: the distance to its boundary, the least :func:`edge_angle` (inlined)."""
        best = 4.0
        for ax, ay, az, bx, by, bz, nx, ny, nz, tax, tay, taz, tbx, tby, tbz in self.arcs():
            if px * tax + py * tay + pz * taz >= 0.0 and px * tbx + py * tby + pz * tbz >= 0.0:
                s = px * nx + py * ny + pz * nz
                d = asin(min(1.0, s if s >= 0.0 else -s))
            else:
                chord = min(
                    (px - ax) ** 2 + (py - ay) ** 2 + (pz - az) ** 2,
                    (px - bx) ** 2 + (py - by) ** 2 + (pz - bz) ** 2,
                )
                d = 2.0 * asin(min(1.0, sqrt(chord) * 0.5))
            if d < best:
                best = d
        return best

    def cheap_bound(self, px: float, py: float, pz: float) -> float:
        """A looser lower bound: the distance to the centre less the circumradius."""
        chord = sqrt((px - self.cx) ** 2 + (py - self.cy) ** 2 + (pz - self.cz) ** 2)
        return 2.0 * asin(min(1.0, chord * 0.5)) - self.circumradius


def _metres(angle_rad: float) -> float:
    """A bound in radians as metres, shrunk by the rounding margins (never above the truth)."""
    return _lower_bound_m(max(0.0, angle_rad) * EARTH_RADIUS_M) - _MARGIN_M


class H3Index(BucketIndex):
    """Drivers in H3 cells; exact k-nearest by best-first search over cells (not thread-safe).

    ``resolution`` (0 to 15, default 9) sets the cell size; ``ttl`` seconds after its last fix on
    ``clock`` a driver is dropped (``None`` keeps drivers until removed). Needs the ``h3``
    package (the ``geo`` extra), imported when the first index is made.
    """

    __slots__ = ("_geo", "_h3", "_to_cell", "resolution")

    def __init__(
        self,
        resolution: int = 9,
        *,
        ttl: float | None = 60.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if type(resolution) is not int:
            raise GeoTypeError(f"resolution={shown(resolution)} must be an int from 0 to 15")
        if not 0 <= resolution <= 15:
            raise GeoError(f"resolution={shown(resolution)} is out of range: must be from 0 to 15")
        self._init_buckets(LiveTable(ttl=ttl, clock=clock))
        self.resolution = resolution
        self._h3 = h3_module()
        self._to_cell: Callable[[float, float, int], int] = self._h3.latlng_to_cell
        self._geo: dict[int, _Cell] = {}

    @classmethod
    def from_drivers(
        cls,
        drivers: Iterable[tuple[str, float, float]],
        resolution: int = 9,
        *,
        available: bool = True,
        at: float | None = None,
        ttl: float | None = 60.0,
        clock: Callable[[], float] | None = None,
    ) -> H3Index:
        """A new index holding ``drivers`` (``(driver_id, lat, lon)`` rows), built by
        :meth:`bulk_load`."""
        index = cls(resolution, ttl=ttl, clock=clock)
        index.bulk_load(drivers, available=available, at=at)
        return index

    def upsert(
        self,
        driver_id: str,
        lat: float,
        lon: float,
        *,
        available: bool | None = None,
        at: float | None = None,
        claim: str | None = None,
    ) -> None:
        """Add a driver or move it, in O(1); ``at`` is the time of the fix (default: now).

        ``available`` None (the default) keeps a live driver's flag, so a location update never
        frees a busy driver; a new (or stale) driver comes in available. With ``claim`` (a
        token), a driver that would come out free comes out busy under that claim instead (see
        :class:`~designpatterns_ref.geo.base.DriverIndex`).
        """
        driver_id, lat, lon, available, at = self._live.check_fix(
            driver_id, lat, lon, available, at, claim
        )
        key = self._to_cell(lat, lon, self.resolution)
        self._place(driver_id, (lat, lon, available, at, key))

    def _keys(self, lats: list[float], lons: list[float], top: tuple[float, float]) -> list[int]:
        to_cell, res = self._to_cell, self.resolution
        return list(map(to_cell, lats, lons, repeat(res)))

    def cell(self, driver_id: str) -> str | None:
        """The H3 cell (hex string) a driver sits in, or None if unknown or stale.

        >>> from designpatterns_ref.clock import ManualClock
        >>> index = H3Index(clock=ManualClock())
        >>> index.upsert("a", 37.7752, -122.4186)
        >>> index.cell("a")
        '8928308280fffff'
        """
        if self.get(driver_id) is None:
            return None
        return str(self._h3.int_to_str(self._live.drivers[driver_id][4]))

    def _geometry(self, cell: int) -> _Cell:
        geo = self._geo.get(cell)
        if geo is None:
            if len(self._geo) >= _CACHE:
                self._geo.clear()
            geo = self._geo[cell] = _Cell(self._h3, cell)
        return geo

    def _ranked(
        self, lat: float, lon: float, k: int | None, limit: float, available_only: bool
    ) -> list[tuple[float, str]]:
        """Sorted (distance, id): the k nearest within ``limit`` (all of them if k is None)."""
        self._expire()
        cells = self._cells
        if not cells:
            return []
        p1, l1 = lat * RAD, lon * RAD
        c1 = cos(p1)
        px, py, pz = unit(lat, lon)
        origin = self._to_cell(lat, lon, self.resolution)
        heap: list[tuple[float, int, bool]] = [(-1.0, origin, True)]
        seen = {origin}
        done: set[int] = set()
        found: list[tuple[float, str]] = []
        reach = limit  # no driver farther than reach can change the answer
        # Popping a cell the first time costs calls into h3 (its boundary, its neighbours), as
        # much as measuring a few dozen drivers: past this many cells, measure the rest instead.
        budget = len(self._live.drivers) // 32 + 64
        while heap:
            bound, cell, exact = heappop(heap)
            if bound > reach:
                break  # every unsearched point is farther than reach
            geo = self._geometry(cell)
            if not exact:
                tight = _metres(geo.bound(px, py, pz))
                if tight > bound:
                    heappush(heap, (tight, cell, True))
                    continue
            done.add(cell)
            bucket = cells.get(cell)
            if bucket is not None:
                found += measure([bucket], p1, l1, c1, available_only)
                if k is not None and len(found) >= k:
                    found.sort()
                    del found[k:]
                    reach = min(reach, found[-1][0])
            around = geo.neighbours
            if around is None:
                around = geo.neighbours = [c for c in self._h3.grid_disk(cell, 1) if c != cell]
            for near in around:
                if near not in seen:
                    seen.add(near)
                    first = _metres(self._geometry(near).cheap_bound(px, py, pz))
                    heappush(heap, (first, near, False))
            if len(done) > budget:  # sparse: measure the other occupied cells instead
                rest = [b for key, b in cells.items() if key not in done]
                found += measure(rest, p1, l1, c1, available_only)
                break
        found = [f for f in found if f[0] <= limit]
        found.sort()
        return found if k is None else found[:k]

    def __repr__(self) -> str:
        return (
            f"H3Index(resolution={self.resolution}, drivers={len(self)}, "
            f"cells={len(self._cells)}, ttl={self._live.ttl!r})"
        )
