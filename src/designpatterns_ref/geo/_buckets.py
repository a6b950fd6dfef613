"""What the cell-bucket indexes share: drivers grouped by cell key, moves, removal, bulk loads.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

:class:`~designpatterns_ref.geo.geohash_index.GeohashIndex` (rectangular geohash cells) and
:class:`~designpatterns_ref.geo.h3_index.H3Index` (H3 hexagons) keep their drivers the same way:
a dictionary from an integer cell key to a bucket of that cell's drivers (id -> record), beside
the live table's driver -> record map. The record is one tuple ``(lat, lon, available, at, cell)``
shared by both, and its last field says which bucket holds the driver, so no third map from
driver to bucket is needed. The two indexes differ only in how a position becomes a cell key and
in how a search walks outward from the rider's cell, so the bookkeeping lives here once.

A bulk load (:meth:`BucketIndex.bulk_load`) is the same as one upsert per driver, but in a few
passes: the batch is checked as a whole (C-level ``map``/``min``/``max`` over columns, not a check
per call), the cell keys come from one comprehension, the records from one ``zip``, the driver
table from one ``dict`` (which also finds repeated ids: it comes out shorter than the batch), the
buckets are filled by one ``map`` of ``operator.setitem``, and the whole batch gets a single entry
on the TTL heap. The per-driver upsert (``_place``) stays the readable reference.

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
from collections import defaultdict, deque
from collections.abc import Iterable
from itertools import repeat
from math import asin, cos, sin, sqrt
from operator import setitem

from designpatterns_ref.errors import shown
from designpatterns_ref.geo._live import LiveIndex, LiveTable, Record
from designpatterns_ref.geo.base import GeoTypeError, check_driver_id
from designpatterns_ref.geo.sphere import EARTH_RADIUS_M, RAD

__all__ = ["Bucket", "BucketIndex", "Cells", "measure"]

_D = 2.0 * EARTH_RADIUS_M
_INF = math.inf


Bucket = dict[str, Record]  # one cell's drivers: id -> the very record the live table holds


class Cells(defaultdict[int, Bucket]):
    """Cell key -> bucket; reading a missing key with ``cells[key]`` makes its empty bucket.

    The bulk load reads every driver's bucket with one ``map(cells.__getitem__, keys)``, so a
    cell seen for the first time gets its bucket there (``defaultdict`` calls ``dict`` from C:
    no Python call per new cell). ``get`` stays a plain read: the searches use it and never
    create anything.
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(dict)


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
        for i, (lat, lon, available, _, _) in bucket.items()
        if available or not available_only
    ]


class BucketIndex(LiveIndex):
    """Drivers in buckets by integer cell key; a subclass says how a position becomes a key
    (``_keys``) and how a search walks the cells (``_ranked``)."""

    __slots__ = ("_cells", "_live")

    def _init_buckets(self, live: LiveTable) -> None:
        self._live = live  # its records carry each driver's cell key: no driver -> cell map
        self._cells = Cells()

    def _keys(self, lats: list[float], lons: list[float], top: tuple[float, float]) -> list[int]:
        """The cell key of each (validated) position, exactly as an upsert computes it; ``top``
        is the largest latitude and longitude among them."""
        raise NotImplementedError

    def _place(self, driver_id: str, record: Record) -> None:
        """Store a validated fix (its cell key last) in its cell's bucket and the live table."""
        live = self._live
        old = live.drivers.get(driver_id)
        if old is not None and old[4] != record[4]:  # the driver changed cells
            self._unlink(driver_id, old[4])
        self._cells[record[4]][driver_id] = live.drivers[driver_id] = record
        live.push(record[3], driver_id)

    def _unlink(self, driver_id: str, key: int) -> None:
        bucket = self._cells[key]
        del bucket[driver_id]
        if not bucket:
            del self._cells[key]

    def bulk_load(
        self,
        drivers: Iterable[tuple[str, float, float]],
        *,
        available: bool = True,
        at: float | None = None,
    ) -> None:
        """Add or move many drivers at once, as ``upsert(driver_id, lat, lon, available=available,
        at=at)`` of each row in turn would (a repeated id keeps its last row), in a few passes
        without per-driver bookkeeping. The flag is explicit here (True by default): a bulk load
        sets it for every row, busy drivers included. The whole batch is checked first: a bad
        row raises :class:`~designpatterns_ref.geo.base.GeoError` naming it, and nothing is
        stored.

        The cyclic garbage collector stays on, on purpose (measured): pausing it during the
        load makes the load itself faster, but every record and bucket it made is then still
        in the young generation, and the first collection after the load walks them all at
        once, out of cache, which costs more than the small collections it replaced.
        Collections running during the load meet each record while it is fresh and untrack it
        (a tuple of numbers holds no cycle), so the buckets filled with those records stay
        untracked too.
        """
        live = self._live
        ids, lats, lons, available, at, top = live.check_batch(drivers, available, at)
        keys = self._keys(lats, lons, top)
        cells, known = self._cells, live.drivers
        # Every step is one C-level pass (zip, dict, map): no Python-level loop runs per driver.
        records = zip(lats, lons, repeat(available), repeat(at), keys, strict=False)
        table = dict(zip(ids, records, strict=True))
        if len(table) < len(ids):  # a repeated id: its last row wins, as with upserts
            ids, keys = list(table), [record[4] for record in table.values()]
        if known:  # drivers already here leave their old bucket first
            for driver_id in known.keys() & table.keys():
                self._unlink(driver_id, known.pop(driver_id)[4])
            known.update(table)
        else:
            live.drivers = table
        # Reading the buckets makes those of new cells (Cells is a defaultdict).
        deque(map(setitem, map(cells.__getitem__, keys), ids, table.values()), maxlen=0)
        live.push_batch(at, ids)
        if live.claims:  # a flag written for each: it ends their claims
            for driver_id in ids:
                live.claims.pop(driver_id, None)

    def remove(self, driver_id: str) -> bool:
        """Forget a driver; True if it was there (a stale driver is not: it expires first)."""
        driver_id = check_driver_id(driver_id)
        self._expire()
        self._live.claims.pop(driver_id, None)
        record = self._live.drivers.pop(driver_id, None)
        if record is None:
            return False
        self._unlink(driver_id, record[4])
        return True

    def set_available(self, driver_id: str, available: bool) -> None:
        """Mark a known driver free or busy without moving it.

        Raises :class:`~designpatterns_ref.geo.base.DriverNotFound` (a ``KeyError``) if unknown.
        """
        if available is not True and available is not False:
            raise GeoTypeError(f"available={shown(available)} must be True or False")
        lat, lon, _, at, key = self._live.record(check_driver_id(driver_id))
        self._cells[key][driver_id] = self._live.drivers[driver_id] = (lat, lon, available, at, key)
        self._live.claims.pop(driver_id, None)

    def _expire(self) -> None:
        self._live.stale(self._drop)

    def _drop(self, driver_id: str) -> None:  # the live table forgets it right after
        self._unlink(driver_id, self._live.drivers[driver_id][4])
