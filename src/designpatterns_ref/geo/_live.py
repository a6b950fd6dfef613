"""What every in-memory driver index shares: argument checks, the driver table and the TTL.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

A driver's phone reports a fix every few seconds; a driver whose last fix is older than ``ttl``
seconds (on the injected clock) has gone offline without saying so and must not be matched.
Expiry is lazy: each fix pushes ``(at, driver_id)`` on a heap, and before every read the heap is
popped while its oldest entry is stale, dropping the driver only if that entry is still its
latest fix. The heap is rebuilt when stale entries outnumber live drivers, so it stays O(n).
A call refused for its arguments or its driver expires nobody (it changes nothing), and a clock
reading that is not a finite number of seconds is refused with GeoError before anything changes.
A bulk load, whose fixes all share one time, pushes one entry ``(at, "", batch)`` for the whole
batch instead (no driver id is empty, so it sorts before drivers of the same time); popping it
checks each driver of the batch as a single entry would.

Complexity: O(log n) per fix for the heap; expiry is amortised O(log n) per fix.

>>> from designpatterns_ref.clock import ManualClock
>>> table = LiveTable(ttl=10.0, clock=ManualClock())
>>> table.check_fix("d1", 1.0, 2.0, True, None)
('d1', 1.0, 2.0, True, 0.0)
"""

from __future__ import annotations

import heapq
import math
import sys
import time
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

from designpatterns_ref.clock import check_reading as _check_reading
from designpatterns_ref.errors import shown
from designpatterns_ref.geo.base import (
    DriverNotFound,
    DriverState,
    GeoError,
    GeoTypeError,
    Match,
    check_driver_id,
    check_k,
    check_lat,
    check_lon,
    check_radius,
    check_token,
    matches,
)

__all__ = ["LiveIndex", "LiveTable", "Record", "check_clock", "check_query", "check_reading"]

# What the table keeps per driver: (lat, lon, available, at, cell). ``cell`` is the integer key of
# the cell the driver sits in, for the indexes that bucket drivers by cell (so they need no
# second map from driver to cell), and 0 for the others.
Record = tuple[float, float, bool, float, int]


