"""``dpref tour booking``: a race for the last rooms under every strategy, a hold that expires,
an idempotent payment, and overbooking priced as a policy."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import date, timedelta

from designpatterns_ref.booking.constraint import ConstraintBooking
from designpatterns_ref.booking.holds import Holds
from designpatterns_ref.booking.naive import NaiveBooking
from designpatterns_ref.booking.optimistic import OptimisticBooking
from designpatterns_ref.booking.overbooking import best_overbooking, expected_walks
from designpatterns_ref.booking.pessimistic import PessimisticBooking
from designpatterns_ref.booking.race import RaceResult, race, random_stays
from designpatterns_ref.booking.store import SQLiteStore
from designpatterns_ref.clock import ManualClock

__all__ = ["race_all", "tour"]

FIRST = date(2026, 6, 1)


def race_all(bookers: int = 60) -> list[RaceResult]:
    """Every strategy, on a fresh SQLite hotel of 4 rooms for 4 nights, against the same bookers."""
    out = []
    stays = random_stays(bookers, first=FIRST, nights=4, seed=3)
    for make in (
        PessimisticBooking,
        lambda s: OptimisticBooking(s, retries=500),
        lambda s: ConstraintBooking(s, retries=500),
        lambda s: NaiveBooking(s, think=0.005),
    ):
        store = SQLiteStore(os.path.join(tempfile.mkdtemp(prefix="dpref-hotel-"), "hotel.db"))
        store.add_inventory("h1", "double", FIRST, 4, total=4)
        out.append(race(make(store), stays, total=4))
    return out


def tour(out: Callable[[str], None]) -> None:
    """Print the hotel-booking story in a few seconds."""
    out("60 guests click 'book' at the same moment for a hotel with 4 doubles over 4 nights.")
    for r in race_all(60):
        verdict = "OVERSOLD" if r.oversold else "never oversold"
        out(f"  {r.strategy:12} {r.accepted:2} booked, {r.refused:2} refused, at most "
            f"{r.max_sold} rooms sold on a night: {verdict}")  # fmt: skip
    out("  The naive read-then-write lost its updates: several guests hold the same room.")
    out("  (Who wins a race varies run to run; that no lock-based strategy oversells does not.)")

    store = SQLiteStore(os.path.join(tempfile.mkdtemp(prefix="dpref-hotel-"), "hotel.db"))
    store.add_inventory("h1", "double", FIRST, 3, total=1)
    clock = ManualClock()
    holds = Holds(store, ttl=600, clock=clock)
    from designpatterns_ref.booking.base import Stay

    stay = Stay("h1", "double", FIRST, FIRST + timedelta(days=2), guest="ada")
    first = holds.hold(stay)
    free = holds.availability("h1", "double", FIRST, FIRST + timedelta(days=2))
    out(f"\nAda holds the last double for 10 minutes (hold {first}); {free} rooms show free.")
    clock.advance(601)
    out(f"  She walks away; after 10 minutes {holds.expire()} hold expires, the room is free.")
    second = holds.hold(stay)
    booking = holds.confirm(second, "pay-7f3a", amount=18_000)
    again = holds.confirm(second, "pay-7f3a", amount=18_000)
    charges = store.query("SELECT count(*) FROM payments")[0][0]
    out(f"  Her retry of the same payment key returns booking {again.id} again "
        f"(first: {booking.id}); charges made: {charges}.")  # fmt: skip

    sold, profit = best_overbooking(total=100, no_show=0.08, room_revenue=150, walk_cost=400)
    out("\nWith 8% no-shows, a walk costing 400 and a room earning 150,")
    out(f"  the best policy sells {sold} rooms of 100")
    out(f"  (expected walks {expected_walks(sold=sold, total=100, no_show=0.08):.2f} a night, "
        f"expected profit {profit:,.0f}).")  # fmt: skip
