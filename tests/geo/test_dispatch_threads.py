"""Location updates and removals through the dispatcher run alongside requests in other threads.

The in-memory indexes are not thread-safe: a write from another thread in the middle of a search
changes a dictionary the search is walking. ``Dispatcher.update`` and ``Dispatcher.remove`` take
the lock ``request`` holds, so requests never fail and never hand out a busy driver.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest

from designpatterns_ref.geo import (
    BruteForceIndex,
    Dispatcher,
    DriverIndex,
    GeohashIndex,
    H3Index,
    QuadTreeIndex,
)

MEMORY: dict[str, Callable[[], DriverIndex]] = {
    "brute": lambda: BruteForceIndex(ttl=None),
    "geohash": lambda: GeohashIndex(ttl=None),
    "quadtree": lambda: QuadTreeIndex(capacity=4, ttl=None),
    "h3": lambda: H3Index(ttl=None),
}


def spot(rng: random.Random) -> tuple[float, float]:
    return 40.75 + rng.uniform(-0.01, 0.01), -73.98 + rng.uniform(-0.01, 0.01)


@pytest.mark.usefixtures("busy_switching")
@pytest.mark.parametrize("name", list(MEMORY))
def test_updates_through_the_dispatcher_never_break_a_request(name: str) -> None:
    index = MEMORY[name]()
    rng = random.Random(1)
    for i in range(500):
        index.upsert(f"d{i}", *spot(rng))
    dispatcher = Dispatcher(index)
    errors: list[BaseException] = []
    stop = threading.Event()

    def feed() -> None:
        r = random.Random(2)
        n = 0
        try:
            while not stop.is_set():
                n += 1
                dispatcher.update(f"x{n % 2000}", *spot(r))
                dispatcher.update(f"d{n % 500}", *spot(r))  # drivers on a trip move too
                if n % 7 == 0:
                    dispatcher.remove(f"x{(n * 3) % 2000}")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    feeder = threading.Thread(target=feed)
    feeder.start()
    taken: dict[str, str] = {}
    try:
        for j in range(300):
            got = dispatcher.request(f"r{j}", *spot(rng))
            if got is not None:
                assert got.driver_id not in taken, "a driver given to two riders"
                taken[got.driver_id] = got.rider_id
                if j % 3 == 0:
                    dispatcher.release(got.driver_id)
                    del taken[got.driver_id]
    finally:
        stop.set()
        feeder.join()
    assert errors == []
    for driver_id in taken:  # every driver still with a rider is busy in the index
        state = index.get(driver_id)
        assert state is None or not state.available


@pytest.mark.parametrize("name", list(MEMORY))
def test_a_driver_with_a_rider_comes_back_busy(name: str) -> None:
    index = MEMORY[name]()
    dispatcher = Dispatcher(index)
    dispatcher.update("d7", 40.7580, -73.9855)
    got = dispatcher.request("rider-1", 40.7585, -73.9855)
    assert got is not None and got.driver_id == "d7"
    assert dispatcher.remove("d7") and index.get("d7") is None
    dispatcher.update("d7", 40.7581, -73.9855)  # back online, still on the trip
    state = index.get("d7")
    assert state is not None and not state.available
    assert dispatcher.request("rider-2", 40.7585, -73.9855) is None
    dispatcher.release("d7")
    state = index.get("d7")
    assert state is not None and state.available


@pytest.mark.usefixtures("busy_switching")
@pytest.mark.parametrize("name", list(MEMORY))
def test_requests_releases_and_moves_from_many_threads_add_up(name: str) -> None:
    """Every thread requests, releases and moves its drivers at once; at the end the books
    balance: each driver has at most one rider, exactly the drivers with a rider are busy, and
    the assignments are those granted less those released."""
    index = MEMORY[name]()
    rng = random.Random(3)
    for i in range(30):
        index.upsert(f"d{i}", *spot(rng))
    dispatcher = Dispatcher(index)
    granted: list[str] = []
    released: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        r = random.Random(t)
        mine: list[tuple[str, str]] = []  # (driver, rider) pairs this thread was granted
        try:
            for j in range(60):
                got = dispatcher.request(f"r{t}-{j}", *spot(r))
                if got is not None:
                    mine.append((got.driver_id, got.rider_id))
                    with lock:
                        granted.append(got.rider_id)
                dispatcher.update(f"d{r.randrange(30)}", *spot(r))
                if mine and r.random() < 0.5:
                    driver_id, rider_id = mine.pop(r.randrange(len(mine)))
                    dispatcher.release(driver_id)
                    with lock:
                        released.append(rider_id)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(dispatcher.assignments) == sorted(set(granted) - set(released))
    drivers = [a.driver_id for a in dispatcher.assignments.values()]
    assert len(drivers) == len(set(drivers)), "a driver has two riders"
    for i in range(30):
        state = index.get(f"d{i}")
        assert state is not None
        assert state.available is (f"d{i}" not in drivers), f"d{i}"
