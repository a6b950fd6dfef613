"""Geohash driver index: drivers bucketed by cell, nearest found by rings of cells, exactly.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Each driver sits in the bucket of its geohash cell (precision 7 by default: 153 m tall, 153 m
wide at the equator, narrower towards the poles), so a location update is a few dictionary
operations, O(1), however many drivers there are; the bucket and the TTL table share one record
per driver, so an update builds a single tuple. A search starts in the rider's cell (with ring 1
in the same pass when k > 1) and scans rings of cells around it (ring r is every cell r steps
away; columns wrap across ±180°, rows stop at the poles), measuring every driver it meets with the
same haversine as the brute-force oracle.

The stopping rule is what makes the answer exact rather than approximate: after ring r the
searched cells form one latitude/longitude box, and no unsearched driver can be nearer than the
spherical distance from the rider to that box's boundary (its two parallels and its two bounding
meridians; see :func:`~designpatterns_ref.geo.sphere.box_distance_m`). The search stops only when
the k-th distance found is below that bound (shrunk by a rounding margin), so near a pole, across
the antimeridian or with the rider on a cell edge it returns exactly what brute force returns.
Once k drivers are in hand (or a radius caps the search), a ring skips the rows of cells whose
nearest parallel lies beyond the k-th distance (or the radius): no point is nearer than the Earth's
radius times its latitude difference. In a city that spares about a quarter of the cells.
A fixed 3x3 block of cells, the textbook shortcut, misses a nearer driver whenever the rider
stands near a cell edge. When the rings would visit more cells than are occupied (sparse data,
or a rider far from everyone) it finishes by measuring the drivers in the occupied cells it has
not yet searched, so no search ever walks an empty ocean cell by cell.

Trade-off: cells are rectangles in degrees, so near the poles they become thin slivers and
rings grow long; a city's traffic never sees that, and the fallback keeps it correct anyway.
Choose the precision so a cell holds a few drivers: denser cities want finer cells.

Complexity: O(1) per update; a search costs O(cells in the rings + drivers in them), about
O(k) cells for evenly spread drivers.

>>> from designpatterns_ref.clock import ManualClock
>>> index = GeohashIndex(clock=ManualClock())
>>> index.upsert("east", 0.0, 179.9995)
>>> index.upsert("west", 0.0, -179.9990)
>>> index.upsert("far", 0.0, 170.0)
>>> for m in index.nearest(0.0, 180.0, k=2):
...     print(m.driver_id, round(m.distance_m))
east 56
west 111
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from heapq import heappush
from math import cos, floor

from designpatterns_ref.errors import shown
from designpatterns_ref.geo._buckets import BucketIndex, measure
from designpatterns_ref.geo._live import LiveTable, check_query, check_reading
from designpatterns_ref.geo.base import (
    GeoError,
    GeoTypeError,
    Match,
    matches,
)
from designpatterns_ref.geo.geohash_codec import (
    _AXIS_BITS,
    _BITS,
    _code30,
    _quantize,
)
from designpatterns_ref.geo.sphere import EARTH_RADIUS_M, RAD, _edge_angle, _lower_bound_m

__all__ = ["GeohashIndex", "SearchTrace"]

_INF = math.inf
_REACH_ALL = math.pi * EARTH_RADIUS_M  # metres: no point of the sphere is farther


class SearchTrace:
    """What one search did: the matches, the cells it scanned (geohash codes), and its rings."""

    __slots__ = ("cells", "matches", "rings")

    def __init__(self, matches: list[Match], cells: list[str], rings: int) -> None:
        self.matches = matches
        self.cells = cells
        self.rings = rings

    def __repr__(self) -> str:
        return (
            f"SearchTrace(matches={len(self.matches)}, cells={len(self.cells)}, rings={self.rings})"
        )


class GeohashIndex(BucketIndex):
    """Drivers in geohash buckets; exact k-nearest by rings of cells (not thread-safe alone).

    ``precision`` (1 to 12 characters, default 7) sets the cell size; ``ttl`` seconds after its
    last fix on ``clock`` a driver is dropped (``None`` keeps drivers until removed).
    """

    __slots__ = (
        "_col_scale",
        "_cols",
        "_height",
        "_offsets",
        "_row_scale",
        "_rows",
        "_width",
        "_x_shift",
        "_y_shift",
        "precision",
    )

    def __init__(
        self,
        precision: int = 7,
        *,
        ttl: float | None = 60.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if type(precision) is not int:
            raise GeoTypeError(f"precision={shown(precision)} must be an int from 1 to 12")
        if not 1 <= precision <= 12:
            raise GeoError(f"precision={shown(precision)} is out of range: must be from 1 to 12")
        self.precision = precision
        lat_bits, lon_bits = _AXIS_BITS[precision]
        self._y_shift, self._x_shift = _BITS - lat_bits, _BITS - lon_bits
        self._rows, self._cols = 1 << lat_bits, 1 << lon_bits
        self._height, self._width = 180.0 / self._rows, 360.0 / self._cols
        self._row_scale, self._col_scale = self._rows / 180.0, self._cols / 360.0
        self._init_buckets(LiveTable(ttl=ttl, clock=clock))
        self._offsets: dict[int, list[int]] = {}  # ring r -> key offsets, away from the edges

    # -- updates -------------------------------------------------------------------------

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
        live = self._live
        if (
            type(driver_id) is not str
            or not driver_id
            or not driver_id.isascii()  # the slow path refuses lone surrogates
            or type(lat) is not float
            or not -90.0 <= lat <= 90.0
            or type(lon) is not float
            or not -180.0 <= lon < 180.0
            or (available is not None and available is not True and available is not False)
            or (at is not None and (type(at) is not float or not -_INF < at < _INF))
            or claim is not None
        ):  # the slow path validates (and raises, or normalises 180 and ints), and claims
            driver_id, lat, lon, available, at = live.check_fix(
                driver_id, lat, lon, available, at, claim
            )
        elif at is None:
            at = live.clock()
            if type(at) is not float or not -_INF < at < _INF:
                at = check_reading(at)
            if available is None:
                available = live.kept(driver_id, at)
            elif live.claims:
                live.claims.pop(driver_id, None)
        elif available is None:
            available = live.kept(driver_id, None)
        elif live.claims:
            live.claims.pop(driver_id, None)
        # The cell by one multiplication per axis. Unlike geohash.encode it does not correct the
        # last bit, so a driver within ~1e-13 degrees of an edge may land in the cell next door;
        # the search's bound keeps a 1 mm margin, far more than that, so answers stay exact.
        # floor, not int: the same integer for these non-negative values, and a plain builtin
        # call, where int(x) goes through the type's constructor (about 40% of the key's cost).
        row = floor((lat + 90.0) * self._row_scale)
        if row == self._rows:
            row -= 1  # latitude 90 belongs to the top row
        col = floor((lon + 180.0) * self._col_scale)
        if col == self._cols:
            col -= 1  # a longitude just below 180 may round up
        key = row * self._cols + col
        drivers = live.drivers
        old = drivers.get(driver_id)
        if old is not None and old[4] != key:  # the driver changed cells
            self._unlink(driver_id, old[4])
        # _place, inlined: Cells makes the bucket of a cell seen for the first time
        self._cells[key][driver_id] = drivers[driver_id] = (lat, lon, available, at, key)
        if live.ttl is not None:
            heappush(live.heap, (at, driver_id))
            if len(live.heap) > 2 * len(drivers) + 64:
                live.compact()

    @classmethod
    def from_drivers(
        cls,
        drivers: Iterable[tuple[str, float, float]],
        precision: int = 7,
        *,
        available: bool = True,
        at: float | None = None,
        ttl: float | None = 60.0,
        clock: Callable[[], float] | None = None,
    ) -> GeohashIndex:
        """A new index holding ``drivers`` (``(driver_id, lat, lon)`` rows), built by
        :meth:`bulk_load`.

        >>> from designpatterns_ref.clock import ManualClock
        >>> rows = [("a", 1.0, 2.0), ("b", 1.001, 2.0)]
        >>> index = GeohashIndex.from_drivers(rows, clock=ManualClock())
        >>> print(*(m.driver_id for m in index.nearest(1.0, 2.0, k=2)))
        a b
        """
        index = cls(precision, ttl=ttl, clock=clock)
        index.bulk_load(drivers, available=available, at=at)
        return index

    def _keys(self, lats: list[float], lons: list[float], top: tuple[float, float]) -> list[int]:
        rows, cols, rs, cs = self._rows, self._cols, self._row_scale, self._col_scale
        pairs = zip(lats, lons, strict=True)
        # Rows and columns as upsert computes them; they only grow with the coordinate, so
        # when the largest stays inside the grid, none needs upsert's clamp at 90 and 180.
        top_lat, top_lon = top
        if lats and (floor((top_lat + 90.0) * rs) >= rows or floor((top_lon + 180.0) * cs) >= cols):
            return [
                min(floor((lat + 90.0) * rs), rows - 1) * cols
                + min(floor((lon + 180.0) * cs), cols - 1)
                for lat, lon in pairs
            ]
        return [floor((lat + 90.0) * rs) * cols + floor((lon + 180.0) * cs) for lat, lon in pairs]

    # -- search --------------------------------------------------------------------------

    def _ring(self, row: int, col: int, r: int) -> list[int]:
        """Keys of the cells exactly ``r`` steps from (row, col), wrapping columns."""
        rows, cols = self._rows, self._cols
        if r == 0:
            return [row * cols + col]
        if r < row < rows - r and r <= col < cols - r:  # away from poles and the antimeridian
            offsets = self._offsets.get(r)
            if offsets is None:
                offsets = self._offsets[r] = [
                    dy * cols + dx
                    for dy in range(-r, r + 1)
                    for dx in range(-r, r + 1)
                    if max(abs(dy), abs(dx)) == r
                ]
            centre = row * cols + col
            return [centre + o for o in offsets]
        across = range(cols) if 2 * r + 1 >= cols else [(col + d) % cols for d in range(-r, r + 1)]
        keys = []
        for rr in (row - r, row + r):
            if 0 <= rr < rows:
                base = rr * cols
                keys += [base + c for c in across]
        if 2 * r - 1 < cols:  # the side columns are not yet all searched
            sides = {(col - r) % cols, (col + r) % cols}
            for rr in range(max(0, row - r + 1), min(rows, row + r)):
                base = rr * cols
                keys += [base + c for c in sides]
        return keys

    def _bound(self, lat: float, lon: float, row: int, col: int, r: int) -> float:
        """Distance (metres) from the rider to the boundary of the block of rings 0..r."""
        south = max(0, row - r) * self._height - 90.0
        north = (min(self._rows - 1, row + r) + 1) * self._height - 90.0
        d = math.inf
        if north < 90.0:
            d = (north - lat) * RAD
        if south > -90.0:
            d = min(d, (lat - south) * RAD)
        if 2 * r + 1 < self._cols:
            phi, lam, s, n = lat * RAD, lon * RAD, south * RAD, north * RAD
            west = ((col - r) * self._width - 180.0) * RAD
            east = ((col + r + 1) * self._width - 180.0) * RAD
            d = min(d, _edge_angle(phi, lam, west, s, n), _edge_angle(phi, lam, east, s, n))
        return d * EARTH_RADIUS_M

    def _ranked(
        self, lat: float, lon: float, k: int | None, limit: float, available_only: bool
    ) -> list[tuple[float, str]]:
        return self._search(lat, lon, k, limit, available_only)[0]

    def _search(
        self,
        lat: float,
        lon: float,
        k: int | None,
        limit: float,
        available_only: bool,
        trace: list[int] | None = None,
    ) -> tuple[list[tuple[float, str]], int]:
        """Sorted (distance, id): the k nearest within ``limit`` (all of them if k is None)."""
        self._expire()
        cells = self._cells
        p1, l1 = lat * RAD, lon * RAD
        c1 = cos(p1)
        y, x = _quantize(lat, lon)
        row, col = y >> self._y_shift, x >> self._x_shift
        found: list[tuple[float, str]] = []
        reach = limit  # no driver farther than reach can change the answer
        r = start = 1 if k is not None and k > 1 else 0  # one cell rarely holds k > 1 drivers
        while True:
            keys = self._ring(row, col, r)
            if r == start == 1:
                keys.append(row * self._cols + col)  # so the first pass scans the 3 x 3 block
            # Skip whole rows of cells beyond reach, as d >= R * |dlat|; a reach of half the
            # globe or more (a span of 180 degrees) skips none, so the rows are not computed
            # (beyond a float's range at fine precisions).
            if reach < _REACH_ALL:
                span = (reach + 1.0) / (EARTH_RADIUS_M * RAD)  # degrees, with a 1 m margin
                cols, scale = self._cols, self._row_scale  # rows as upsert computes them
                first = int((lat - span + 90.0) * scale) * cols
                last = (int((lat + span + 90.0) * scale) + 1) * cols
                keys = [key for key in keys if first <= key < last]
            if trace is not None:
                trace += keys
            found += measure(
                [b for key in keys if (b := cells.get(key))], p1, l1, c1, available_only
            )
            if k is None or len(found) >= k or limit < _INF:  # else no bound can stop us yet
                bound = _lower_bound_m(self._bound(lat, lon, row, col, r))
                if bound > limit or bound == _INF:
                    break  # nothing unsearched can be within the limit
                if k is not None and len(found) >= k:
                    found.sort()
                    if found[k - 1][0] < bound:
                        if limit == _INF:
                            return found[:k], r  # sorted already, and nothing to cut
                        break  # the k-th found is nearer than anything unsearched can be
                    reach = min(reach, found[k - 1][0])
            if 2 * r + 1 >= self._cols and row - r <= 0 and row + r >= self._rows - 1:
                break  # the rings have covered the whole world
            side = 2 * r + 3
            if side * min(side, self._cols) > 4 * len(cells) + 64:
                found += self._rest(p1, l1, c1, row, col, r, available_only, trace)
                break  # sparse: measure every remaining occupied cell instead of walking rings
            r += 1
        found = [f for f in found if f[0] <= limit]
        found.sort()
        return (found if k is None else found[:k]), r

    def _rest(
        self,
        p1: float,
        l1: float,
        c1: float,
        row: int,
        col: int,
        r: int,
        available_only: bool,
        trace: list[int] | None,
    ) -> list[tuple[float, str]]:
        """Distances to every driver in occupied cells outside the block of rings 0..r."""
        cols = self._cols
        outside = []
        for key, bucket in self._cells.items():
            k_row, k_col = divmod(key, cols)
            gap = abs(k_col - col)
            if abs(k_row - row) <= r and min(gap, cols - gap) <= r:
                continue  # already searched
            if trace is not None:
                trace.append(key)
            outside.append(bucket)
        return measure(outside, p1, l1, c1, available_only)

    def trace(
        self, lat: float, lon: float, k: int = 10, *, available_only: bool = True
    ) -> SearchTrace:
        """Run ``nearest`` and report the cells it scanned, for teaching and plotting."""
        lat, lon, kk, radius = check_query(lat, lon, k, None, available_only)
        keys: list[int] = []
        found, rings = self._search(lat, lon, kk, radius, available_only, keys)
        cols, p = self._cols, self.precision
        codes = [
            _code30((key // cols) << self._y_shift, (key % cols) << self._x_shift)[:p]
            for key in keys
        ]
        return SearchTrace(matches(found), codes, rings)

    def __repr__(self) -> str:
        return (
            f"GeohashIndex(precision={self.precision}, drivers={len(self)}, "
            f"cells={len(self._cells)}, ttl={self._live.ttl!r})"
        )
