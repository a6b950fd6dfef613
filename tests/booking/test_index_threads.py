"""The availability index keeps every update when bookings notify it from several threads.

The race's bookers call the index's listener from their own threads. The oracle is arithmetic:
each thread takes a room and gives it back many times, so the count must end where it started,
and searches running meanwhile must neither fail nor see a count outside what was possible.
A switch interval of a microsecond makes the interpreter change threads between the read and
the write of an unguarded ``row[hotel] = row.get(hotel, 0) - delta``.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from designpatterns_ref.booking import AvailabilityIndex

NIGHT = date(2026, 3, 1)
THREADS, ROUNDS, START = 4, 5_000, 500


@pytest.mark.usefixtures("busy_switching")
def test_concurrent_listeners_and_searches_lose_no_update() -> None:
    index = AvailabilityIndex()
    index.add_hotel("h1", "lisbon", 38.72, -9.14)
    nights = [NIGHT + timedelta(days=i) for i in range(3)]
    for night in nights:
        index.set_free("h1", "double", night, START)
    errors: list[BaseException] = []
    seen: list[int] = []
    stop = threading.Event()
    barrier = threading.Barrier(THREADS + 2)

    def booker() -> None:
        try:
            barrier.wait()
            for _ in range(ROUNDS):
                index.on_change("h1", "double", nights, 1)  # a booking took a room
                index.on_change("h1", "double", nights, -1)  # its cancel gave it back
        except BaseException as exc:  # pragma: no cover - shown by the assertion
            errors.append(exc)

    def searcher() -> None:
        try:
            barrier.wait()
            while not stop.is_set():
                # at most THREADS rooms are out at any moment: START - THREADS are always free
                got = index.search("lisbon", "double", nights[0], nights[-1], rooms=START - THREADS)
                assert got == ["h1"]
                near = index.near(38.72, -9.14, 1_000, "double", nights[0], nights[-1])
                assert [h for h, _ in near] == ["h1"]
                seen.append(1)
        except BaseException as exc:  # pragma: no cover - shown by the assertion
            errors.append(exc)

    def loader() -> None:
        try:
            barrier.wait()
            for i in range(ROUNDS):  # other hotels join and load their nights meanwhile
                if i < 50:
                    index.add_hotel(f"x{i}", "lisbon", 38.0, -9.0)
                index.set_free(f"x{i % 50}", "double", NIGHT + timedelta(days=i % 40), i % 7)
        except BaseException as exc:  # pragma: no cover - shown by the assertion
            errors.append(exc)

    threads = [threading.Thread(target=booker) for _ in range(THREADS)]
    threads.append(threading.Thread(target=loader))
    reader = threading.Thread(target=searcher)
    for t in [*threads, reader]:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    reader.join()
    assert errors == []
    assert seen  # the searches ran alongside
    for night in nights:  # every take was given back: the count is where it started
        assert index.search("lisbon", "double", night, night + timedelta(days=1), rooms=START) == [
            "h1"
        ]
        assert not index.search(
            "lisbon", "double", night, night + timedelta(days=1), rooms=START + 1
        )
