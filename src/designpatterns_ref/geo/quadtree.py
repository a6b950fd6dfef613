"""Quadtree driver index: a tree of latitude/longitude boxes that splits and merges as drivers move.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

The world box [-90, 90] x [-180, 180] is a leaf holding up to ``capacity`` drivers; when one more
arrives it splits into four quadrants at its centre, and when a subtree falls to ``capacity // 2``
drivers or fewer it merges back into one leaf. Dense downtowns get deep, small boxes and empty
oceans stay one big box, which is the quadtree's advantage over fixed geohash cells: the
structure adapts to the data. The price is that a move is a descent, O(depth), not O(1), and
splits and merges reshape the tree under a moving fleet.

The k-nearest search is best-first (Hjaltason and Samet): a priority queue of boxes keyed by
their spherical distance from the rider (:func:`~designpatterns_ref.geo.sphere.box_distance_m`,
exact near the poles and across ±180°), popping the nearest box, measuring the drivers of a leaf
or pushing the children of an inner node, and stopping when the nearest box left is farther than
the k-th driver found. Boxes never straddle the antimeridian; the distance does the wrapping.

Complexity: O(depth) per update (depth about log4 n for spread-out drivers); a search visits
O(log n + k) boxes for evenly spread drivers.

>>> from designpatterns_ref.clock import ManualClock
>>> index = QuadTreeIndex(capacity=2, clock=ManualClock())
>>> for i, lon in enumerate([10.0, 10.1, 10.2, 10.3]):
...     index.upsert(f"d{i}", 50.0, lon)
>>> print(*(m.driver_id for m in index.nearest(50.0, 10.24, k=2)))
d2 d3
>>> index.depth() > 1
True
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from math import asin, cos, sin, sqrt

from designpatterns_ref.errors import shown
from designpatterns_ref.geo._live import LiveIndex, LiveTable
from designpatterns_ref.geo.base import (
    GeoError,
    GeoTypeError,
    check_driver_id,
)
from designpatterns_ref.geo.sphere import EARTH_RADIUS_M, RAD, _box_distance_m, _lower_bound_m

__all__ = ["QuadTreeIndex"]

_D = 2.0 * EARTH_RADIUS_M
_MAX_DEPTH = 48  # boxes below this are smaller than a float can split; they just hold more


class _Node:
    __slots__ = ("children", "count", "east", "north", "points", "south", "west")

    def __init__(self, south: float, west: float, north: float, east: float) -> None:
        self.south, self.west, self.north, self.east = south, west, north, east
        self.points: dict[str, tuple[float, float, float, float, float, bool]] | None = {}
        self.children: list[_Node] | None = None
        self.count = 0

    def child_for(self, lat: float, lon: float) -> _Node:
        assert self.children is not None
        mid_lat = (self.south + self.north) * 0.5
        mid_lon = (self.west + self.east) * 0.5
        return self.children[(2 if lat >= mid_lat else 0) + (1 if lon >= mid_lon else 0)]


class QuadTreeIndex(LiveIndex):
    """A point-region quadtree of drivers with exact best-first k-nearest (not thread-safe alone).

    A leaf splits above ``capacity`` drivers and a subtree merges at ``capacity // 2`` or fewer.
    """

    def __init__(
        self,
        capacity: int = 16,
        *,
        ttl: float | None = 60.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise GeoTypeError(f"capacity={shown(capacity)} must be an int of at least 2")
        if capacity < 2:
            raise GeoError(f"capacity={shown(capacity)} must be at least 2")
        self.capacity = capacity
        self._live = LiveTable(ttl=ttl, clock=clock)
        self._root = _Node(-90.0, -180.0, 90.0, 180.0)

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
        """Add a driver or move it; ``at`` is the time of the fix (default: now).

        ``available`` None (the default) keeps a live driver's flag, so a location update never
        frees a busy driver; a new (or stale) driver comes in available. With ``claim`` (a
        token), a driver that would come out free comes out busy under that claim instead (see
        :class:`~designpatterns_ref.geo.base.DriverIndex`).
        """
        live = self._live
        driver_id, lat, lon, available, at = live.check_fix(
            driver_id, lat, lon, available, at, claim
        )
        if driver_id in live.drivers:
            self._delete(driver_id)
        self._insert(driver_id, lat, lon, available)
        live.note(driver_id, lat, lon, available, at)

    def _insert(self, driver_id: str, lat: float, lon: float, available: bool) -> None:
        phi = lat * RAD
        entry = (phi, lon * RAD, cos(phi), lat, lon, available)
        node, depth = self._root, 0
        while True:
            node.count += 1
            if node.points is None:
                node = node.child_for(lat, lon)
                depth += 1
                continue
            node.points[driver_id] = entry
            if len(node.points) > self.capacity and depth < _MAX_DEPTH:
                self._split(node, depth)
            return

    def _split(self, node: _Node, depth: int) -> None:
        s, w, n, e = node.south, node.west, node.north, node.east
        mid_lat, mid_lon = (s + n) * 0.5, (w + e) * 0.5
        node.children = [
            _Node(s, w, mid_lat, mid_lon),
            _Node(s, mid_lon, mid_lat, e),
            _Node(mid_lat, w, n, mid_lon),
            _Node(mid_lat, mid_lon, n, e),
        ]
        points, node.points = node.points, None
        assert points is not None
        for driver_id, entry in points.items():
            child = node.child_for(entry[3], entry[4])
            assert child.points is not None
            child.points[driver_id] = entry
            child.count += 1
        for child in node.children:  # all drivers in one quadrant: keep splitting
            if len(child.points or ()) > self.capacity and depth + 1 < _MAX_DEPTH:
                self._split(child, depth + 1)

    def _delete(self, driver_id: str) -> None:
        lat, lon = self._live.drivers[driver_id][:2]
        node = self._root
        path = []
        while node.points is None:
            path.append(node)
            node = node.child_for(lat, lon)
        del node.points[driver_id]
        node.count -= 1
        for parent in path:
            parent.count -= 1
        for parent in path:  # merge the highest subtree that has become small enough
            if parent.count <= self.capacity // 2:
                parent.points = dict(_collect(parent))
                parent.children = None
                break

    def remove(self, driver_id: str) -> bool:
        """Forget a driver; True if it was there."""
        driver_id = check_driver_id(driver_id)
        self._expire()
        if driver_id not in self._live.drivers:
            return False
        self._delete(driver_id)
        del self._live.drivers[driver_id]
        self._live.claims.pop(driver_id, None)
        return True

    def set_available(self, driver_id: str, available: bool) -> None:
        """Mark a known driver free or busy without moving it.

        Raises :class:`~designpatterns_ref.geo.base.DriverNotFound` (a ``KeyError``) if unknown.
        """
        if available is not True and available is not False:
            raise GeoTypeError(f"available={shown(available)} must be True or False")
        lat, lon, _, at, cell = self._live.record(check_driver_id(driver_id))
        self._live.drivers[driver_id] = (lat, lon, available, at, cell)
        self._live.claims.pop(driver_id, None)
        node = self._root
        while node.points is None:
            node = node.child_for(lat, lon)
        node.points[driver_id] = (*node.points[driver_id][:5], available)

    def _expire(self) -> None:
        self._live.stale(self._delete)

    def depth(self) -> int:
        """The depth of the tree (1 for a single leaf)."""

        def walk(node: _Node) -> int:
            if node.children is None:
                return 1
            return 1 + max(walk(c) for c in node.children)

        return walk(self._root)

    # -- search --------------------------------------------------------------------------

    def _ranked(
        self, lat: float, lon: float, k: int | None, limit: float, available_only: bool
    ) -> list[tuple[float, str]]:
        self._expire()
        p1, l1 = lat * RAD, lon * RAD
        c1 = cos(p1)
        best: list[tuple[float, str]] = []  # sorted, at most k long
        queue: list[tuple[float, int, _Node]] = [(0.0, 0, self._root)]
        tie = 1
        while queue:
            bound, _, node = heapq.heappop(queue)
            if bound > limit or (k is not None and len(best) >= k and bound > best[k - 1][0]):
                break  # every box left is farther than what we have
            if node.points is not None:
                for driver_id, (p, lam, c, _, _, a) in node.points.items():
                    if a or not available_only:
                        # The haversine of sphere.haversine_m, same expression, bit for bit.
                        h = sin((p - p1) * 0.5) ** 2 + c1 * c * sin((lam - l1) * 0.5) ** 2
                        d = _D * asin(sqrt(h if h < 1.0 else 1.0))
                        if d <= limit:
                            best.append((d, driver_id))
                best.sort()
                if k is not None:
                    del best[k:]
                continue
            assert node.children is not None
            for child in node.children:
                if child.count:
                    d = _box_distance_m(lat, lon, child.south, child.west, child.north, child.east)
                    heapq.heappush(queue, (_lower_bound_m(d), tie, child))
                    tie += 1
        return best

    def __repr__(self) -> str:
        return f"QuadTreeIndex(capacity={self.capacity}, drivers={len(self)}, depth={self.depth()})"


def _collect(node: _Node) -> list[tuple[str, tuple[float, float, float, float, float, bool]]]:
    if node.points is not None:
        return list(node.points.items())
    assert node.children is not None
    out = []
    for child in node.children:
        out += _collect(child)
    return out
