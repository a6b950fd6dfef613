"""Pessimistic booking: lock the stay's nights, check, then take them.

Case study: Design a Hotel Booking System (docs/case-studies/hotel-booking.md)

The classic answer to "two guests click at once": read the inventory rows of every night of the
stay with ``SELECT ... FOR UPDATE`` (on SQLite, whose locking is per database, ``BEGIN
IMMEDIATE``), so a second booker of the same nights waits; check that each night has ``rooms``
free; add them to ``booked``; commit. Rows are always locked in night order, so two multi-night
bookings that overlap cannot deadlock: each waits for the other in the same order.

On PostgreSQL the whole booking is one statement sent in autocommit mode: a CTE locks the
nights ``FOR UPDATE``, checks them, and only when every night fits updates them and records the
booking, so a booking costs one round trip instead of five (``BEGIN``, read, update, insert,
``COMMIT``), with the same locks in the same order.

Trade-off: simple and never retries, but bookers of a hot night queue behind each other for the
whole transaction; throughput under contention is one booking per lock hold.

An ``overbooking`` allowance (a fraction, say 0.05) lets ``booked`` reach ``total * (1 + x)``
rounded down, computed exactly: a :class:`~fractions.Fraction` (or a ``Decimal``) is taken as it
is, and a float as the decimal it is written as (0.3 is 3/10, not the float just below it;
0.9999999999 of 1 room sells 1, not 2). :meth:`~PessimisticBooking.availability` counts up to
the same limit, so it says what ``book`` accepts: overbooking as a policy with a price (see
:mod:`~designpatterns_ref.booking.overbooking`), not an accident. To sell exactly ``sold`` rooms
on a night of ``total`` (the count :func:`~designpatterns_ref.booking.best_overbooking` picks),
pass ``overbooking=Fraction(sold, total) - 1``: a float such as ``sold / total - 1`` is rounded
in binary (6 / 5 - 1 is 0.19999999999999996, which sells 5 of 5, not 6). Another strategy on the
same inventory sells only up to ``total`` and sees 0 free on an overbooked night, never less.

Complexity: O(nights) rows read and written per booking, under row locks.

>>> import tempfile, os
>>> from datetime import date
>>> from designpatterns_ref.booking.store import SQLiteStore
>>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "h.db"))
>>> store.add_inventory("h1", "double", date(2026, 3, 1), 5, total=1)
>>> hotel = PessimisticBooking(store)
>>> stay = Stay("h1", "double", date(2026, 3, 1), date(2026, 3, 3))
>>> hotel.book(stay).id
1
>>> hotel.book(stay)
Traceback (most recent call last):
...
designpatterns_ref.booking.base.SoldOut: 2026-03-01: 0 of 1 rooms left, 1 wanted
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from designpatterns_ref.booking._common import StrategyBase, nightly
from designpatterns_ref.booking.base import Booking, SoldOut, Stay, check_ratio
from designpatterns_ref.booking.store import BookingStore

__all__ = ["PessimisticBooking"]


class PessimisticBooking(StrategyBase):
    """``SELECT ... FOR UPDATE`` in night order (``BEGIN IMMEDIATE`` on SQLite)."""

    name = "pessimistic"

    def __init__(
        self, store: BookingStore, *, overbooking: float | Fraction | Decimal = 0.0
    ) -> None:
        """``overbooking``: the allowance in [0, 1], an int, float, ``Fraction`` or ``Decimal``
        (kept as :attr:`overbooking`: a float for an int or a float, else as given)."""
        super().__init__(store)
        self._allowance = check_ratio(overbooking, "overbooking", 0, 1)
        self.overbooking = float(overbooking) if isinstance(overbooking, int) else overbooking

    def _capacity(self, total: int) -> int:
        """Rooms that may be sold on a night of ``total`` rooms: ``total * (1 + overbooking)``,
        rounded down, in exact arithmetic (its :meth:`availability` counts from it too)."""
        return math.floor(total * (1 + self._allowance))

    def book(self, stay: Stay) -> Booking:
        stay = self._check(stay)
        if self.store.engine == "postgres":
            return self._book_in_one_statement(stay)
        with self.store.transaction() as tx:
            rows = nightly(tx, stay)
            if len(rows) != len(stay.nights):
                raise SoldOut(f"{stay.hotel} offers no {stay.room_type} on some night of the stay")
            for night, total, booked, _ in rows:
                if self._capacity(total) - booked < stay.rooms:
                    left = max(0, self._capacity(total) - booked)
                    raise SoldOut(f"{night}: {left} of {total} rooms left, {stay.rooms} wanted")
            tx(
                "UPDATE inventory SET booked = booked + ?, version = version + 1 WHERE hotel = ? "
                "AND room_type = ? AND night >= ? AND night < ?",
                (stay.rooms, stay.hotel, stay.room_type, stay.check_in, stay.check_out),
            )
            booking_id = self._record(tx, stay)
        self._notify(stay, stay.rooms)
        return Booking(booking_id, stay)

    def _book_in_one_statement(self, stay: Stay) -> Booking:
        """PostgreSQL: lock, check, take and record in one statement and one round trip.

        The first CTE locks the nights ``FOR UPDATE`` (in night order); at READ COMMITTED a row
        changed by a booking that committed meanwhile is re-read at its newest version, so the
        check sees the rooms really left, and the ``UPDATE`` and ``INSERT`` run only when every
        night fits. Autocommit makes the statement its own transaction: no ``BEGIN`` or
        ``COMMIT`` round trips. The same guarantees as the transaction above, a third of the trips.
        The limit is the same exact ``floor(total * (1 + n / d))``, as the integer quotient
        ``div(total * (d + n), d)`` of numerics (a numeric division would round ``n / d``).
        """
        key = (stay.hotel, stay.room_type, stay.check_in, stay.check_out)
        row = self.store.statement(_ONE_STATEMENT, (
            *key, len(stay.nights),                                  # locked
            self._allowance.denominator + self._allowance.numerator,
            self._allowance.denominator, stay.rooms,                 # ok
            stay.rooms, *key,                                        # upd
            *key, stay.rooms, stay.guest, self.name,                 # ins
        ))  # fmt: skip
        booking_id = row[0][0] if row else None
        if booking_id is None:  # refused: say which night, from a plain read
            rows = self.store.query(
                "SELECT night, total, booked FROM inventory WHERE hotel = ? AND room_type = ? "
                "AND night >= ? AND night < ? ORDER BY night",
                key,
            )
            if len(rows) != len(stay.nights):
                raise SoldOut(f"{stay.hotel} offers no {stay.room_type} on some night of the stay")
            for night, total, booked in rows:
                left = max(0, self._capacity(total) - booked)
                if left < stay.rooms:
                    raise SoldOut(f"{night}: {left} of {total} rooms left, {stay.rooms} wanted")
            raise SoldOut(f"{stay.hotel}: the nights were taken while this booking was checked")
        self._notify(stay, stay.rooms)
        return Booking(int(booking_id), stay)


_ONE_STATEMENT = """
WITH locked AS (
    SELECT night, total, booked FROM inventory
    WHERE hotel = %s AND room_type = %s AND night >= %s AND night < %s
    ORDER BY night FOR UPDATE
), ok AS (
    SELECT count(*) = %s
       AND coalesce(bool_and(div(total * %s::numeric, %s::numeric) - booked >= %s), false)
           AS fits
    FROM locked
), upd AS (
    UPDATE inventory SET booked = booked + %s, version = version + 1
    WHERE hotel = %s AND room_type = %s AND night >= %s AND night < %s
      AND (SELECT fits FROM ok)
    RETURNING night
), ins AS (
    INSERT INTO bookings (hotel, room_type, check_in, check_out, rooms, guest, strategy)
    SELECT %s, %s, %s, %s, %s, %s, %s WHERE (SELECT fits FROM ok)
    RETURNING id
)
SELECT (SELECT id FROM ins), (SELECT count(*) FROM upd)
"""