class LiveTable:
    """Driver positions by id, with the TTL bookkeeping; the indexes keep their own structure."""

    __slots__ = ("batched", "batches", "claims", "clock", "drivers", "heap", "ttl")

    def __init__(self, *, ttl: float | None, clock: Callable[[], float] | None) -> None:
        if ttl is not None:
            if isinstance(ttl, bool) or not isinstance(ttl, int | float):
                raise GeoTypeError(f"ttl={shown(ttl)} must be a number of seconds or None")
            if not ttl > 0 or ttl > sys.float_info.max or math.isinf(ttl):
                raise GeoError(f"ttl={shown(ttl)} must be a positive, finite number of seconds")
            ttl = float(ttl)
        self.ttl = ttl
        self.clock: Callable[[], float] = check_clock(clock)
        self.drivers: dict[str, Record] = {}  # driver_id -> (lat, lon, available, at, cell)
        # (at, driver_id), or (at, "", batch number) for a bulk load's drivers
        self.heap: list[tuple[float, str] | tuple[float, str, int]] = []
        self.batches: dict[int, list[str]] = {}
        self.batched = 0  # driver ids held in batches
        # driver_id -> token of the claim that made it busy; every write of a flag ends it
        self.claims: dict[str, str] = {}

    def check_fix(
        self,
        driver_id: object,
        lat: object,
        lon: object,
        available: object,
        at: object,
        claim: object = None,
    ) -> tuple[str, float, float, bool, float]:
        """Validate one location update; return it normalised (180 -> -180, at defaulted, and
        ``available=None`` resolved by :meth:`kept`).

        ``claim`` (a token, with ``available`` None) makes the update claiming: a driver that
        would be free after it (new, back from stale, or free) is busy instead, under ``claim``
        (noted here, for the caller's write that follows); a busy one keeps flag and claim.
        """
        if type(driver_id) is not str or not driver_id or not driver_id.isascii():
            driver_id = check_driver_id(driver_id)
        if type(lat) is not float or not -90.0 <= lat <= 90.0:
            lat = check_lat("lat", lat)
        if type(lon) is not float or not -180.0 <= lon < 180.0:
            lon = check_lon("lon", lon)
        if available is not True and available is not False and available is not None:
            raise GeoTypeError(f"available={shown(available)} must be True, False or None")
        now = None
        if at is None:
            at = now = self.now()
        elif isinstance(at, bool) or not isinstance(at, int | float):
            raise GeoTypeError(f"at={shown(at)} must be a finite number of seconds or None")
        elif not -sys.float_info.max <= at <= sys.float_info.max:  # NaN, inf, 10**400
            raise GeoError(f"at={shown(at)} must be a finite number of seconds or None")
        if claim is not None:
            claim = check_token(claim, "claim")
            if available is not None:
                raise GeoError(
                    f"available={shown(available)} cannot be given with claim={shown(claim)}: "
                    "a claiming update sets the flag itself (pass available=None)"
                )
        if available is None:
            available = self.kept(driver_id, now)
            if available and claim is not None:  # free after the update: claimed in it
                available = False
                self.claims[driver_id] = claim
        elif self.claims:  # a flag written: it ends the driver's claim
            self.claims.pop(driver_id, None)
        return driver_id, lat, lon, available, float(at)

    def kept(self, driver_id: str, now: float | None) -> bool:
        """The flag an update that gives none keeps: a live driver's own (so a location update
        never frees a busy driver), True for a driver unknown or stale (it comes back new).

        ``now`` is the clock's reading if the caller has one; else the clock is read, and only
        when a stale record must be told from a live one. A driver that comes back new loses
        its claim (see :meth:`LiveIndex.claim`).
        """
        rec = self.drivers.get(driver_id)
        if rec is not None and (
            self.ttl is None or rec[3] >= (self.now() if now is None else now) - self.ttl
        ):
            return rec[2]  # busy keeps its claim, if any; a free driver has none
        if self.claims:  # comes back new: no claim survives
            self.claims.pop(driver_id, None)
        return True

    def now(self) -> float:
        """One reading of the clock, refused with GeoError unless it is a finite number."""
        return check_reading(self.clock())

    def check_time(self, at: object) -> float:
        """``at`` as a finite float of seconds; None means now on the clock."""
        if at is None:
            return self.now()
        if isinstance(at, bool) or not isinstance(at, int | float):
            raise GeoTypeError(f"at={shown(at)} must be a finite number of seconds or None")
        if not -sys.float_info.max <= at <= sys.float_info.max:  # NaN, inf, 10**400
            raise GeoError(f"at={shown(at)} must be a finite number of seconds or None")
        return float(at)

    def check_batch(
        self, drivers: object, available: object, at: object
    ) -> tuple[list[str], list[float], list[float], bool, float, tuple[float, float]]:
        """Validate a bulk load of ``(driver_id, lat, lon)`` rows; return ids, lats, lons (180
        stored as -180), ``available``, ``at`` and the largest (lat, lon) of the batch (which the
        checks find anyway; -inf for an empty batch). An id may repeat: the caller keeps its last
        row (building its driver table from the columns finds repeats at no extra cost).

        The whole batch is checked before anything is stored, with C-level passes (``map``,
        ``min``, ``max``) for the common case of str ids and float coordinates; anything else
        goes row by row through the same checks as one update, and the error names the row.
        """
        if available is not True and available is not False:
            raise GeoTypeError(f"available={shown(available)} must be True or False")
        at = self.check_time(at)
        if isinstance(drivers, str | bytes | dict) or not isinstance(drivers, Iterable):
            raise GeoTypeError(
                f"drivers={shown(drivers)} must be an iterable of (driver_id, lat, lon) tuples"
            )
        rows = list(drivers)
        if not set(map(type, rows)) <= {tuple, list} or not set(map(len, rows)) <= {3}:
            i, row = next(
                (i, r) for i, r in enumerate(rows) if type(r) not in (tuple, list) or len(r) != 3
            )
            raise GeoTypeError(f"drivers[{i}]={shown(row)} must be a (driver_id, lat, lon) tuple")
        if not rows:
            return [], [], [], available, at, (-math.inf, -math.inf)
        ids, lats, lons = (list(map(itemgetter(i), rows)) for i in range(3))
        if not (all(ids) and _joined(ids).isascii()):  # else some id needs a closer look
            ids = [_row(i, check_driver_id, d) for i, d in enumerate(ids)]
        # A NaN anywhere makes the column's sum NaN (one C loop, cheaper than a call per value);
        # an infinity fails the range test of min and max.
        if (
            not (set(map(type, lats)) == {float} and not math.isnan(sum(lats)))
            or not -90.0 <= min(lats) <= (top_lat := max(lats)) <= 90.0
        ):
            lats = [_row(i, check_lat, "lat", a) for i, a in enumerate(lats)]
            top_lat = max(lats)
        if (
            not (set(map(type, lons)) == {float} and not math.isnan(sum(lons)))
            or not -180.0 <= min(lons) <= (top_lon := max(lons)) < 180.0
        ):
            lons = [_row(i, check_lon, "lon", o) for i, o in enumerate(lons)]
            top_lon = max(lons)
        return ids, lats, lons, available, at, (top_lat, top_lon)

    def note(self, driver_id: str, lat: float, lon: float, available: bool, at: float) -> None:
        """Record a validated fix (the caller has updated its own structure)."""
        self.drivers[driver_id] = (lat, lon, available, at, 0)
        self.push(at, driver_id)

    def push(self, at: float, driver_id: str) -> None:
        """Note a fix's time on the expiry heap (nothing without a TTL)."""
        if self.ttl is not None:
            heapq.heappush(self.heap, (at, driver_id))
            if len(self.heap) > 2 * len(self.drivers) + 64:
                self.compact()

    def push_batch(self, at: float, driver_ids: list[str]) -> None:
        """Note one time for many fixes with a single heap entry (nothing without a TTL)."""
        if self.ttl is None or not driver_ids:
            return
        number = len(self.batches)
        while number in self.batches:
            number += 1
        self.batches[number] = driver_ids
        self.batched += len(driver_ids)
        heapq.heappush(self.heap, (at, "", number))
        if len(self.heap) + self.batched > 2 * len(self.drivers) + 64:
            self.compact()

    def compact(self) -> None:
        """Rebuild the expiry heap from the live drivers, dropping superseded entries."""
        self.heap = [(rec[3], d) for d, rec in self.drivers.items()]
        heapq.heapify(self.heap)
        self.batches.clear()
        self.batched = 0

    def stale(self, drop: Callable[[str], None] | None = None) -> list[str]:
        """Forget and return the drivers whose latest fix is older than ``ttl``.

        ``drop(driver_id)`` runs for each before it leaves the table, so an index can still read
        the driver's position to remove it from its own structure.
        """
        if self.ttl is None or not self.heap:
            return []
        cutoff = self.now() - self.ttl
        heap, drivers, gone = self.heap, self.drivers, []
        while heap and heap[0][0] < cutoff:
            entry = heapq.heappop(heap)
            at = entry[0]
            if len(entry) == 3:  # a bulk load's drivers, all fixed at the same time
                batch = self.batches.pop(entry[2])
                self.batched -= len(batch)
            else:
                batch = [entry[1]]
            for driver_id in batch:
                rec = drivers.get(driver_id)
                if rec is not None and rec[3] == at:
                    if drop is not None:
                        drop(driver_id)
                    del drivers[driver_id]
                    self.claims.pop(driver_id, None)
                    gone.append(driver_id)
        return gone

    def record(self, driver_id: str) -> Record:
        """The driver's ``(lat, lon, available, at, cell)``; :class:`DriverNotFound` if unknown
        or stale. Nothing expires here, so a call refused for its driver changes nothing."""
        rec = self.drivers.get(driver_id)
        if rec is None or (self.ttl is not None and rec[3] < self.now() - self.ttl):
            raise DriverNotFound(f"driver_id={shown(driver_id)} is not in the index (or is stale)")
        return rec

    def state(self, driver_id: str) -> DriverState | None:
        rec = self.drivers.get(driver_id)
        if rec is None:
            return None
        return DriverState(driver_id, rec[0], rec[1], rec[2], rec[3])


