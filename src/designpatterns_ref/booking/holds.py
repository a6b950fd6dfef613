"""Holds and idempotent payments: reserve while the guest pays, convert exactly once.

Case study: Design a Hotel Booking System (docs/case-studies/hotel-booking.md)

Checkout takes minutes; the room must not be sold to someone else meanwhile, nor stay blocked if
the guest walks away. :meth:`Holds.hold` takes the rooms from the inventory (as the pessimistic
strategy does: locked rows, checked, incremented) and records a hold that expires ``ttl`` seconds
later on the injected clock. :meth:`Holds.confirm` turns a live hold into a booking and records
the payment under the client's **idempotency key**, in one transaction: a retried confirm with
the same key (the client timed out and sent it again) returns the same booking and charges
nothing more; a different key for an already converted hold is refused. :meth:`Holds.expire`
gives expired holds' rooms back, and every other call (:meth:`~Holds.hold`,
:meth:`~Holds.confirm`, :meth:`~Holds.book`, :meth:`~Holds.availability`) runs it first, once
its arguments are checked: so an availability never counts a hold whose time is up, and a
confirm of such a hold finds it expired and is refused with :class:`SoldOut`. :meth:`~Holds.cancel`
runs it in its own transaction, after its update, so a cancel refused because another cancel of
the same booking got there first, even one that passed every check before, changes nothing. A call
refused for its arguments runs no expiry (it changes nothing): a cancel of a booking that is
unknown, another strategy's or cancelled already, and a confirm of an unknown hold, with a key
used for another payment or with the key of a cancelled booking.

The guarantees, tested with concurrent and repeated confirms: a hold converts at most once; a
key maps to at most one payment; every confirm with the paying key, including a retry racing the
first try, returns that one booking while it is live (once it is cancelled, the key's confirm
is refused with :class:`BookingError`); an expired hold's rooms return to the inventory exactly
once.

Complexity: O(nights) per hold, confirm or expiry.

>>> import tempfile, os
>>> from datetime import date
>>> from designpatterns_ref.clock import ManualClock
>>> from designpatterns_ref.booking.store import SQLiteStore
>>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "h.db"))
>>> store.add_inventory("h1", "double", date(2026, 3, 1), 3, total=1)
>>> holds = Holds(store, ttl=600, clock=ManualClock())
>>> h = holds.hold(Stay("h1", "double", date(2026, 3, 1), date(2026, 3, 2)))
>>> first = holds.confirm(h, "pay-123", amount=9900)
>>> holds.confirm(h, "pay-123", amount=9900) == first   # a retry: same booking, no new charge
True
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import date

from designpatterns_ref.booking._common import StrategyBase, add_booked, nightly
from designpatterns_ref.booking.base import (
    Booking,
    BookingError,
    SoldOut,
    Stay,
    check_name,
)
from designpatterns_ref.booking.store import BookingStore, Tx
from designpatterns_ref.clock import read_seconds
from designpatterns_ref.errors import shown

__all__ = ["Holds"]


class Holds(StrategyBase):
    """Expiring holds on inventory, converted to bookings by idempotent payments."""

    name = "holds"

    def __init__(
        self, store: BookingStore, *, ttl: float = 600.0, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(store)
        # NaN fails both comparisons; an int is compared exactly (no float() of a huge one)
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl <= 86_400:
            raise BookingError(f"ttl={shown(ttl)} must be seconds in (0, 86400]")
        if not callable(clock):
            raise BookingError(f"clock={shown(clock)} must be a callable returning seconds")
        self.ttl = float(ttl)
        self.clock = clock

    def _now(self) -> float:
        return read_seconds(self.clock, BookingError, "Holds")

    def hold(self, stay: Stay) -> int:
        """Take ``stay``'s rooms for ``ttl`` seconds; return the hold id (or raise SoldOut)."""
        stay = self._check(stay)
        now = self._now()
        self._expire(now)
        with self.store.transaction() as tx:
            hold_id = self._hold(tx, stay, now + self.ttl)
        self._notify(stay, stay.rooms)
        return hold_id

    def _hold(self, tx: Tx, stay: Stay, expires_at: float, booking_id: int | None = None) -> int:
        """Lock the stay's nights (in night order), check, take the rooms and record the hold:
        ``'held'``, or ``'converted'`` to ``booking_id`` when given; its id."""
        lock = "FOR UPDATE" if self.store.engine == "postgres" else ""
        rows = nightly(tx, stay, lock)
        if len(rows) != len(stay.nights):
            raise SoldOut(f"{stay.hotel} offers no {stay.room_type} on some night of the stay")
        for night, total, booked, _ in rows:
            if total - booked < stay.rooms:
                raise SoldOut(f"{night}: {max(0, total - booked)} of {total} rooms left")
        self._take(tx, stay, stay.rooms)
        rows = tx(
            "INSERT INTO holds (hotel, room_type, check_in, check_out, rooms, guest, "
            "expires_at, status, booking_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (stay.hotel, stay.room_type, stay.check_in, stay.check_out, stay.rooms,
             stay.guest, expires_at, "held" if booking_id is None else "converted", booking_id),
        )  # fmt: skip
        return int(rows[0][0])

    def _take(self, tx: Tx, stay: Stay, rooms: int) -> None:
        tx(
            "UPDATE inventory SET booked = booked + ?, version = version + 1 WHERE hotel = ? "
            "AND room_type = ? AND night >= ? AND night < ?",
            (rooms, stay.hotel, stay.room_type, stay.check_in, stay.check_out),
        )

    def _stay_of(self, row: tuple[object, ...]) -> Stay:
        hotel, room_type, check_in, check_out, rooms, guest = row
        return Stay(str(hotel), str(room_type), self.store.night(check_in),
                    self.store.night(check_out), int(rooms), str(guest))  # type: ignore[call-overload]  # fmt: skip

    def confirm(self, hold_id: int, idempotency_key: str, *, amount: int) -> Booking:
        """Pay for a live hold and book it; the same key again returns the same booking.

        The same key, hold and amount always get the one booking, also when a retry races its
        first try: the loser of the race, finding the hold converted, re-reads the payment and
        returns that booking if the payment is this key's. A different key for a converted hold
        gets :class:`SoldOut`; the same key with another hold or amount :class:`BookingError`,
        also when both confirms run at once (the payments' primary key decides, and the
        refused confirm's hold stays held). A hold whose time is up is expired first (its
        rooms given back) and its confirm refused with :class:`SoldOut` ("expired").

        Once the booking a key paid for is cancelled, a confirm with that key raises
        :class:`BookingError` ("was cancelled"): the payment stands, and the booking is not
        handed back as if it were live. A confirm refused for its arguments (an unknown hold,
        a key used for another payment, a key whose booking was cancelled) runs no expiry.
        """
        if not isinstance(hold_id, int) or isinstance(hold_id, bool) or not 0 < hold_id < 2**63:
            raise BookingError(f"hold_id={shown(hold_id)} must be a positive int")
        check_name(idempotency_key, "idempotency_key")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount < 2**53:
            raise BookingError(
                f"amount={shown(amount)} must be an int of minor units in [0, 2**53)"
            )
        now = self._now()
        with self.store.transaction(write=False) as tx:  # refused for its arguments: no expiry
            if self._paid(tx, hold_id, idempotency_key, amount) is None and not tx(
                "SELECT 1 FROM holds WHERE id = ?", (hold_id,)
            ):
                raise BookingError(f"hold_id={hold_id} is unknown")
        self._expire(now)  # an expired hold is marked so, and refused below as expired
        try:
            return self._convert(hold_id, idempotency_key, amount, now)
        except self.store.integrity_errors:
            # payments' primary key: a concurrent confirm of another hold took this key first
            # (ours rolled back, the hold is still held); the payment now in place decides
            with self.store.transaction(write=False) as tx:
                done = self._paid(tx, hold_id, idempotency_key, amount)
            if done is None:  # pragma: no cover - the key's payment is committed by now
                raise
            return done

    def _convert(self, hold_id: int, idempotency_key: str, amount: int, now: float) -> Booking:
        with self.store.transaction() as tx:
            done = self._paid(tx, hold_id, idempotency_key, amount)
            if done is not None:
                return done
            rows = tx("SELECT hotel, room_type, check_in, check_out, rooms, guest, expires_at, "
                      "status FROM holds WHERE id = ?", (hold_id,))  # fmt: skip
            if not rows:
                raise BookingError(f"hold_id={hold_id} is unknown")
            *fields, expires_at, status = rows[0]
            live = status == "held" and expires_at > now
            if live:
                tx("UPDATE holds SET status = 'converted' WHERE id = ? AND status = 'held'",
                   (hold_id,))  # fmt: skip
                live = tx.rowcount == 1
                if not live:  # a concurrent confirm or expiry won: the status it left
                    status = tx("SELECT status FROM holds WHERE id = ?", (hold_id,))[0][0]
            if not live:
                # A confirm that committed since the first read (at READ COMMITTED each statement
                # sees the newest commits) may have been this key's own first try: its booking.
                done = self._paid(tx, hold_id, idempotency_key, amount)
                if done is not None:
                    return done
                if status == "converted":
                    raise SoldOut(f"hold {hold_id} was converted by another payment")
                raise SoldOut(f"hold {hold_id} is {'expired' if status == 'held' else status}")
            stay = self._stay_of(tuple(fields))
            booking_id = self._record(tx, stay)
            tx("UPDATE holds SET booking_id = ? WHERE id = ?", (booking_id, hold_id))
            tx("INSERT INTO payments (idempotency_key, hold_id, booking_id, amount) "
               "VALUES (?, ?, ?, ?)",
               (idempotency_key, hold_id, booking_id, amount))  # fmt: skip
        return Booking(booking_id, stay)

    def _paid(self, tx: Tx, hold_id: int, key: str, amount: int) -> Booking | None:
        """The booking this key already paid for (None if unused); another hold or amount under
        the same key is refused, and so is the key of a booking cancelled since."""
        paid = tx("SELECT hold_id, booking_id, amount FROM payments WHERE idempotency_key = ?",
                  (key,))  # fmt: skip
        if not paid:
            return None
        if paid[0][0] != hold_id or paid[0][2] != amount:
            raise BookingError(f"idempotency_key={shown(key)} was used for another payment")
        booking_id = int(paid[0][1])
        rows = tx("SELECT hotel, room_type, check_in, check_out, rooms, guest, status "
                  "FROM bookings WHERE id = ?", (booking_id,))  # fmt: skip
        *fields, status = rows[0]
        if status != "booked":
            raise BookingError(
                f"idempotency_key={shown(key)} paid for booking {booking_id}, which was {status}"
            )
        return Booking(booking_id, self._stay_of(tuple(fields)))

    def expire(self) -> int:
        """Give back the rooms of every hold past its expiry; return how many expired.

        A hold expires when the clock reaches its expiry (``expires_at <= now``).
        """
        return self._expire(self._now())

    def _expire(self, now: float) -> int:
        """Mark the holds whose time is up expired and give their rooms back, in one
        transaction (:meth:`_expire_in`); then tell the listeners."""
        with self.store.transaction() as tx:
            back: Counter[tuple[str, str, date]] = Counter()
            released = self._expire_in(tx, now, back)
            add_booked(tx, back)
        for stay in released:
            self._notify(stay, -stay.rooms)
        return len(released)

    def _expire_in(self, tx: Tx, now: float, back: Counter[tuple[str, str, date]]) -> list[Stay]:
        """Mark the holds whose time is up expired (in id order) and add the rooms they give
        back to ``back``, summed per night, for one :func:`add_booked`, night by night in order:
        taking the nights hold by hold deadlocked with a booking that had locked an earlier
        night of a later hold. The stays released."""
        released = []
        rows = tx("SELECT id, hotel, room_type, check_in, check_out, rooms, guest FROM holds "
                  "WHERE status = 'held' AND expires_at <= ? ORDER BY id", (now,))  # fmt: skip
        for hold_id, *fields in rows:
            tx("UPDATE holds SET status = 'expired' WHERE id = ? AND status = 'held'", (hold_id,))
            if tx.rowcount == 1:
                stay = self._stay_of(tuple(fields))
                for night in stay.nights:
                    back[stay.hotel, stay.room_type, night] -= stay.rooms
                released.append(stay)
        return released

    def cancel(self, booking_id: int) -> None:
        """Cancel the booking and give back expired holds' rooms, in one transaction.

        The booking's status changes first (``WHERE status = 'booked'``), then the holds whose
        time is up are marked expired, and the rooms of both come back in one pass over the
        nights in order (:func:`add_booked`). A cancel refused for its booking (unknown, made by
        another strategy, or cancelled already, also by another cancel of it at the same moment
        that got there after this one's read) rolls the transaction back: it changes nothing,
        the expiry included, and a crash midway leaves nothing of either."""
        booking_id = self._check_id(booking_id)
        now = self._now()
        with self.store.transaction() as tx:
            stay = self._load(tx, booking_id)
            self._set_cancelled(tx, booking_id)
            back: Counter[tuple[str, str, date]] = Counter()
            released = self._expire_in(tx, now, back)
            for night in stay.nights:
                back[stay.hotel, stay.room_type, night] -= stay.rooms
            add_booked(tx, back)
        for expired in released:
            self._notify(expired, -expired.rooms)
        self._notify(stay, -stay.rooms)

    def availability(self, hotel: str, room_type: str, check_in: date, check_out: date) -> int:
        """Rooms free on every night, once the holds whose time is up have given theirs back."""
        stay = Stay(
            check_name(hotel, "hotel"), check_name(room_type, "room_type"), check_in, check_out
        )
        self._expire(self._now())
        return super().availability(stay.hotel, stay.room_type, stay.check_in, stay.check_out)

    def book(self, stay: Stay) -> Booking:
        """Hold and book at once, in one transaction: a free booking, with no payment recorded.

        The hold is recorded already converted to the booking. With no idempotency key of its
        own, no key a client paid with can collide with it, and a refused book (:class:`SoldOut`)
        holds nothing.
        """
        stay = self._check(stay)
        now = self._now()
        self._expire(now)
        with self.store.transaction() as tx:
            booking_id = self._record(tx, stay)
            self._hold(tx, stay, now + self.ttl, booking_id)
        self._notify(stay, stay.rooms)
        return Booking(booking_id, stay)
