"""Naive booking: read what is left, then write it back. Wrong on purpose.

Case study: Design a Hotel Booking System (docs/case-studies/hotel-booking.md)

The version most first drafts contain: read each night's ``booked`` count, check there is room,
then write ``booked = <the count read> + rooms``, in separate statements with no lock and no
version check. Two bookers that read the same count both succeed, and the second write
overwrites the first (a lost update): two bookings, one room taken in the inventory. The race
tests run 200 concurrent bookers against it and count the double bookings; it exists so that the
other strategies have something to be compared with.

Complexity: O(nights) per booking, and no guarantee at all.

>>> import tempfile, os
>>> from datetime import date
>>> from designpatterns_ref.booking.store import SQLiteStore
>>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "h.db"))
>>> store.add_inventory("h1", "double", date(2026, 3, 1), 2, total=1)
>>> NaiveBooking(store).book(Stay("h1", "double", date(2026, 3, 1), date(2026, 3, 2))).id
1
"""

from __future__ import annotations

import time

from designpatterns_ref.booking._common import StrategyBase, nightly
from designpatterns_ref.booking.base import Booking, SoldOut, Stay, check_number
from designpatterns_ref.booking.store import BookingStore

__all__ = ["NaiveBooking"]


class NaiveBooking(StrategyBase):
    """Read, check, write back an absolute count: the lost-update race, kept for comparison."""

    name = "naive"

    def __init__(self, store: BookingStore, *, think: float = 0.0) -> None:
        super().__init__(store)
        self.think = check_number(
            think, "think", 0, 1
        )  # time between the read and the write, as a slow app server

    def book(self, stay: Stay) -> Booking:
        stay = self._check(stay)
        with self.store.transaction(write=False) as tx:
            rows = nightly(tx, stay)
        if len(rows) != len(stay.nights):
            raise SoldOut(f"{stay.hotel} offers no {stay.room_type} on some night of the stay")
        for night, total, booked, _ in rows:
            if total - booked < stay.rooms:
                raise SoldOut(f"{night}: {max(0, total - booked)} of {total} rooms left")
        if self.think:
            time.sleep(self.think)
        with self.store.transaction() as tx:
            for night, _, booked, _ in rows:
                tx(
                    "UPDATE inventory SET booked = ? "
                    "WHERE hotel = ? AND room_type = ? AND night = ?",
                    (booked + stay.rooms, stay.hotel, stay.room_type, night),
                )
            booking_id = self._record(tx, stay)
        self._notify(stay, stay.rooms)
        return Booking(booking_id, stay)
