"""Pieces the booking strategies share: the store check, recording a booking, cancelling."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from designpatterns_ref.booking.base import BookingError, Stay, check_name
from designpatterns_ref.booking.store import BookingStore, Tx
from designpatterns_ref.errors import shown

Listener = Callable[[str, str, list[date], int], None]

log = logging.getLogger("designpatterns_ref.booking")


class StrategyBase:
    """The store, the change listeners (the search index), argument checks and bookkeeping."""

    name = "base"

    def __init__(self, store: BookingStore) -> None:
        if not isinstance(store, BookingStore):
            raise BookingError(f"store={shown(store)} must be a SQLiteStore or PostgresStore")
        self.store = store
        self.listeners: list[Listener] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store.engine})"

    def _check(self, stay: object) -> Stay:
        if not isinstance(stay, Stay):
            raise BookingError(f"stay={shown(stay)} must be a Stay")
        return stay

    def _notify(self, stay: Stay, delta: int) -> None:
        """Tell every listener that ``delta`` rooms of ``stay`` were taken (or given back).

        It runs after the commit: the booking (or cancel, or expiry) has happened whatever a
        listener does. So a listener that raises does not make the call raise (its caller would
        take the booking for refused and book again), nor keep the listeners after it from
        hearing (the search index would drift): its exception (an ``Exception``) is logged on
        the ``designpatterns_ref.booking`` logger with its traceback, the next listener is
        called, and the call returns as if nothing had happened. A listener that must not miss
        a change handles its own failures (the index can be reloaded with ``set_free``)."""
        for listener in list(self.listeners):
            try:
                listener(stay.hotel, stay.room_type, stay.nights, delta)
            except Exception:
                log.exception(
                    "%s: listener %r failed on a change of %+d rooms of %s %s (%s to %s); "
                    "the change is committed and the other listeners were told",
                    type(self).__name__, listener, delta, stay.hotel, stay.room_type,
                    stay.check_in, stay.check_out,
                )  # fmt: skip

    def _record(self, tx: Tx, stay: Stay) -> int:
        rows = tx(
            "INSERT INTO bookings (hotel, room_type, check_in, check_out, rooms, guest, "
            "strategy) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (stay.hotel, stay.room_type, stay.check_in, stay.check_out, stay.rooms, stay.guest,
             self.name),
        )  # fmt: skip
        return int(rows[0][0])

    def _check_id(self, booking_id: object) -> int:
        if (
            not isinstance(booking_id, int)
            or isinstance(booking_id, bool)
            or not 0 < booking_id < 2**63
        ):
            raise BookingError(f"booking_id={shown(booking_id)} must be a positive int")
        return booking_id

    def _load(self, tx: Tx, booking_id: object) -> Stay:
        booking_id = self._check_id(booking_id)
        rows = tx(
            "SELECT hotel, room_type, check_in, check_out, rooms, guest, status, strategy "
            "FROM bookings WHERE id = ?",
            (booking_id,),
        )
        if not rows:
            raise BookingError(f"booking_id={booking_id} is unknown")
        hotel, room_type, check_in, check_out, rooms, guest, status, strategy = rows[0]
        if strategy != self.name:  # its rooms are in another strategy's ledger
            raise BookingError(
                f"booking_id={booking_id} was made by the {strategy} strategy; cancel it with "
                f"that strategy, not {type(self).__name__} ({self.name})"
            )
        if status != "booked":
            raise BookingError(f"booking_id={booking_id} is already {status}")
        return Stay(hotel, room_type, self.store.night(check_in), self.store.night(check_out),
                    rooms, guest)  # fmt: skip

    def cancel(self, booking_id: int) -> None:
        """Give the booking's rooms back on every night, once.

        Only a strategy of the kind that made the booking (the same :attr:`name`, recorded with
        the booking) cancels it; another raises :class:`BookingError` and changes nothing: the
        constraint strategy's rooms are in its own rows, not in the counters the others keep.

        A booking cancels once: cancelling it again, even at the same moment from another
        connection, raises :class:`BookingError` ("already cancelled") and gives nothing back.
        The status changes only from ``'booked'`` (``UPDATE ... WHERE status = 'booked'``), and
        the rooms are released only by the cancel whose update changed the row: on PostgreSQL
        at READ COMMITTED a concurrent cancel waits for that row and then finds it cancelled.
        """
        with self.store.transaction() as tx:
            stay = self._load(tx, booking_id)
            self._set_cancelled(tx, booking_id)
            self._release(tx, booking_id, stay)
        self._notify(stay, -stay.rooms)

    def _set_cancelled(self, tx: Tx, booking_id: int) -> None:
        """Mark the booking cancelled, or raise :class:`BookingError` if a concurrent cancel
        committed after our read (the caller's transaction then rolls back)."""
        tx(
            "UPDATE bookings SET status = 'cancelled' WHERE id = ? AND status = 'booked'",
            (booking_id,),
        )
        if tx.rowcount != 1:
            raise BookingError(f"booking_id={booking_id} is already cancelled")

    def _release(self, tx: Tx, booking_id: int, stay: Stay) -> None:
        add_booked(tx, {(stay.hotel, stay.room_type, night): -stay.rooms for night in stay.nights})

    def _capacity(self, total: int) -> int:
        """Rooms this strategy may sell on a night of ``total`` rooms (more with overbooking)."""
        return total

    def availability(self, hotel: str, room_type: str, check_in: date, check_out: date) -> int:
        """Rooms this strategy would still book on every night of ``check_in .. check_out``.

        The least over the nights of ``capacity - booked``, where the capacity is what the
        strategy sells (``total``, or more with an overbooking allowance): the count its
        ``book`` accepts. Never below 0 (a night overbooked by another strategy has none left),
        and 0 if any night is not offered.
        """
        stay = Stay(
            check_name(hotel, "hotel"), check_name(room_type, "room_type"), check_in, check_out
        )
        rows = self.store.query(
            "SELECT total, booked FROM inventory WHERE hotel = ? AND room_type = ? "
            "AND night >= ? AND night < ?",
            (stay.hotel, stay.room_type, stay.check_in, stay.check_out),
        )
        if len(rows) != len(stay.nights):
            return 0
        return max(0, min(self._capacity(int(total)) - int(booked) for total, booked in rows))


def add_booked(tx: Tx, changes: Mapping[tuple[str, str, date], int]) -> None:
    """Add each change to its night's ``booked`` (and bump its version), keyed by (hotel, room
    type, night), one night at a time in that order.

    That is the order in which every writer takes inventory rows (the strategies lock a stay's
    nights in night order), so two writers never wait for each other in a cycle: a deadlock on
    PostgreSQL. One ``UPDATE ... WHERE night >= ? AND night < ?`` would lock its rows in
    whatever order the plan visits them (a sequential scan: the order on disk).
    """
    for (hotel, room_type, night), delta in sorted(changes.items()):
        if delta:
            tx(
                "UPDATE inventory SET booked = booked + ?, version = version + 1 WHERE hotel = ? "
                "AND room_type = ? AND night = ?",
                (delta, hotel, room_type, night),
            )


def nightly(tx: Tx, stay: Stay, lock: str = "") -> list[tuple[Any, int, int, int]]:
    """The stay's inventory rows ``(night, total, booked, version)`` in night order."""
    return tx(
        "SELECT night, total, booked, version FROM inventory WHERE hotel = ? AND room_type = ? "
        f"AND night >= ? AND night < ? ORDER BY night {lock}",
        (stay.hotel, stay.room_type, stay.check_in, stay.check_out),
    )
