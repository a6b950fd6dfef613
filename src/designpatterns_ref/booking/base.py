"""Shared types of the booking family: stays, bookings, holds, the strategy interface, errors.

Case study: Design a Hotel Booking System (docs/case-studies/hotel-booking.md)

A guest books ``rooms`` rooms of one room type for the nights ``check_in`` to ``check_out``
(exclusive): every night or none. Inventory is kept per (hotel, room type, night): ``total``
rooms, ``booked`` of them taken. Every strategy answers the same :class:`BookingStrategy`
interface, ``book(stay) -> Booking``, ``cancel(booking_id)``, ``availability(...)``, so one race
runs against each of them (each on an inventory of its own) and counts who oversells.

Strategies sharing a store: the pessimistic, optimistic, naive and holds strategies all keep
the inventory counters (``booked``), so they see each other's bookings and may sell one room
type together (the naive one still loses updates). The constraint strategy keeps its own
ledger, a row per room and stay, and leaves the counters alone: a room type it sells must not
be sold through another strategy on the same store, or each sells rooms the other has sold.
Every booking records the strategy that made it, and only a strategy of that name cancels it
(another raises :class:`BookingError` and changes nothing).

Bad input raises :class:`BookingError` naming the field; a stay that cannot be had raises
:class:`SoldOut`. Nights are ``datetime.date`` days (a datetime is refused); a stay spans at
most :data:`MAX_NIGHTS` nights.

Complexity: validation is O(nights).

>>> stay = Stay("h1", "double", date(2026, 3, 1), date(2026, 3, 4), guest="ada")
>>> " ".join(n.isoformat() for n in stay.nights)
'2026-03-01 2026-03-02 2026-03-03'
>>> Stay("h1", "double", date(2026, 3, 4), date(2026, 3, 1), guest="ada")
Traceback (most recent call last):
...
designpatterns_ref.booking.base.BookingError: check_out=2026-03-01 must be after check_in=2026-03-04
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Protocol, runtime_checkable

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "MAX_NIGHTS",
    "MAX_ROOMS",
    "Booking",
    "BookingError",
    "BookingStrategy",
    "SoldOut",
    "Stay",
    "StoreUnavailable",
    "check_name",
]

MAX_NIGHTS = 60
MAX_ROOMS = 1000


class BookingError(DesignPatternsError, ValueError):
    """A stay, hotel, room type, count, key or booking id is invalid."""


class StoreUnavailable(BookingError, ConnectionError):
    """The store cannot reach its database: the server refused or dropped the connection.

    A dropped connection is closed and the next call on that thread connects again; the call
    that met the drop cannot tell whether what it was writing committed."""


class SoldOut(DesignPatternsError, RuntimeError):
    """The stay cannot be had: some night has too few rooms left (nothing was booked)."""


def check_name(value: object, name: str) -> str:
    """A non-empty identifier-like str (hotel, room type, guest, key) of at most 200 chars."""
    if not isinstance(value, str) or not value or len(value) > 200:
        raise BookingError(f"{name}={shown(value)} must be a non-empty str of at most 200 chars")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise BookingError(f"{name}={shown(value)} is not encodable as UTF-8") from None
    if "\x00" in value:
        raise BookingError(f"{name}={shown(value)} must not contain NUL")
    return value


def check_number(value: object, name: str, low: float, high: float) -> float:
    """A real number in ``[low, high]`` (huge ints and non-finite floats refused, never coerced)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BookingError(f"{name}={shown(value)} must be a number in [{low}, {high}]")
    if isinstance(value, int):
        if not low <= value <= high:  # compare the int exactly: float() of 10**400 overflows
            raise BookingError(f"{name}={shown(value)} must be a number in [{low}, {high}]")
        return float(value)
    if not (math.isfinite(value) and low <= value <= high):
        raise BookingError(f"{name}={shown(value)} must be a finite number in [{low}, {high}]")
    return value


