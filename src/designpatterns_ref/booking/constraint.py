"""Constraint booking: let the database refuse a double booking of a room.

Case study: Design a Hotel Booking System (docs/case-studies/hotel-booking.md)

Instead of counting rooms per night, give every physical room its own rows and let a constraint
forbid two stays in one room on one night. On PostgreSQL that is one row per stay,
``room_stays(room_id, stay daterange)``, under an exclusion constraint ``EXCLUDE USING gist
(int4range(room_id, room_id, '[]') WITH &&, stay WITH &&)``: two rows whose rooms are equal and
whose date ranges overlap cannot both exist (``int4range`` stands in for the ``btree_gist``
equality operator, so no extension is needed). On SQLite it is one row per room and night, ``UNIQUE
(room_id, night)``. The type has as many rooms as the largest ``total`` ever offered for it,
numbered 1, 2, ... (:meth:`~designpatterns_ref.booking.BookingStore.add_inventory` makes them
once); a night offered with ``total`` rooms lends out rooms 1 to ``total``, and a night never
offered none, so a stay may only take rooms numbered up to ``min(total)`` over its nights, and only
if every night is offered. The strategy picks free rooms among those; a violation means a
concurrent booker took that room, so it looks again. Under a simultaneous race PostgreSQL may
answer with a deadlock (40P01) or a serialisation failure instead of the exclusion violation
(23P01): all three mean "conflict", and the strategy retries, at most ``retries`` times. Two
bookers inserting overlapping stays into one room can each end up waiting for the other, a deadlock
PostgreSQL only finds after ``deadlock_timeout`` (a second): each attempt therefore sets a 50 ms
``lock_timeout``, so such a wait becomes a quick conflict and a retry after a short random
back-off.

Trade-off: the one-stay-per-room-night rule lives in the schema, where no application bug or
race can bypass it, and the guest gets a concrete room; the price is a row per room per stay and
a scan over rooms under contention. That a night sells no more than its ``total`` rests on the
rule above (only rooms 1 to ``total`` are lent out that night) together with the constraint:
the rule is in this strategy's query, not in the schema, and is race-free because a night's
``total`` and the rooms' numbers never change once written. Checking availability means
counting the rooms that may hold the stay and have no overlapping stay; with rooms already
claimed for other nights (fragmentation) it may be lower than the per-night counts of the other
strategies, never higher.

Complexity: O(rooms tried * nights) per booking on SQLite; O(rooms tried * log stays) on
PostgreSQL (the GiST index).

>>> import tempfile, os
>>> from datetime import date
>>> from designpatterns_ref.booking.store import SQLiteStore
>>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "h.db"))
>>> store.add_inventory("h1", "double", date(2026, 3, 1), 5, total=2)
>>> hotel = ConstraintBooking(store)
>>> stay = Stay("h1", "double", date(2026, 3, 1), date(2026, 3, 3))
>>> sorted(hotel.book(stay).room_ids + hotel.book(stay).room_ids)
[1, 2]
>>> hotel.availability("h1", "double", date(2026, 3, 2), date(2026, 3, 4))
0
"""

from __future__ import annotations

import random
import time
from datetime import date

from designpatterns_ref.booking._common import StrategyBase
from designpatterns_ref.booking.base import Booking, BookingError, SoldOut, Stay, check_name
from designpatterns_ref.booking.store import BookingStore, Tx
from designpatterns_ref.errors import shown

__all__ = ["ConstraintBooking"]

# exclusion violation, deadlock, serialisation failure, unique violation, lock wait timed out
_CONFLICT_STATES = ("23P01", "40P01", "40001", "23505", "55P03")


