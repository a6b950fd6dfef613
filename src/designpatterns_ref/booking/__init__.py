"""Hotel booking: sell every room-night at most once, however many guests click at once.

Case study: Design a Hotel Booking System (docs/case-studies/hotel-booking.md)

Strategies behind one interface (``book(stay)``, ``cancel``, ``availability``), each on SQLite
(:class:`SQLiteStore`) or a real PostgreSQL (:class:`PostgresStore`):
:class:`PessimisticBooking` (row locks in night order), :class:`OptimisticBooking` (version
compare-and-set with bounded retries), :class:`ConstraintBooking` (a unique or exclusion
constraint per room) and :class:`NaiveBooking` (read then write: the double booking, on purpose).
:class:`Holds` reserves while the guest pays and converts with idempotent payments;
:mod:`~designpatterns_ref.booking.overbooking` prices overbooking as a policy;
:class:`AvailabilityIndex` answers searches by city or distance.
"""

from __future__ import annotations

from designpatterns_ref.booking.base import (
    MAX_NIGHTS,
    Booking,
    BookingError,
    BookingStrategy,
    SoldOut,
    Stay,
    StoreUnavailable,
)
from designpatterns_ref.booking.constraint import ConstraintBooking
from designpatterns_ref.booking.holds import Holds
from designpatterns_ref.booking.naive import NaiveBooking
from designpatterns_ref.booking.optimistic import OptimisticBooking
from designpatterns_ref.booking.overbooking import best_overbooking, expected_walks
from designpatterns_ref.booking.pessimistic import PessimisticBooking
from designpatterns_ref.booking.search import AvailabilityIndex
from designpatterns_ref.booking.store import BookingStore, PostgresStore, SQLiteStore

__all__ = [
    "MAX_NIGHTS",
    "AvailabilityIndex",
    "Booking",
    "BookingError",
    "BookingStore",
    "BookingStrategy",
    "ConstraintBooking",
    "Holds",
    "NaiveBooking",
    "OptimisticBooking",
    "PessimisticBooking",
    "PostgresStore",
    "SQLiteStore",
    "SoldOut",
    "Stay",
    "StoreUnavailable",
    "best_overbooking",
    "expected_walks",
]
