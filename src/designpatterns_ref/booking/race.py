"""Race bookers against a strategy and count what happened: the experiment behind the case study.

Case study: Design a Hotel Booking System (docs/case-studies/hotel-booking.md)

:func:`race` releases ``len(stays)`` booking threads at once against one strategy and returns a
:class:`RaceResult`: bookings accepted, refusals, the most rooms sold on any one night of one
hotel and room type the race asked for (recounted after the race from the store's live
bookings, not read from the inventory counters the naive strategy corrupts; bookings made before
the race count too, since the rooms they hold are sold just the same), attempts per booking and
the wall time. :func:`random_stays` makes reproducible
overlapping stays. The tour, the example, the plots and the benchmarks all run this one
experiment.

Complexity: O(stays * nights) database work, spread over the threads.

>>> stays = random_stays(3, first=date(2026, 6, 1), nights=4, seed=1)
>>> " ".join(s.guest for s in stays)
'g0 g1 g2'
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from designpatterns_ref.booking.base import (
    Booking,
    BookingError,
    SoldOut,
    Stay,
    check_count,
    check_day,
    check_name,
    check_nights_fit,
)
from designpatterns_ref.booking.store import BookingStore
from designpatterns_ref.errors import shown

__all__ = ["MAX_BOOKERS", "RaceResult", "race", "random_stays", "sold_per_night"]

#: The most bookers (threads) one race releases.
MAX_BOOKERS = 1000


@dataclass(frozen=True, slots=True)
class RaceResult:
    """What one race did: accepted bookings, refusals, peak rooms sold, attempts and time.

    ``max_sold`` is the most rooms sold on one night of one hotel and room type that the race's
    stays asked for, recounted after the race from the store's live bookings: the race's own
    and any made before it (by any strategy; cancelled ones not). ``oversold`` says it exceeds
    ``total``, the rooms each of those offers: so a night filled by earlier bookings and then
    sold again by the race is oversold, however few rooms the race itself took.
    """

    strategy: str
    engine: str
    accepted: int
    refused: int
    max_sold: int
    total: int
    attempts: int
    seconds: float

    @property
    def oversold(self) -> bool:
        return self.max_sold > self.total


def random_stays(
    n: int, *, first: date, nights: int, seed: int = 0, hotel: str = "h1", room_type: str = "double"
) -> list[Stay]:
    """``n`` overlapping stays of 1 to ``nights`` nights, 1 or 2 rooms, seeded."""
    check_count(n, "n", 1, 100_000)
    check_count(nights, "nights", 1, 60)
    check_nights_fit(check_day(first, "first"), nights)
    if type(seed) is not int:
        raise BookingError(f"seed={shown(seed, 80)} must be an int")
    check_name(hotel, "hotel")
    check_name(room_type, "room_type")
    rng = random.Random(seed)
    stays = []
    for i in range(n):
        start = rng.randrange(nights)
        length = rng.randint(1, nights - start)
        check_in = first + timedelta(days=start)
        rooms = rng.choice([1, 1, 1, 2])
        stays.append(
            Stay(hotel, room_type, check_in, check_in + timedelta(days=length), rooms, f"g{i}")
        )
    return stays


def sold_per_night(store: BookingStore) -> Counter[date]:
    """Rooms sold per night, recounted from the store's live bookings (every hotel and room
    type summed: one hotel's room type on a store of its own)."""
    if not isinstance(store, BookingStore):
        raise BookingError(f"store={shown(store, 80)} must be a SQLiteStore or PostgresStore")
    sold: Counter[date] = Counter()
    for check_in, check_out, rooms in store.query(
        "SELECT check_in, check_out, rooms FROM bookings WHERE status = 'booked'"
    ):
        start, end = store.night(check_in), store.night(check_out)
        for i in range((end - start).days):
            sold[start + timedelta(days=i)] += rooms
    return sold


def _sold_on(store: BookingStore, stays: Sequence[Stay]) -> Counter[tuple[str, str, date]]:
    """Rooms sold per (hotel, room type, night) on the nights ``stays`` ask for, recounted from
    the store's live bookings (one read per hotel and room type, over the stays' span)."""
    asked: dict[tuple[str, str], set[date]] = {}
    for stay in stays:
        asked.setdefault((stay.hotel, stay.room_type), set()).update(stay.nights)
    sold: Counter[tuple[str, str, date]] = Counter()
    for (hotel, room_type), nights in sorted(asked.items()):
        for check_in, check_out, rooms in store.query(
            "SELECT check_in, check_out, rooms FROM bookings WHERE hotel = ? AND room_type = ? "
            "AND status = 'booked' AND check_in <= ? AND check_out > ?",
            (hotel, room_type, max(nights), min(nights)),
        ):
            start, end = store.night(check_in), store.night(check_out)
            for i in range((end - start).days):
                night = start + timedelta(days=i)
                if night in nights:
                    sold[hotel, room_type, night] += int(rooms)
    return sold


def race(strategy: object, stays: Sequence[Stay], *, total: int) -> RaceResult:
    """Book every stay from its own thread, all released at once.

    ``stays`` is a list of 1 to :data:`MAX_BOOKERS` :class:`Stay`; ``total`` the rooms per
    night the result is compared with (an int in [0, 100000]): each hotel and room type the
    stays name is counted on its own, over the nights the stays ask for, with every live
    booking on them (see :class:`RaceResult`).

    If a thread cannot be started (the process's thread limit), the bookers already started are
    released before they book anything and joined, and :class:`BookingError` says how many
    started (the cause chained); nothing is left waiting.
    """
    store = getattr(strategy, "store", None)
    if not isinstance(store, BookingStore) or not callable(getattr(strategy, "book", None)):
        raise BookingError(f"strategy={shown(strategy, 80)} must be a booking strategy")
    if not isinstance(stays, list | tuple) or not 1 <= len(stays) <= MAX_BOOKERS:
        raise BookingError(
            f"stays={shown(stays, 80)} must be a list of 1 to {MAX_BOOKERS} Stay (one thread each)"
        )
    if not all(isinstance(s, Stay) for s in stays):
        bad = next(s for s in stays if not isinstance(s, Stay))
        raise BookingError(f"stays holds {shown(bad, 80)}; every item must be a Stay")
    check_count(total, "total", 0, 100_000)
    barrier = threading.Barrier(len(stays))
    results: list[Booking | None] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def one(stay: Stay) -> None:
        outcome: Booking | None = None
        try:
            barrier.wait()
            outcome = strategy.book(stay)  # type: ignore[attr-defined]
        except SoldOut:
            outcome = None
        except BaseException as exc:  # surfaced below, never swallowed
            with lock:
                failures.append(exc)
            return
        finally:
            store.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one, args=(s,)) for s in stays]
    start = time.perf_counter()
    for started, t in enumerate(threads):
        try:
            t.start()
        except BaseException as exc:  # a thread limit: release the bookers already waiting
            barrier.abort()
            for waiting in threads[:started]:
                waiting.join()
            raise BookingError(
                f"race: only {started} of {len(stays)} booker threads could start ({exc}); "
                "race fewer stays"
            ) from exc
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if failures:
        raise failures[0]
    accepted = [b for b in results if b is not None]
    sold = _sold_on(store, stays)
    return RaceResult(
        strategy=str(getattr(strategy, "name", type(strategy).__name__)),
        engine=store.engine,
        accepted=len(accepted),
        refused=len(results) - len(accepted),
        max_sold=max(sold.values(), default=0),
        total=total,
        attempts=sum(b.attempts for b in accepted),
        seconds=seconds,
    )