class ConstraintBooking(StrategyBase):
    """Rooms claimed under a unique (SQLite) or exclusion (PostgreSQL) constraint."""

    name = "constraint"

    def __init__(self, store: BookingStore, *, retries: int = 20) -> None:
        super().__init__(store)
        if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 10_000:
            raise BookingError(f"retries={shown(retries)} must be an int in [0, 10,000]")
        self.retries = retries

    def _conflict(self, exc: BaseException) -> bool:
        if isinstance(exc, self.store.integrity_errors):
            return True
        return getattr(exc, "sqlstate", None) in _CONFLICT_STATES

    def _claim(self, tx: Tx, room: int, stay: Stay, booking_id: int) -> None:
        if self.store.engine == "postgres":
            tx(
                "INSERT INTO room_stays (room_id, stay, booking_id) VALUES (?, daterange(?, ?), ?)",
                (room, stay.check_in, stay.check_out, booking_id),
            )
        else:
            for night in stay.nights:
                tx(
                    "INSERT INTO room_nights (room_id, night, booking_id) VALUES (?, ?, ?)",
                    (room, night, booking_id),
                )

    def _free_rooms(self, stay: Stay, limit: int | None = None) -> list[int]:
        """The rooms that may hold ``stay``, by room number (at most ``limit`` of them).

        A room may hold a stay when every night of it is offered, the room's number is at
        most ``total`` on each of those nights (at most ``min(total)`` over the stay), and no
        stay of the room overlaps it. So a night whose ``total`` is 2 lends out rooms 1 and 2
        only, and the constraint keeps each of them to one stay a night:
        no night sells more than its ``total``, and a night never offered sells nothing.
        """
        if self.store.engine == "postgres":
            taken = (
                "SELECT 1 FROM room_stays s WHERE s.room_id = r.id AND s.stay && daterange(?, ?)"
            )
        else:
            taken = (
                "SELECT 1 FROM room_nights n WHERE n.room_id = r.id AND n.night >= ? "
                "AND n.night < ?"
            )
        # a stay may use rooms numbered up to min(total) over its nights (none if a night is
        # not offered); the scan walks the type's rooms by number and stops at ``limit``
        sql = (
            "SELECT id FROM rooms r WHERE hotel = ? AND room_type = ? AND number <= "
            "(SELECT CASE WHEN count(*) = ? THEN min(total) ELSE 0 END FROM inventory "
            "WHERE hotel = ? AND room_type = ? AND night >= ? AND night < ?) "
            f"AND NOT EXISTS ({taken}) ORDER BY number"
        )
        where = (stay.hotel, stay.room_type, stay.check_in, stay.check_out)
        params: tuple[object, ...] = (
            stay.hotel, stay.room_type, len(stay.nights), *where, stay.check_in, stay.check_out,
        )  # fmt: skip
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        return [int(r[0]) for r in self.store.query(sql, params)]

    def _sold_out(self, stay: Stay, free: int) -> SoldOut:
        """Why ``stay`` cannot be had: a night not offered, or too few rooms free."""
        rows = self.store.query(
            "SELECT count(*) FROM inventory WHERE hotel = ? AND room_type = ? AND night >= ? "
            "AND night < ?",
            (stay.hotel, stay.room_type, stay.check_in, stay.check_out),
        )
        if rows[0][0] != len(stay.nights):
            return SoldOut(f"{stay.hotel} offers no {stay.room_type} on some night of the stay")
        return SoldOut(f"{free} {stay.room_type} rooms free for the stay, {stay.rooms} wanted")

    def book(self, stay: Stay) -> Booking:
        stay = self._check(stay)
        rng = random.Random()
        for attempt in range(1, self.retries + 2):
            # a few free rooms, not all: concurrent bookers pick at random among them, so they
            # rarely collide on the same room, and the scan stops early
            free = self._free_rooms(stay, limit=stay.rooms + 8)
            if len(free) < stay.rooms:
                raise self._sold_out(stay, len(free))
            chosen = sorted(rng.sample(free, stay.rooms))
            try:
                with self.store.transaction() as tx:
                    if self.store.engine == "postgres":
                        # Two bookers inserting overlapping stays into one room each wait for the
                        # other's transaction: a deadlock PostgreSQL finds only after
                        # deadlock_timeout (1 s). A short lock_timeout turns any such wait into a
                        # quick conflict instead, and the retry below looks again.
                        tx("SET LOCAL lock_timeout = '50ms'")
                    booking_id = self._record(tx, stay)
                    for room in chosen:
                        self._claim(tx, room, stay, booking_id)
            except Exception as exc:
                if self._conflict(exc):
                    # another booker took one of these rooms: back off a little, look again
                    time.sleep(rng.uniform(0, 0.002 * min(attempt, 10)))
                    continue
                raise
            self._notify(stay, stay.rooms)
            return Booking(booking_id, stay, attempt, tuple(chosen))
        raise SoldOut(
            f"gave up after {self.retries + 1} attempts: every one met a concurrent booking"
        )

    def _release(self, tx: Tx, booking_id: int, stay: Stay) -> None:
        table = "room_stays" if self.store.engine == "postgres" else "room_nights"
        tx(f"DELETE FROM {table} WHERE booking_id = ?", (booking_id,))

    def availability(self, hotel: str, room_type: str, check_in: date, check_out: date) -> int:
        stay = Stay(
            check_name(hotel, "hotel"), check_name(room_type, "room_type"), check_in, check_out
        )
        return len(self._free_rooms(stay))
