"""Dispatcher: give each rider the nearest available driver, never one driver to two riders.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

Matching is a read (the nearest available driver) followed by a write (mark that driver busy);
between the two, another request can read the same driver. The dispatcher closes that race
with one lock around read-then-write, so the pair is atomic for every thread sharing it. The
trade-off is throughput: requests are matched one at a time, which a single in-memory index
serves in tens of microseconds each.

Dispatch servers that share one store (a Redis index) hold no lock in common, so the write is a
compare-and-set: ``index.claim`` marks the driver busy only if it is still free, and notes a
token of this dispatcher's (its id and a counter) beside the flag, in one step on the server.
Two servers that found the same driver cannot both take it: the loser searches again.

The policy is greedy, nearest driver first, in arrival order; a batch matcher (solving the
assignment over a few seconds of requests) can lower total pickup distance, at the price of
making each rider wait for the batch.

The index's clock moves between the search and the claim, so the driver found can turn stale
(or be removed by another writer) before it is claimed; the request then searches again and
takes the next driver, or returns None when no live one is left. It never fails for that.

A claim can also fail after the store applied it (a Redis index whose reply was lost): the
request raises, and the driver would stay busy with no rider, passed over by every search, its
location updates keeping the flag. So the dispatcher undoes a claim that failed with
``index.unclaim(driver, token)``, at once if the store answers, else before the next request's
search. The undo frees the driver only if that very claim still holds it: once anyone has
written its flag since (another server's claim, the driver marking itself busy, a release), the
claim is over and the undo changes nothing; a location update keeps both flag and claim.

The end of a trip goes through the claim too: :meth:`Dispatcher.release` frees the driver with
``index.unclaim(driver, token)`` and the token of the claim that gave it its rider. A release
that comes after the claim has ended (the driver freed meanwhile and taken by another dispatch
server, or a release retried after an outage that had applied it) changes nothing in the index,
so it never frees a driver on another rider's trip. A driver on a trip that comes back free
(after going stale or being removed) is claimed again with that token by its next location
update, in the same step as the update (``index.upsert(..., claim=token)``): two calls would
leave a moment in which another dispatch server could claim it for a second rider.

Complexity: one ``nearest(k=1)`` and one ``claim`` per request, under a lock (one more of each
for a driver that went stale or was taken in between, at most one per driver in the index).

>>> from designpatterns_ref.clock import ManualClock
>>> from designpatterns_ref.geo.geohash_index import GeohashIndex
>>> index = GeohashIndex(clock=ManualClock())
>>> index.upsert("near", 40.7580, -73.9855)
>>> index.upsert("far", 40.7680, -73.9855)
>>> dispatcher = Dispatcher(index)
>>> dispatcher.request("rider-1", 40.7585, -73.9855).driver_id
'near'
>>> dispatcher.request("rider-2", 40.7585, -73.9855).driver_id  # "near" is busy now
'far'
>>> dispatcher.request("rider-3", 40.7585, -73.9855) is None
True
>>> dispatcher.release("near")
True
>>> dispatcher.request("rider-3", 40.7585, -73.9855).driver_id
'near'
"""

from __future__ import annotations

import inspect
import itertools
import threading
import uuid
from dataclasses import dataclass

from designpatterns_ref.errors import shown
from designpatterns_ref.geo.base import (
    DriverIndex,
    DriverNotFound,
    GeoError,
    GeoTypeError,
    GeoUnavailable,
    check_driver_id,
    check_lat,
    check_lon,
    check_radius,
)

__all__ = ["Assignment", "Dispatcher"]


@dataclass(frozen=True, slots=True)
class Assignment:
    """A rider matched to a driver, with the pickup distance in metres."""

    rider_id: str
    driver_id: str
    distance_m: float


