"""What the cell-bucket indexes share: drivers grouped by cell key, moves, removal, bulk loads.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

:class:`~designpatterns_ref.geo.geohash_index.GeohashIndex` (rectangular geohash cells) and
:class:`~designpatterns_ref.geo.h3_index.H3Index` (H3 hexagons) keep their drivers the same way:
a dictionary from an integer cell key to a bucket of that cell's drivers, and a dictionary from
each driver to its bucket. They differ only in how a position becomes a cell key and in how a
search walks outward from the rider's cell, so the bookkeeping lives here once.

A bulk load (:meth:`BucketIndex.bulk_load`) is the same as one upsert per driver, but in a few
passes: the batch is checked as a whole (C-level ``map``/``min``/``max`` over columns, not a check
per call), the cell keys come from one comprehension, the buckets are filled in one loop and the
driver table and the TTL heap are built in bulk (one ``heapify``, not a push per driver).

Complexity: O(1) per move; O(n) for a bulk load of n drivers.

>>> from designpatterns_ref.clock import ManualClock
>>> from designpatterns_ref.geo.geohash_index import GeohashIndex
>>> index = GeohashIndex(clock=ManualClock())
>>> index.bulk_load([("a", 1.0, 2.0), ("b", 1.0, 2.0), ("a", 1.5, 2.0)])
>>> len(index), index.get("a").lat
(2, 1.5)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from itertools import repeat
from math import asin, cos, sin, sqrt

from designpatterns_ref.geo._live import LiveIndex, LiveTable
from designpatterns_ref.geo.base import GeoTypeError, check_driver_id
from designpatterns_ref.geo.sphere import EARTH_RADIUS_M, RAD

__all__ = ["Bucket", "BucketIndex", "Cells", "measure"]

_D = 2.0 * EARTH_RADIUS_M
_INF = math.inf


class Bucket(dict[str, tuple[float, float, bool, float]]):
    """One cell's drivers: id -> (lat, lon, available, at), the very record the live table holds.

    Sharing that record means an update builds one tuple, not two. A bucket knows its own cell
    key, so the driver -> bucket map answers "is this driver still in the same cell?" without a
    second lookup in the cell table on every update.
    """

    __slots__ = ("key",)
    key: int  # set right after creation: an __init__ would cost a Python call per cell


class Cells(dict[int, Bucket]):
    """Cell key -> bucket; reading a missing key with ``cells[key]`` makes its empty bucket.

    The bulk load reads every driver's bucket with one ``map(cells.__getitem__, keys)``, so a
    cell seen for the first time gets its bucket there, with no separate pass to find new cells.
    ``get`` stays a plain read (the searches use it and never create anything).
    """

    __slots__ = ()

    def __missing__(self, key: int) -> Bucket:
        bucket = self[key] = Bucket()
        bucket.key = key
        return bucket


def measure(
    buckets: list[Bucket], p1: float, l1: float, c1: float, available_only: bool
) -> list[tuple[float, str]]:
    """(distance, id) for the drivers of some buckets, measured from (p1, l1) in radians.

    The haversine of :func:`~designpatterns_ref.geo.sphere.haversine_m`, inlined with the
    rider's radians and cosine computed once; it must stay the very same expression, so every
    index agrees with brute force bit for bit. One comprehension per batch of cells.
    """
    return [
        (
            _D
            * asin(
                sqrt(
                    h
                    if (
                        h := sin((lat * RAD - p1) * 0.5) ** 2
                        + c1 * cos(lat * RAD) * sin((lon * RAD - l1) * 0.5) ** 2
                    )
                    < 1.0
                    else 1.0
                )
            ),
            i,
        )
        for bucket in buckets
        for i, (lat, lon, available, _) in bucket.items()
        if available or not available_only
    ]


class BucketIndex(LiveIndex):
    """Drivers in buckets by integer cell key; a subclass says how a position becomes a key
    (``_keys``) and how a search walks the cells (``_ranked``)."""

    __slots__ = ("_bucket_of", "_cells", "_live")

    def _init_buckets(self, live: LiveTable) -> None:
        self._live = live
        self._cells = Cells()
        self._bucket_of: dict[str, Bucket] = {}  # driver id -> the bucket it sits in

    def _keys(self, lats: list[float], lons: list[float]) -> list[int]:
        """The cell key of each (validated) position, exactly as an upsert computes it."""
        raise NotImplementedError

    def _place(self, driver_id: str, key: int, record: tuple[float, float, bool, float]) -> None:
        """Store a validated fix in the bucket of cell ``key`` and in the live table."""
        live = self._live
        bucket_of = self._bucket_of
        bucket = bucket_of.get(driver_id)
        if bucket is None or bucket.key != key:  # a new driver, or one that changed cells
            if bucket is not None:
                self._unlink(driver_id, bucket)
            bucket = self._cells.get(key)
            if bucket is None:
                bucket = self._cells[key] = Bucket()
                bucket.key = key
            bucket_of[driver_id] = bucket
        bucket[driver_id] = live.drivers[driver_id] = record
        live.push(record[3], driver_id)

    def _unlink(self, driver_id: str, bucket: Bucket) -> None:
        del bucket[driver_id]
        if not bucket:
            del self._cells[bucket.key]

    def bulk_load(
        self,
        drivers: Iterable[tuple[str, float, float]],
        *,
        available: bool = True,
        at: float | None = None,
    ) -> None:
        """Add or move many drivers at once, as ``upsert`` of each ``(driver_id, lat, lon)`` in
        turn would (a repeated id keeps its last row), in a few passes without per-driver
        bookkeeping. The whole batch is checked first: a bad row raises
        :class:`~designpatterns_ref.geo.base.GeoError` naming it, and nothing is stored.
        """
        live = self._live
        ids, lats, lons, available, at = live.check_batch(drivers, available, at)
        keys = self._keys(lats, lons)
        cells, bucket_of = self._cells, self._bucket_of
        if bucket_of:  # drivers already here leave their old bucket first
            for driver_id in bucket_of.keys() & set(ids):
                self._unlink(driver_id, bucket_of.pop(driver_id))
        # Every step below is one C-level pass (map, zip, dict.update): no Python-level loop
        # runs per driver. Reading the buckets makes those of new cells (Cells.__missing__).
        records = list(zip(lats, lons, repeat(available), repeat(at), strict=False))
        buckets = list(map(cells.__getitem__, keys))
        deque(map(dict.__setitem__, buckets, ids, records), maxlen=0)
        bucket_of.update(zip(ids, buckets, strict=True))
        live.drivers.update(zip(ids, records, strict=True))
        live.push_batch(at, ids)

    def remove(self, driver_id: str) -> bool:
        """Forget a driver; True if it was there."""
        bucket = self._bucket_of.pop(check_driver_id(driver_id), None)
        if bucket is None:
            return False
        self._unlink(driver_id, bucket)
        del self._live.drivers[driver_id]
        return True

    def set_available(self, driver_id: str, available: bool) -> None:
        """Mark a known driver free or busy without moving it.

        Raises :class:`~designpatterns_ref.geo.base.DriverNotFound` (a ``KeyError``) if unknown.
        """
        if available is not True and available is not False:
            raise GeoTypeError(f"available={available!r} must be True or False")
        self._expire()
        lat, lon, _, at = self._live.record(check_driver_id(driver_id))
        self._bucket_of[driver_id][driver_id] = self._live.drivers[driver_id] = (
            lat,
            lon,
            available,
            at,
        )

    def _expire(self) -> None:
        for driver_id in self._live.stale():
            self._unlink(driver_id, self._bucket_of.pop(driver_id))