def check_ratio(value: object, name: str, low: int, high: int) -> Fraction:
    """A number in ``[low, high]`` as the exact ratio it stands for.

    A :class:`~fractions.Fraction`, an int or a :class:`~decimal.Decimal` is taken as it is; a
    float as the decimal it is written as (its shortest repr: 0.3 is 3/10, not the binary value
    a little below it). Anything else, a non-finite number, a value out of range or a
    denominator of more than 400 digits (a float's decimal has at most 324) raises
    :class:`BookingError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction | Decimal):
        raise BookingError(
            f"{name}={shown(value)} must be a number in [{low}, {high}]: an int, a float, a "
            "Fraction or a Decimal"
        )
    if isinstance(value, float | Decimal) and not (
        value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    ):
        raise BookingError(f"{name}={shown(value)} must be a finite number in [{low}, {high}]")
    if not low <= value <= high:  # compared as given: an int or Decimal of any size, exactly
        raise BookingError(f"{name}={shown(value)} must be a number in [{low}, {high}]")
    too_fine = BookingError(
        f"{name}={shown(value)} has a denominator of more than 400 digits; round it"
    )
    if isinstance(value, Decimal) and int(value.as_tuple().exponent) < -1000:
        raise too_fine  # before Fraction() computes 10 to that power
    exact = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    if exact.denominator >= 10**400:
        raise too_fine
    return exact


def check_day(value: object, name: str) -> date:
    """A ``datetime.date``: a datetime (a ``date`` subclass with a time of day) is refused."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise BookingError(
            f"{name}={shown(value, 80)} must be a datetime.date (a day, not a datetime)"
        )
    return value


def check_nights_fit(first: date, nights: int) -> None:
    """``nights`` nights from ``first`` end with a check-out the calendar has (``date.max``)."""
    if (date.max - first).days < nights:
        raise BookingError(
            f"first={shown(first)} and nights={nights} run past the calendar: the last stay checks "
            f"out on first + nights, which must be at most {date.max}"
        )


def check_count(value: object, name: str, low: int = 1, high: int = MAX_ROOMS) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BookingError(f"{name}={shown(value)} must be an int in [{low}, {high}]")
    return value


@dataclass(frozen=True, slots=True)
class Stay:
    """A request: ``rooms`` rooms of ``room_type`` at ``hotel``, ``check_in`` to ``check_out``."""

    hotel: str
    room_type: str
    check_in: date
    check_out: date
    rooms: int = 1
    guest: str = "guest"

    def __post_init__(self) -> None:
        check_name(self.hotel, "hotel")
        check_name(self.room_type, "room_type")
        check_name(self.guest, "guest")
        check_count(self.rooms, "rooms")
        check_day(self.check_in, "check_in")
        check_day(self.check_out, "check_out")
        if self.check_out <= self.check_in:
            raise BookingError(f"check_out={self.check_out} must be after check_in={self.check_in}")
        if (self.check_out - self.check_in).days > MAX_NIGHTS:
            raise BookingError(
                f"a stay spans at most {MAX_NIGHTS} nights, "
                f"not {(self.check_out - self.check_in).days}"
            )

    @property
    def nights(self) -> list[date]:
        """The nights booked, in order (the lock order of the pessimistic strategy)."""
        return [
            self.check_in + timedelta(days=i) for i in range((self.check_out - self.check_in).days)
        ]


@dataclass(frozen=True, slots=True)
class Booking:
    """A confirmed booking; ``attempts`` counts the tries it took (retries after conflicts)."""

    id: int
    stay: Stay
    attempts: int = 1
    room_ids: tuple[int, ...] = ()


@runtime_checkable
class BookingStrategy(Protocol):
    """How a strategy books: every night or none, never more rooms than the inventory."""

    name: str

    def book(self, stay: Stay) -> Booking:
        """Book ``stay`` or raise :class:`SoldOut` (nothing booked)."""
        ...

    def cancel(self, booking_id: int) -> None:
        """Give the booking's rooms back, once; cancelling it again (even concurrently)
        raises :class:`BookingError` and gives nothing back."""
        ...

    def availability(self, hotel: str, room_type: str, check_in: date, check_out: date) -> int:
        """Rooms free on every night of the range (the minimum over the nights)."""
        ...