def _joined(ids: list[Any]) -> str:
    """All the ids in one string (one C loop), or "\u0080" (not ASCII) if one is not a str."""
    try:
        return "".join(ids)
    except TypeError:
        return "\u0080"


def _row(i: int, check: Callable[..., Any], *args: object) -> Any:
    """``check(*args)``, its error prefixed with the row it came from."""
    try:
        return check(*args)
    except GeoError as exc:
        raise type(exc)(f"drivers[{i}]: {exc}") from None


def check_clock(clock: object) -> Callable[[], float]:
    """Return ``clock`` (a callable), or :func:`time.monotonic` for None; raise otherwise."""
    if clock is None:
        return time.monotonic
    if not callable(clock):
        raise GeoTypeError(f"clock={shown(clock)} must be a callable returning seconds, or None")
    return clock


def check_reading(now: object, who: str = "LiveIndex") -> float:
    """A clock's reading as a float; GeoError unless it is a finite number of seconds."""
    return _check_reading(now, GeoError, who)


def check_query(
    lat: object,
    lon: object,
    k: object,
    radius: object,
    available_only: object,
    radius_name: str = "radius_m",
) -> tuple[float, float, int | None, float]:
    """Validate a search; ``radius`` None means unbounded (returned as infinity).

    ``radius_name`` is the argument's name in the caller (``max_radius_m`` for ``nearest``).
    """
    lat = check_lat("lat", lat)
    lon = check_lon("lon", lon)
    k = None if k is None else check_k(k)
    radius = math.inf if radius is None else check_radius(radius_name, radius)
    if available_only is not True and available_only is not False:
        raise GeoTypeError(f"available_only={shown(available_only)} must be True or False")
    return lat, lon, k, radius


