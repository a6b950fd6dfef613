"""Availability search: which hotels in a city, or near a point, have rooms for a stay.

Case study: Design a Hotel Booking System (docs/case-studies/hotel-booking.md)

Answering "hotels in Lisbon with a double free from the 3rd to the 7th" by querying every
property's inventory per search does not scale to a million properties. :class:`AvailabilityIndex`
keeps a precomputed map ``(city, room type, night) -> {hotel: rooms free}``, updated in step with
bookings: every booking strategy calls its listeners with the rooms it took or gave back, and the
index subscribes (:meth:`AvailabilityIndex.follow`). A search intersects the nights' maps, so its
cost depends on the hotels in the city, not on the inventory rows. For "near me", the index asks
the ride-sharing family's geohash index (:class:`designpatterns_ref.geo.GeohashIndex`, used
through the geo package's public API: the one place the booking family uses another family) for
the hotels within a radius, nearest first, and keeps those with rooms.

The index is a cache: it can lag the database by the listeners' delivery, so a search result is
a *candidate* and the booking itself is the check (it may still raise ``SoldOut``). The tests hold
the index equal to a recount from the database after random bookings and cancellations.

Bookings notify the index from the bookers' own threads (the race runs one per booker), so one
lock guards its maps: an update (:meth:`~AvailabilityIndex.on_change`,
:meth:`~AvailabilityIndex.set_free`, :meth:`~AvailabilityIndex.add_hotel`) is applied whole, no
update is lost to another thread's read-modify-write, and a search reads a state between
updates. The lock is held for one update or one search, never while calling anything outside
the index, so it cannot deadlock with the database.

Complexity: a search is O(nights * hotels in the city); an update O(nights).

>>> from datetime import date
>>> index = AvailabilityIndex()
>>> index.add_hotel("h1", "lisbon", 38.72, -9.14)
>>> index.set_free("h1", "double", date(2026, 3, 1), 4)
>>> index.search("lisbon", "double", date(2026, 3, 1), date(2026, 3, 2), rooms=2)
['h1']
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date, timedelta

from designpatterns_ref.booking.base import (
    BookingError,
    Stay,
    check_count,
    check_day,
    check_name,
)
from designpatterns_ref.errors import shown

__all__ = ["AvailabilityIndex"]


class AvailabilityIndex:
    """Rooms free per (city, room type, night) and hotel, kept current by booking listeners.

    Safe to update and search from several threads at once (one lock around its maps).
    """

    def __init__(self) -> None:
        from designpatterns_ref.geo import GeohashIndex

        self._lock = threading.Lock()
        self._free: dict[tuple[str, str, date], dict[str, int]] = defaultdict(dict)
        self._city: dict[str, str] = {}
        self._where = GeohashIndex(precision=6, ttl=None)

    def add_hotel(self, hotel: str, city: str, lat: float, lon: float) -> None:
        """Register ``hotel`` in ``city`` at (lat, lon)."""
        check_name(hotel, "hotel")
        check_name(city, "city")
        from designpatterns_ref.geo import GeoError

        with self._lock:
            if hotel in self._city:
                raise BookingError(f"hotel={shown(hotel)} is registered already")
            try:
                self._where.upsert(hotel, lat, lon)
            except GeoError as exc:
                raise BookingError(f"add_hotel: {exc}") from None
            self._city[hotel] = city

    def set_free(self, hotel: str, room_type: str, night: date, free: int) -> None:
        """Set the rooms free of ``room_type`` at ``hotel`` on ``night`` (a recount, or load)."""
        city = self._city_of(hotel)
        check_name(room_type, "room_type")
        check_count(free, "free", 0, 100_000)
        check_day(night, "night")
        with self._lock:
            self._free[(city, room_type, night)][hotel] = free

    def _city_of(self, hotel: object) -> str:
        if not isinstance(hotel, str) or hotel not in self._city:
            raise BookingError(f"hotel={shown(hotel)} is not registered")
        return self._city[hotel]

    def on_change(self, hotel: str, room_type: str, nights: list[date], delta: int) -> None:
        """A booking listener: ``delta`` rooms were taken (positive) or given back (negative).

        ``hotel`` and ``room_type`` are names, ``nights`` a list of dates, ``delta`` an int in
        [-100000, 100000]; anything else raises :class:`BookingError` and changes nothing.
        """
        check_name(hotel, "hotel")
        check_name(room_type, "room_type")
        if not isinstance(nights, list | tuple) or not all(
            isinstance(n, date) and not hasattr(n, "hour") for n in nights
        ):
            raise BookingError(f"nights={shown(nights, 80)} must be a list of datetime.date")
        check_count(delta, "delta", -100_000, 100_000)
        city = self._city.get(hotel)
        if city is None:
            return  # a hotel the index does not cover
        with self._lock:  # read-modify-write: another booker's thread must not interleave
            for night in nights:
                row = self._free[(city, room_type, night)]
                row[hotel] = row.get(hotel, 0) - delta

    def follow(self, strategy: object) -> None:
        """Subscribe to a booking strategy's changes."""
        listeners = getattr(strategy, "listeners", None)
        if not isinstance(listeners, list):
            raise BookingError(f"strategy={shown(strategy)} has no listeners to follow")
        listeners.append(self.on_change)

    def search(
        self, city: str, room_type: str, check_in: date, check_out: date, *, rooms: int = 1
    ) -> list[str]:
        """Hotels of ``city`` with ``rooms`` free on every night, sorted by name."""
        stay = Stay("x", check_name(room_type, "room_type"), check_in, check_out, rooms)
        check_name(city, "city")
        candidates: set[str] | None = None
        with self._lock:
            for night in stay.nights:
                ok = {
                    h
                    for h, free in self._free.get((city, room_type, night), {}).items()
                    if free >= rooms
                }
                candidates = ok if candidates is None else candidates & ok
                if not candidates:
                    return []
        return sorted(candidates or ())

    def near(
        self, lat: float, lon: float, radius_m: float, room_type: str, check_in: date,
        check_out: date, *, rooms: int = 1,
    ) -> list[tuple[str, float]]:  # fmt: skip
        """``(hotel, metres)`` within ``radius_m`` of (lat, lon) with rooms free, nearest first."""
        stay = Stay("x", check_name(room_type, "room_type"), check_in, check_out, rooms)
        from designpatterns_ref.geo import GeoError

        out = []
        with self._lock:
            try:
                nearby = self._where.within(lat, lon, radius_m)
            except GeoError as exc:
                raise BookingError(f"near: {exc}") from None
            for match in nearby:
                city = self._city[match.driver_id]
                if all(
                    self._free.get((city, room_type, stay.check_in + timedelta(days=i)), {}).get(
                        match.driver_id, 0
                    )
                    >= rooms
                    for i in range(len(stay.nights))
                ):
                    out.append((match.driver_id, match.distance_m))
        return out
