"""Brute-force driver index: measure the distance to every driver. The oracle the others match.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

No structure at all: a dictionary of positions, and every search computes the haversine
distance to every driver, then sorts. It is obviously right, which is its job: the property
tests hold every other index to its answers, bit for bit. It is also the baseline the benchmarks
beat: about 185 ms per query (the median, k=10) over 100,000 drivers on a quiet 2-core machine
(the ride-sharing page's benchmark table), where a city needs well under a millisecond.

Complexity: O(1) per update; O(n log n) per search.

>>> from designpatterns_ref.clock import ManualClock
>>> index = BruteForceIndex(clock=ManualClock())
>>> index.upsert("ana", 51.5007, -0.1246)
>>> index.upsert("ben", 51.5014, -0.1419)
>>> for m in index.nearest(51.5033, -0.1276, k=2):
...     print(m.driver_id, round(m.distance_m))
ana 356
ben 1012
"""

from __future__ import annotations

from collections.abc import Callable

from designpatterns_ref.errors import shown
from designpatterns_ref.geo._live import LiveIndex, LiveTable
from designpatterns_ref.geo.base import GeoTypeError, check_driver_id
from designpatterns_ref.geo.sphere import _haversine_m

__all__ = ["BruteForceIndex"]


class BruteForceIndex(LiveIndex):
    """Every driver in a dict; every search measures them all (not thread-safe on its own).

    ``ttl`` seconds after its last fix (on ``clock``) a driver is dropped; ``ttl=None`` keeps
    drivers until removed.
    """

    def __init__(
        self, *, ttl: float | None = 60.0, clock: Callable[[], float] | None = None
    ) -> None:
        self._live = LiveTable(ttl=ttl, clock=clock)

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
        driver_id, lat, lon, available, at = self._live.check_fix(
            driver_id, lat, lon, available, at, claim
        )
        self._live.note(driver_id, lat, lon, available, at)

    def remove(self, driver_id: str) -> bool:
        """Forget a driver; True if it was there (a stale driver is not: it expires first)."""
        driver_id = check_driver_id(driver_id)
        self._expire()
        self._live.claims.pop(driver_id, None)
        return self._live.drivers.pop(driver_id, None) is not None

    def set_available(self, driver_id: str, available: bool) -> None:
        """Mark a known driver free or busy without moving it.

        Raises :class:`~designpatterns_ref.geo.base.DriverNotFound` (a ``KeyError``) if unknown.
        """
        if available is not True and available is not False:
            raise GeoTypeError(f"available={shown(available)} must be True or False")
        lat, lon, _, at, cell = self._live.record(check_driver_id(driver_id))
        self._live.drivers[driver_id] = (lat, lon, available, at, cell)
        self._live.claims.pop(driver_id, None)

    def _expire(self) -> None:
        self._live.stale()

    def _ranked(
        self, lat: float, lon: float, k: int | None, radius: float, available_only: bool
    ) -> list[tuple[float, str]]:
        self._expire()
        found = []
        for driver_id, (d_lat, d_lon, available, _, _) in self._live.drivers.items():
            if available or not available_only:
                d = _haversine_m(lat, lon, d_lat, d_lon)
                if d <= radius:
                    found.append((d, driver_id))
        found.sort()
        return found if k is None else found[:k]

    def __repr__(self) -> str:
        return f"BruteForceIndex(drivers={len(self)}, ttl={self._live.ttl!r})"
