"""Optimistic booking: read without locks, write only if nobody changed the nights meanwhile.

Case study: Design a Hotel Booking System (docs/case-studies/hotel-booking.md)

Every inventory row carries a ``version``. Read the stay's nights (no lock), check availability,
then for each night ``UPDATE ... SET booked = booked + rooms, version = version + 1 WHERE night =
? AND version = <the version read>``. If any update touches no row, somebody booked in between:
roll back and try again from the read, at most ``retries`` times, then give up with
:class:`~designpatterns_ref.booking.base.SoldOut` (an honest "too busy": nothing was booked).

Trade-off: no locks held while the guest's request is checked, so uncontended bookings are
cheap and readers never wait; under contention, work is thrown away and retried, and the
retry budget decides whether a busy night refuses bookers it could have served.

Complexity: O(nights) per attempt; attempts grow with contention, bounded by ``retries``.

>>> import tempfile, os
>>> from datetime import date
>>> from designpatterns_ref.booking.store import SQLiteStore
>>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "h.db"))
>>> store.add_inventory("h1", "double", date(2026, 3, 1), 5, total=2)
>>> hotel = OptimisticBooking(store)
>>> hotel.book(Stay("h1", "double", date(2026, 3, 1), date(2026, 3, 3))).attempts
1
>>> hotel.availability("h1", "double", date(2026, 3, 1), date(2026, 3, 3))
1
"""

from __future__ import annotations

from designpatterns_ref.booking._common import StrategyBase, nightly
from designpatterns_ref.booking.base import Booking, BookingError, SoldOut, Stay
from designpatterns_ref.booking.store import BookingStore
from designpatterns_ref.errors import shown

__all__ = ["OptimisticBooking"]


class _Conflict(Exception):
    """A version check failed: another booking changed a night."""


class OptimisticBooking(StrategyBase):
    """Version-checked compare-and-set per night, with up to ``retries`` retries."""

    name = "optimistic"

    def __init__(self, store: BookingStore, *, retries: int = 50) -> None:
        super().__init__(store)
        if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 10_000:
            raise BookingError(f"retries={shown(retries)} must be an int in [0, 10,000]")
        self.retries = retries

    def book(self, stay: Stay) -> Booking:
        stay = self._check(stay)
        for attempt in range(1, self.retries + 2):
            with self.store.transaction(write=False) as tx:
                rows = nightly(tx, stay)
            if len(rows) != len(stay.nights):
                raise SoldOut(f"{stay.hotel} offers no {stay.room_type} on some night of the stay")
            for night, total, booked, _ in rows:
                if total - booked < stay.rooms:
                    raise SoldOut(f"{night}: {max(0, total - booked)} of {total} rooms left, "
                                  f"{stay.rooms} wanted")  # fmt: skip
            try:
                with self.store.transaction() as tx:
                    for night, _, _, version in rows:
                        tx(
                            "UPDATE inventory SET booked = booked + ?, version = version + 1 "
                            "WHERE hotel = ? AND room_type = ? AND night = ? AND version = ?",
                            (stay.rooms, stay.hotel, stay.room_type, night, version),
                        )
                        if tx.rowcount != 1:
                            raise _Conflict
                    booking_id = self._record(tx, stay)
            except _Conflict:
                continue
            self._notify(stay, stay.rooms)
            return Booking(booking_id, stay, attempts=attempt)
        raise SoldOut(
            f"gave up after {self.retries + 1} attempts: every one met a concurrent booking"
        )