class LiveIndex:
    """What the in-process indexes share: the reads that only need the driver table, and the
    search entry points, which check the query and turn ``(distance, id)`` pairs into matches.

    A subclass keeps a :class:`LiveTable` in ``_live`` and provides ``_expire()`` (drop stale
    drivers from its own structure too) and ``_ranked(lat, lon, k, radius, available_only)``:
    the ``k`` nearest ``(distance, id)`` pairs within ``radius``, sorted (all of them when ``k``
    is None).
    """

    __slots__ = ()
    _live: LiveTable

    def _expire(self) -> None:
        raise NotImplementedError

    def _ranked(
        self, lat: float, lon: float, k: int | None, radius: float, available_only: bool
    ) -> list[tuple[float, str]]:
        raise NotImplementedError

    def get(self, driver_id: str) -> DriverState | None:
        """The driver's last known state, or None if unknown or stale."""
        driver_id = check_driver_id(driver_id)
        self._expire()
        return self._live.state(driver_id)

    def nearest(
        self,
        lat: float,
        lon: float,
        k: int = 10,
        *,
        max_radius_m: float | None = None,
        available_only: bool = True,
    ) -> list[Match]:
        """The ``k`` nearest drivers, nearest first, ties broken by driver id; exact."""
        check_k(k)
        lat, lon, kk, radius = check_query(
            lat, lon, k, max_radius_m, available_only, "max_radius_m"
        )
        return matches(self._ranked(lat, lon, kk, radius, available_only))

    def within(
        self, lat: float, lon: float, radius_m: float, *, available_only: bool = True
    ) -> list[Match]:
        """Every driver within ``radius_m`` metres, nearest first, ties broken by driver id."""
        lat, lon, _, radius = check_query(lat, lon, None, radius_m, available_only)
        return matches(self._ranked(lat, lon, None, radius, available_only))

    def __len__(self) -> int:
        self._expire()
        return len(self._live.drivers)

    def __contains__(self, driver_id: object) -> bool:
        self._expire()
        return isinstance(driver_id, str) and driver_id in self._live.drivers

    def set_available(self, driver_id: str, available: bool) -> None:
        raise NotImplementedError

    def claim(self, driver_id: str, token: str) -> bool:
        """Mark a driver busy only if it is free, and note ``token`` as the claim's (a
        compare-and-set): True if claimed, False if it was busy already.

        Raises :class:`~designpatterns_ref.geo.base.DriverNotFound` if unknown or stale (nothing
        changes). Not thread-safe on its own: callers sharing the index hold one lock around it
        (as :class:`~designpatterns_ref.geo.dispatch.Dispatcher` does).
        """
        driver_id, token = check_driver_id(driver_id), check_token(token)
        if not self._live.record(driver_id)[2]:
            return False
        self.set_available(driver_id, False)
        self._live.claims[driver_id] = token
        return True

    def unclaim(self, driver_id: str, token: str) -> bool:
        """Undo the claim ``token``: free the driver only if that claim still holds it; True if
        freed.

        Any flag written since (another claim, ``set_available``, ``upsert`` with
        ``available``, a removal, expiry) ends the claim, and then nothing changes; a location
        update that keeps the flag keeps the claim. Never raises for the driver (an unknown or
        stale one is not freed: False). Not thread-safe on its own, like :meth:`claim`.
        """
        driver_id, token = check_driver_id(driver_id), check_token(token)
        live = self._live
        if live.claims.get(driver_id) != token:
            return False
        try:
            # Which ends the claim. It refuses a driver gone stale (it comes back new with its
            # next fix) before writing anything, on its own reading of the clock.
            self.set_available(driver_id, True)
        except DriverNotFound:
            return False
        return True
