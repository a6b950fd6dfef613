# %% [markdown]
# # Design a Hotel Booking System: never sell a room-night twice
#
# Two guests click "book" on the last double at the same instant. Whatever the web servers do,
# the database must end with at most one of them holding it. This notebook races many bookers
# against four strategies on the same inventory, then follows one guest through a hold that
# expires, a payment retried with the same idempotency key, and an overbooking policy.

# %%
import os
import tempfile
from datetime import date, timedelta

import designpatterns_ref as dp
from designpatterns_ref.booking import (
    ConstraintBooking,
    Holds,
    NaiveBooking,
    OptimisticBooking,
    PessimisticBooking,
    SQLiteStore,
    Stay,
    best_overbooking,
)
from designpatterns_ref.booking.plot import plot_race, plot_throughput
from designpatterns_ref.booking.race import race, random_stays
from designpatterns_ref.clock import ManualClock

FIRST = date(2026, 6, 1)


def fresh_hotel(rooms: int = 5, nights: int = 5) -> SQLiteStore:
    store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "hotel.db"))
    store.add_inventory("h1", "double", FIRST, nights, total=rooms)
    return store


# %% [markdown]
# ## 1. A race for the last rooms
#
# 100 bookers, all released at once, want overlapping stays in a hotel with 5 doubles. The
# pessimistic strategy locks the nights (in night order, so multi-night bookings cannot
# deadlock); the optimistic one checks a version and retries; the constraint one lets the
# database refuse a second stay in a room; the naive one reads, thinks, and writes back.

# %%
stays = random_stays(100, first=FIRST, nights=5, seed=11)
results = [
    race(PessimisticBooking(fresh_hotel()), stays, total=5),
    race(OptimisticBooking(fresh_hotel(), retries=500), stays, total=5),
    race(ConstraintBooking(fresh_hotel(), retries=500), stays, total=5),
    race(NaiveBooking(fresh_hotel(), think=0.005), stays, total=5),
]
for r in results:
    print(f"{r.strategy:12} booked {r.accepted:3}, refused {r.refused:3}, busiest night sold "
          f"{r.max_sold} of {r.total}{'  <- oversold' if r.oversold else ''}")  # fmt: skip

# %%
fig = plot_race(results)
if path := dp.show(fig, "hotel-booking-race"):
    print(f"figure saved to {path}")

# %%
fig = plot_throughput(results)
if path := dp.show(fig, "hotel-booking-throughput"):
    print(f"figure saved to {path}")

# %% [markdown]
# ## 2. Holds and idempotent payments
#
# Checkout takes minutes. A hold takes the room for ten minutes; if the guest leaves it
# expires by itself; a payment retried with the same key books once and charges once.

# %%
store = fresh_hotel(rooms=1)
clock = ManualClock()
holds = Holds(store, ttl=600, clock=clock)
stay = Stay("h1", "double", FIRST, FIRST + timedelta(days=2), guest="ada")
hold = holds.hold(stay)
print("free while held:", holds.availability("h1", "double", FIRST, FIRST + timedelta(days=2)))
clock.advance(601)
print("expired holds:", holds.expire(), "| free again:",
      holds.availability("h1", "double", FIRST, FIRST + timedelta(days=2)))  # fmt: skip
hold = holds.hold(stay)
first = holds.confirm(hold, "pay-7f3a", amount=18_000)
retry = holds.confirm(hold, "pay-7f3a", amount=18_000)
charges = store.query("SELECT count(*) FROM payments")[0][0]
print(f"booking {first.id}, retried payment gives booking {retry.id}; charges: {charges}")

# %% [markdown]
# ## 3. Overbooking as a policy
#
# Some guests never come. Selling a few rooms past capacity fills the hotel; walking a guest
# costs money. The best number to sell depends on both.

# %%
for walk_cost in (100, 400, 2_000):
    sold, profit = best_overbooking(total=100, no_show=0.08, room_revenue=150, walk_cost=walk_cost)
    print(f"walk cost {walk_cost:5}: sell {sold} of 100 rooms (expected profit {profit:,.0f})")
