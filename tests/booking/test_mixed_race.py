"""Threads booking one room type through every counting strategy at once, on both engines.

The pessimistic, optimistic and holds strategies share the inventory counters (their docs say
they may sell one room type together). Threads released at once book, hold and confirm, and
book then cancel, each through its own strategy, on overlapping multi-night stays: no night
ever has more rooms taken than offered, the counters equal a recount from the bookings and the
live holds, and no call fails with anything but SoldOut (a deadlock would show here).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from designpatterns_ref.booking import (
    BookingStore,
    Holds,
    OptimisticBooking,
    PessimisticBooking,
    SoldOut,
    Stay,
)

FIRST = date(2026, 6, 1)
NIGHTS = 4
TOTAL = 5


def _recount(store: BookingStore) -> Counter[date]:
    """Rooms taken per night by live bookings and live holds, from their own tables."""
    taken: Counter[date] = Counter()
    rows = store.query(
        "SELECT check_in, check_out, rooms FROM bookings WHERE status = 'booked' UNION ALL "
        "SELECT check_in, check_out, rooms FROM holds WHERE status = 'held'"
    )
    for check_in, check_out, rooms in rows:
        start, end = store.night(check_in), store.night(check_out)
        for i in range((end - start).days):
            taken[start + timedelta(days=i)] += rooms
    return taken


def test_every_counting_strategy_at_once_never_oversells(
    make_store: Callable[[], BookingStore],
) -> None:
    store = make_store()
    store.add_inventory("h1", "double", FIRST, NIGHTS, total=TOTAL)
    strategies: dict[str, Any] = {
        "pessimistic": PessimisticBooking(store),
        "optimistic": OptimisticBooking(store, retries=500),
        "holds": Holds(store, ttl=3600),
    }
    rng = random.Random(11)
    plans = []
    for i in range(48):
        start = rng.randrange(NIGHTS)
        check_in = FIRST + timedelta(days=start)
        check_out = check_in + timedelta(days=rng.randint(1, NIGHTS - start))
        stay = Stay("h1", "double", check_in, check_out, rooms=rng.choice([1, 1, 2]), guest=f"g{i}")
        plans.append((rng.choice(["pessimistic", "optimistic", "holds", "hold", "cancel"]), stay))
    barrier = threading.Barrier(len(plans))
    errors: list[BaseException] = []

    def one(i: int) -> None:
        kind, stay = plans[i]
        try:
            barrier.wait()
            if kind == "hold":
                hold = strategies["holds"].hold(stay)
                if i % 2:
                    strategies["holds"].confirm(hold, f"pay-{i}", amount=100)
            elif kind == "cancel":
                booking = strategies["pessimistic"].book(stay)
                strategies["pessimistic"].cancel(booking.id)
            else:
                strategies[kind].book(stay)
        except SoldOut:
            pass
        except BaseException as exc:  # pragma: no cover - shown by the test
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(plans))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    taken = _recount(store)
    assert max(taken.values()) <= TOTAL
    assert max(taken.values()) >= TOTAL - 1  # the hot nights sold out: the race was real
    counters = {store.night(n): b for n, b in store.query("SELECT night, booked FROM inventory")}
    assert {n: b for n, b in counters.items() if b} == dict(taken)