def _check_upsert(index: DriverIndex) -> None:
    """Refuse an index whose ``upsert`` cannot take ``claim=``.

    ``isinstance`` against the protocol checks only that the methods exist, so an index written
    before ``upsert`` took the trip's claim would pass it and fail at the first location update
    of a driver with a rider, losing the update; its signature says so at once. An ``upsert``
    whose signature Python cannot read (one written in C) is taken on trust.
    """
    try:
        signature = inspect.signature(index.upsert)
    except (TypeError, ValueError):
        return
    try:
        signature.bind("driver", 0.0, 0.0, at=None, claim="token")
    except TypeError:
        raise GeoTypeError(
            f"index={shown(index)} has upsert{signature}; a driver index's upsert must take "
            "claim= (re-claim a driver on a trip in the same step as its update; see "
            "DriverIndex.upsert)"
        ) from None


class Dispatcher:
    """Assigns riders to the nearest available driver of ``index``; safe to share between threads.

    ``max_pickup_m`` (optional) refuses drivers farther than that. Every assignment is kept in
    :attr:`assignments` (rider id -> assignment) until released.

    The in-memory indexes are not thread-safe on their own: while the dispatcher serves
    requests, send location updates and removals through :meth:`update` and :meth:`remove`,
    which take the same lock as :meth:`request` (a write straight to the index from another
    thread can break a search under way). For the same reason two dispatchers sharing one
    in-memory index must not serve calls at once from different threads: their claims are
    compare-and-sets only under one lock. :class:`~designpatterns_ref.geo.redis.RedisGeoIndex`
    is safe to write to directly, and to share between dispatchers in any threads or processes.
    """

    def __init__(self, index: DriverIndex, *, max_pickup_m: float | None = None) -> None:
        if not isinstance(index, DriverIndex):
            raise GeoTypeError(
                f"index={shown(index)} must be a driver index (GeohashIndex, QuadTreeIndex, ...)"
            )
        _check_upsert(index)
        self.index = index
        self.max_pickup_m = (
            None if max_pickup_m is None else check_radius("max_pickup_m", max_pickup_m)
        )
        self._lock = threading.Lock()
        self.assignments: dict[str, Assignment] = {}
        self._rider_of: dict[str, str] = {}
        self._token_of: dict[str, str] = {}  # driver with a rider -> token of its claim
        # driver -> token of a claim that failed: maybe applied (busy, no rider), to undo
        self._in_doubt: dict[str, str] = {}
        self._id = uuid.uuid4().hex[:16]  # tells this dispatcher's claims from others'
        self._claims = itertools.count(1)

    def request(self, rider_id: str, lat: float, lon: float) -> Assignment | None:
        """Match ``rider_id`` to the nearest available driver and mark it busy; None if none.

        The claim is a compare-and-set (``index.claim``): a driver that goes stale, or that
        another writer (another dispatch server on a shared index) takes, between the search and
        the claim is passed over for the next one (at most one retry per driver in the index;
        with a clock that keeps stepping back and forth past a fix's expiry, None after that
        many). So is a driver found free while it still has a rider (an index write marked it
        available): it is marked busy again, and keeps its rider until :meth:`release`.
        """
        if not isinstance(rider_id, str) or not rider_id:
            raise GeoTypeError(f"rider_id={shown(rider_id)} must be a non-empty str")
        lat, lon = check_lat("lat", lat), check_lon("lon", lon)  # before the index is read
        with self._lock:
            if rider_id in self.assignments:
                raise GeoError(f"rider_id={shown(rider_id)} already has a driver; release it first")
            self._settle()
            # The clock moves between the search and the claim: a driver found live may be
            # stale (or removed) by the claim. Search again; each miss is a driver gone for
            # good on a clock that only moves forward, so at most one miss per driver.
            for _ in range(len(self.index) + 1):
                matches = self.index.nearest(lat, lon, 1, max_radius_m=self.max_pickup_m)
                if not matches:
                    return None
                match = matches[0]
                token = f"{self._id}:{next(self._claims)}"
                try:
                    claimed = self.index.claim(match.driver_id, token)
                except DriverNotFound:
                    continue
                except GeoUnavailable:  # the store may have applied it: undo it if so
                    if match.driver_id in self._rider_of:
                        # A driver on a trip, freed by another writer: if applied, this claim
                        # holds it for its trip, so the trip's release undoes it; if not, the
                        # trip's older claim had ended anyway.
                        self._token_of[match.driver_id] = token
                    self._in_doubt[match.driver_id] = token
                    self._settle()
                    raise
                if not claimed:  # another writer took it since the search
                    continue
                if match.driver_id not in self._rider_of:
                    break
                # Another writer marked a driver on a trip free: it stays busy (just marked so
                # again, by this claim, which its release now undoes) and with its rider, and the
                # search goes on to the next driver.
                self._token_of[match.driver_id] = token
            else:  # a clock stepping back and forth kept reviving drivers: give up
                return None
            assignment = Assignment(rider_id, match.driver_id, match.distance_m)
            self.assignments[rider_id] = assignment
            self._rider_of[match.driver_id] = rider_id
            self._token_of[match.driver_id] = token
            return assignment

    def _settle(self) -> None:
        """Undo the claims that failed, while the store answers: each frees its driver only if
        that claim still holds it (and the driver has no rider of ours)."""
        for driver_id, token in sorted(self._in_doubt.items()):
            if driver_id not in self._rider_of:
                try:
                    self.index.unclaim(driver_id, token)
                except GeoUnavailable:
                    return  # still down: the next request tries again
            del self._in_doubt[driver_id]

    def update(self, driver_id: str, lat: float, lon: float, *, at: float | None = None) -> None:
        """A driver's location update (``index.upsert``), under the dispatcher's lock.

        A driver with a rider stays busy (even one that went stale or was removed meanwhile and
        comes back); any other keeps its flag, and a new one comes in available.

        The update keeps the driver's flag, and with it the claim :meth:`release` undoes; a
        driver with a rider that would come back free (new after going stale or being removed,
        or freed by another writer) is claimed again with its trip's token in the same step
        (``index.upsert(..., claim=token)``), so no other dispatch server sharing the index can
        claim it in between. An update whose reply was lost is applied or not; either way the
        driver is busy under its trip's claim, or is claimed again by the next update.
        """
        driver_id = check_driver_id(driver_id)
        with self._lock:
            # on a trip: busy again if it comes back free, under its trip's claim (else None)
            self.index.upsert(driver_id, lat, lon, at=at, claim=self._token_of.get(driver_id))

    def remove(self, driver_id: str) -> bool:
        """A driver goes offline (``index.remove``), under the dispatcher's lock; True if it was
        there. A driver with a rider keeps its assignment until :meth:`release`."""
        with self._lock:
            return self.index.remove(driver_id)

    def release(self, driver_id: str) -> bool:
        """The trip is over (or cancelled): the driver is available again, if this dispatcher's
        claim still holds it; True if the release freed it.

        The assignment is dropped in every case. The driver is freed with ``index.unclaim``
        and the token of the claim that gave it this rider, so only while no flag was written
        since: a driver freed meanwhile and claimed by another dispatcher (sharing the index),
        marked busy by another writer, removed or gone stale is left as it is (False), never
        taken from another rider's trip. A driver removed or stale comes back available with
        its next update. The index is written first, so a call that fails there (a Redis
        index's outage) keeps the assignment, to be released again; if the failed call had
        freed the driver, the retry finds the claim over and changes nothing.
        """
        driver_id = check_driver_id(driver_id)
        with self._lock:
            rider_id = self._rider_of.get(driver_id)
            if rider_id is None:
                raise GeoError(f"driver_id={shown(driver_id)} has no assignment to release")
            freed = self.index.unclaim(driver_id, self._token_of[driver_id])
            del self._rider_of[driver_id], self._token_of[driver_id]
            del self.assignments[rider_id]
            return freed
